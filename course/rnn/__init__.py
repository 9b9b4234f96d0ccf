"""Recurrent layers on a scan loop that match Keras' own, weight for weight.

`scan_rnn` is the one time loop; `SimpleRNNCell`, `GRUCell` and `LSTMCell`
are cells with Keras' contract and weight layout; `ScanSimpleRNN`,
`ScanGRU` and `ScanLSTM` are layers; `ScanBidirectional` and `StackedRNN`
wrap them; `copy_weights`, `keras_twin` and `from_keras` move between ours
and Keras'.
"""

from course.rnn.bidirectional import ScanBidirectional
from course.rnn.cell_base import RecurrentCell
from course.rnn.cell_layer import CellLayer
from course.rnn.gru import GRUCell, ScanGRU
from course.rnn.interop import copy_weights, from_keras, keras_twin
from course.rnn.layer import ScanRNN
from course.rnn.lstm import LSTMCell, ScanLSTM
from course.rnn.scan import scan_rnn, zero_states
from course.rnn.simple import ScanSimpleRNN, SimpleRNNCell
from course.rnn.stacked import StackedRNN

__all__ = [
    "CellLayer",
    "GRUCell",
    "LSTMCell",
    "RecurrentCell",
    "ScanBidirectional",
    "ScanGRU",
    "ScanLSTM",
    "ScanRNN",
    "ScanSimpleRNN",
    "SimpleRNNCell",
    "StackedRNN",
    "copy_weights",
    "from_keras",
    "keras_twin",
    "scan_rnn",
    "zero_states",
]
