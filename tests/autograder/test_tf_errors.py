"""TensorFlow's shape and dtype errors in one line; every other error without its internals.

The messages below are TensorFlow 2.21's own, raised by the ops named (eagerly and inside
`tf.function`); the sentences are what the grader and `check` show instead.
"""

from __future__ import annotations

import pytest

from autograder.grading.judge import explain_error
from autograder.grading.tf_errors import INTERNAL_MARKS, clean, translate
from autograder.run.protocol import ErrorInfo

DEVICE = "_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
CASES = [
    ("InvalidArgumentError", "{{function_node __wrapped____MklMatMul" + DEVICE +
     "Matrix size-incompatible: In[0]: [2,3], In[1]: [4,4] [Op:MatMul] name: ",
     "shape error in `@` (matrix product) at line 4 of your cell: (2, 3) @ (4, 4) needs the last size of the first "
     "to equal the first size of the second"),
    ("InvalidArgumentError", "{{function_node __wrapped__AddV2" + DEVICE +
     "Incompatible shapes: [2,3] vs. [4] [Op:AddV2] name: ",
     "shape error in `+` at line 4 of your cell: shapes (2, 3) and (4,) do not fit together"),
    ("InvalidArgumentError", "{{function_node __wrapped__ConcatV2_N_2" + DEVICE + "ConcatOp : Dimension 0 in both "
     "shapes must be equal: shape[0] = [2,3] vs. shape[1] = [4,4] [Op:ConcatV2] name: concat",
     "shape error in `tf.concat` at line 4 of your cell: shapes (2, 3) and (4, 4) do not fit together"),
    ("ValueError", "Dimensions must be equal, but are 3 and 4 for '{{node matmul}} = MatMul[T=DT_FLOAT, "
     "transpose_a=false, transpose_b=false](x, y)' with input shapes: [?,3], [4,4].",
     "shape error in `@` (matrix product) at line 4 of your cell: (None, 3) @ (4, 4) needs the last size of the "
     "first to equal the first size of the second"),
    ("InvalidArgumentError", "cannot compute AddV2 as input #1(zero-based) was expected to be a float tensor but "
     "is a double tensor [Op:AddV2] name: ",
     "dtype error in `+` at line 4 of your cell: it combines a float32 tensor with a float64 one, and TensorFlow "
     "never converts between them; cast one with tf.cast(..., tf.float32)"),
    ("TypeError", "Input 'y' of 'AddV2' Op has type float64 that does not match type float32 of argument 'x'.",
     "dtype error in `+` at line 4 of your cell: it combines a float32 tensor with a float64 one, and TensorFlow "
     "never converts between them; cast one with tf.cast(..., tf.float32)"),
]


@pytest.mark.parametrize("kind, message, sentence", CASES)
def test_shape_and_dtype_errors_are_one_line_with_the_operation_the_shapes_and_the_line(kind, message, sentence):
    assert translate(kind, message, 4) == sentence
    shown = explain_error(ErrorInfo(kind, message, "Traceback ...", line=4), "rnn_step", None, "row vectors")
    assert shown == sentence + "; this exercise's convention: row vectors"


def test_other_tensorflow_errors_lose_their_internals_and_keep_their_meaning():
    message = ("{{function_node __wrapped__GatherV2" + DEVICE + "indices[0,0] = 5 is not in [0, 3) "
               "[Op:GatherV2] name: ")
    assert translate("InvalidArgumentError", message) == ""
    shown = explain_error(ErrorInfo("InvalidArgumentError", message), "mean_cross_entropy")
    assert shown == "raised InvalidArgumentError: indices[0,0] = 5 is not in [0, 3)"
    assert clean(message) == "indices[0,0] = 5 is not in [0, 3)"
    assert not any(mark in shown for mark in INTERNAL_MARKS)


def test_a_function_returning_numpy_is_told_so_plainly():
    shown = explain_error(ErrorInfo("TypeError", "the function returned no tensor to differentiate"), "rnn_step")
    assert shown.startswith("`rnn_step` returned NumPy values") and "TensorFlow ops" in shown


def test_errors_that_are_not_about_shapes_or_dtypes_are_left_to_the_generic_message():
    assert translate("NameError", "name 'W' is not defined") == ""
    assert translate("ValueError", "too many values to unpack (expected 2)") == ""


def test_numpy_inside_a_graph_is_not_mistaken_for_a_stub():
    message = ("Cannot convert a symbolic tf.Tensor (transpose:0) to a numpy array. This error may indicate that "
               "you're trying to pass a Tensor to a NumPy call, which is not supported.")
    shown = explain_error(ErrorInfo("NotImplementedError", message), "rnn_forward")
    assert shown.startswith("`rnn_forward` turns a tensor into NumPy") and "not implemented" not in shown
    stub = explain_error(ErrorInfo("NotImplementedError", "Replace this line with your code."), "rnn_forward")
    assert stub == "`rnn_forward` is not implemented yet (it still raises NotImplementedError)"
