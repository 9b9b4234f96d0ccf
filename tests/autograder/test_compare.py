"""Comparison and plain data: tensor-aware messages, no trust in the student's objects."""

import json

import numpy as np
import pytest

from autograder.grading.compare import compare
from autograder.run.plain import OpaqueObject, from_plain, to_plain


def roundtrip(value):
    return from_plain(json.loads(json.dumps(to_plain(value))))


def test_equal_arrays_match_and_close_ones_too():
    a = np.arange(6, dtype="float32").reshape(2, 3)
    assert compare(roundtrip(a), roundtrip(a + 1e-7)) is None


def test_shape_mismatch_names_both_shapes():
    found = compare(roundtrip(np.zeros((2, 3), "float32")), roundtrip(np.zeros((3, 2), "float32")))
    assert found.kind == "shape" and "(2, 3)" in found.detail and "(3, 2)" in found.detail


def test_dtype_must_match_exactly():
    found = compare(roundtrip(np.zeros(3, "float32")), roundtrip(np.zeros(3, "float64")))
    assert found.kind == "dtype" and "float32" in found.detail and "float64" in found.detail


def test_value_mismatch_gives_first_bad_index_and_max_error():
    expected = np.zeros((2, 3), "float32")
    actual = expected.copy()
    actual[1, 2] = 0.5
    actual[1, 0] = -2.0
    found = compare(roundtrip(expected), roundtrip(actual))
    assert found.kind == "value"
    assert "first at index (1, 0)" in found.detail
    assert "max error 2" in found.detail
    assert "2 of 6 values differ" in found.summary
    assert "expected" not in found.summary  # hidden cases show no values


def test_nan_is_reported_as_such():
    actual = np.ones(4, "float32")
    actual[2] = np.nan
    found = compare(roundtrip(np.ones(4, "float32")), roundtrip(actual))
    assert found.kind == "nan" and "(2,)" in found.detail


def test_nested_outputs_report_where():
    expected = (np.zeros(2, "float32"), np.ones(3, "float32"))
    found = compare(roundtrip(expected), roundtrip((np.zeros(2, "float32"), np.zeros(3, "float32"))))
    assert found.where == "output[1]"
    found = compare(roundtrip(expected), roundtrip((np.zeros(2, "float32"),)))
    assert found.kind == "length"


class Liar:
    """An object that claims to equal anything and to be any array."""

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(3, "float32")


def test_lying_objects_do_not_cross_the_boundary():
    plain = to_plain(Liar())
    back = from_plain(json.loads(json.dumps(plain)))
    assert isinstance(back, OpaqueObject)
    found = compare(roundtrip(np.zeros(3, "float32")), back)
    assert found is not None and found.kind == "type"


def test_crafted_plain_data_is_refused():
    with pytest.raises(ValueError, match="not allowed"):
        from_plain({"__array__": "", "dtype": "object", "shape": [1]})
    with pytest.raises(ValueError, match="do not fill"):
        from_plain({"__array__": "AAAA", "dtype": "float32", "shape": [5]})


def test_python_number_is_accepted_for_a_scalar():
    assert compare(roundtrip(np.float32(2.5)), 2.5) is None
    assert compare(2.5, roundtrip(np.float32(2.5))) is None
