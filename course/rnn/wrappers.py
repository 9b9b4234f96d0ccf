"""Bidirectional and stacked (deep) recurrent wrappers (kept for older imports)."""

from course.rnn.bidirectional import MERGE_MODES, ScanBidirectional
from course.rnn.stacked import StackedRNN

__all__ = ["MERGE_MODES", "ScanBidirectional", "StackedRNN"]
