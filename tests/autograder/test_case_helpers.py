"""`# CASES` by name: `grad_wrt` and `symbolic` name arguments; the input helpers draw as numpy does."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.authoring.inputs import integers, mask, normal
from autograder.authoring.spec import Case, Exercise, call_spec, positional_params, with_positions

CELL = "# GRADED: rnn_forward\ndef rnn_forward(x, h0, W_x, W_h, b_h, *, unroll=False):\n    return x\n"


def _args(rng):
    return [np.zeros((2, 3, 4), np.float32), np.zeros((2, 5), np.float32)]


def test_the_signature_is_read_from_the_reference_cell():
    assert positional_params(CELL, "rnn_forward") == ["x", "h0", "W_x", "W_h", "b_h"]
    with pytest.raises(ValueError, match="defines no function `other`"):
        positional_params(CELL, "other")


def test_names_become_the_same_positions_as_written_by_hand():
    named = Exercise("rnn_forward", (Case("a", _args, grad_wrt=("x", "W_h"), symbolic={"x": (0, 1), "h0": (0,)}),))
    by_hand = Exercise("rnn_forward", (Case("a", _args, grad_wrt=(0, 3), symbolic=((0, 1), (0,))),))
    resolved = with_positions(named, CELL)
    assert resolved.cases[0].grad_wrt == (0, 3) and resolved.cases[0].symbolic == ((0, 1), (0,))
    assert call_spec("A2", resolved, resolved.cases[0]) == call_spec("A2", by_hand, by_hand.cases[0])


def test_a_symbolic_name_after_a_gap_leaves_the_earlier_arguments_fixed():
    case = Case("a", _args, symbolic={"h0": (0,)}).with_positions(["x", "h0"])
    assert case.symbolic == ((), (0,))


def test_an_unknown_name_says_which_arguments_there_are():
    ex = Exercise("rnn_forward", (Case("a", _args, grad_wrt=("h_prev",)),))
    with pytest.raises(ValueError, match=r"no positional argument 'h_prev'.*\['x', 'h0', 'W_x', 'W_h', 'b_h'\]"):
        with_positions(ex, CELL)


def test_an_unresolved_name_never_reaches_the_sandbox():
    ex = Exercise("rnn_forward", (Case("a", _args, grad_wrt=("x",)),))
    with pytest.raises(ValueError, match="resolved when the assignment is loaded"):
        call_spec("A2", ex, ex.cases[0])


def test_a_bare_name_is_refused_with_the_tuple_to_write():
    with pytest.raises(TypeError, match=r"write \('x',\)"):
        Case("a", _args, grad_wrt="x")


def test_the_helpers_draw_exactly_what_the_spelled_out_numpy_draws():
    ours, theirs = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(normal(ours, 2, 3), theirs.normal(size=(2, 3)).astype("float32"))
    np.testing.assert_array_equal(normal(ours, 4, scale=0.5), (theirs.normal(size=(4,)) * 0.5).astype("float32"))
    np.testing.assert_array_equal(integers(ours, 9, 2, 5), theirs.integers(0, 9, size=(2, 5)).astype("int32"))
    assert normal(ours, 3).dtype == np.float32 and integers(ours, 3, 1).dtype == np.int32


def test_the_mask_pads_each_row_after_its_length():
    np.testing.assert_array_equal(mask(3, 4, [4, 1]), [[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 1]])
    with pytest.raises(ValueError, match="lengths in"):
        mask(2, 3, [4])
    with pytest.raises(ValueError, match="high > low"):
        integers(np.random.default_rng(0), 0, 3)
