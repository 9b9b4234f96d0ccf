"""A step stopped inside TensorFlow's graph building leaves no graph mode to the job's later calls.

A trace call stopped by its time limit (or by a recursion that ends inside TensorFlow's own clean-up) can
leave the thread in graph mode: the later calls of the job would get symbolic tensors and exercises the
student got right would score 0. The runner puts TensorFlow's execution state back after every call
(`autograder.run.tf_state`); these tests leave graph mode on purpose, in-process and in the real sandbox.
"""

from __future__ import annotations

import time

import pytest
import tensorflow as tf
from lesson_submissions import assert_others_full, exercise, grade_submissions, solution
from test_rules_graph import RECURSION  # a recursion over the time axis, which the grader hides

from autograder.authoring.student import load_assignment
from autograder.run import tf_state
from autograder.run.probes.graph import GraphTraceFailure, trace_case

A2 = load_assignment(solution("A2"))
FORWARD = A2.cells["rnn_forward"]


def _stuck_in(graph) -> None:
    """What entering `graph.as_default()` does, with nothing left to undo it (its `finally` cut short)."""
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops

    ctx = context.context()
    ctx.context_switches.push(graph.building_function, graph.as_default, graph._device_function_stack)
    ops._default_graph_stack.stack.append(graph)
    ctx._thread_local_data.is_eager = False


def _eager_value() -> float:
    return float((tf.constant(2.0) + 1.0).numpy())  # fails on a symbolic tensor


def test_a_default_graph_left_entered_is_put_back():
    before = tf_state.snapshot()
    _stuck_in(tf.Graph())
    assert not tf.executing_eagerly()
    assert tf_state.restore(before) is True
    assert tf.executing_eagerly() and _eager_value() == 3.0
    assert tf_state.restore(before) is False  # nothing left to put back


def test_a_function_graph_left_entered_is_put_back():
    from tensorflow.python.framework import func_graph

    before = tf_state.snapshot()
    _stuck_in(tf.Graph())
    _stuck_in(func_graph.FuncGraph("left_open"))
    assert not tf.executing_eagerly()
    assert tf_state.restore(before) is True
    assert tf.executing_eagerly() and _eager_value() == 3.0
    with tf.GradientTape() as tape:  # gradients work again too
        x = tf.constant(3.0)
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0


def test_graph_mode_entered_by_hand_is_put_back_to_the_snapshot():
    from tensorflow.python.eager import context

    before = tf_state.snapshot()
    context.context()._thread_local_data.is_eager = False
    assert tf_state.restore(before) is True and tf.executing_eagerly()


def test_a_step_that_imported_tensorflow_is_put_back_to_a_fresh_eager_state():
    _stuck_in(tf.Graph())
    assert not tf.executing_eagerly()
    assert tf_state.restore(None) is True  # no snapshot: TensorFlow was imported during the step
    assert tf.executing_eagerly() and _eager_value() == 3.0


def test_a_recursion_over_an_unknown_size_stops_in_about_a_second():
    """It stops at the trace's own depth, not the interpreter's, and is not traced a second time."""
    from autograder.authoring.spec import call_spec
    from autograder.grading.graphs import trace_call
    from lesson_submissions import kernel_with

    ex = A2.exercise("rnn_forward")
    kernel = kernel_with("A2", "rnn_forward", RECURSION)
    started = time.perf_counter()
    with pytest.raises(GraphTraceFailure) as failed:
        trace_case(kernel, trace_call(call_spec("A2", ex, ex.cases[0])), {})
    seconds = time.perf_counter() - started
    assert failed.value.endless and "RecursionError" in str(failed.value)
    assert seconds < 4.0, seconds  # two traces at the interpreter's depth took 5 s on a quiet machine
    honest = kernel_with("A2", "rnn_forward", FORWARD)
    assert "graph" in trace_case(honest, trace_call(call_spec("A2", ex, ex.cases[0])), {})


STEP = A2.cells["rnn_step"]
# Right when run eagerly; while traced it enters a graph it never leaves, then runs into its time limit.
STOPPED_IN_A_GRAPH = FORWARD.replace(
    "def rnn_forward(x, h0, W_x, W_h, b_h):\n",
    "def rnn_forward(x, h0, W_x, W_h, b_h, _kept=[]):\n"
    "    if not tf.executing_eagerly():\n"
    "        _kept.append(tf.Graph().as_default())\n"
    "        _kept[-1].__enter__()\n"
    "        __import__('time').sleep(600)\n", 1)
# Called eagerly, it leaves a graph entered (as a step stopped inside its clean-up would) and fails.
LEFT_IN_A_GRAPH = STEP.replace(
    "def rnn_step(x_t, h_prev, W_x, W_h, b_h):\n",
    "def rnn_step(x_t, h_prev, W_x, W_h, b_h, _kept=[]):\n"
    "    _kept.append(tf.Graph().as_default())\n"
    "    _kept[-1].__enter__()\n"
    "    raise ValueError('not finished')\n", 1)
# Code from a TensorFlow 1 tutorial: it switches eager execution off, for the rest of the thread.
EAGER_OFF = STEP.replace(
    "def rnn_step(x_t, h_prev, W_x, W_h, b_h):\n",
    "def rnn_step(x_t, h_prev, W_x, W_h, b_h):\n"
    "    tf.compat.v1.disable_eager_execution()\n", 1)
CASES = {"stopped": ("rnn_forward", STOPPED_IN_A_GRAPH), "left": ("rnn_step", LEFT_IN_A_GRAPH),
         "eager_off": ("rnn_step", EAGER_OFF)}
LATER_EAGER = ("mean_cross_entropy", "clip_by_global_norm")
"""A2's exercises after both targets that run eagerly in the student's job (not graph-ruled, not calling them)."""


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    subs = {}
    for name, (target, cell) in CASES.items():
        assert cell != A2.cells[target], name
        subs[name] = ("A2", {target: cell})
    return grade_submissions(subs, roomy_sandbox, tmp_path_factory.mktemp("tf-state"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_exercises_after_a_call_left_in_graph_mode_keep_their_marks(graded, name):
    target = CASES[name][0]
    broken = exercise(graded[name], target)
    assert broken.max_points > 0 and broken.points < broken.max_points, broken.message
    for later in LATER_EAGER:
        kept = exercise(graded[name], later)
        assert kept.points == kept.max_points > 0, (later, kept.message)
    if name != "left":  # that rnn_step fails every call, so rnn_forward, which calls it, cannot work either
        assert_others_full(graded[name], target)


def test_a_graph_left_for_the_collector_leaves_before_the_restore():
    """A context nobody holds any more leaves when collected: before the restore, not in a later call."""
    import gc

    before = tf_state.snapshot()

    class Holder:  # a cycle: only the collector frees it
        pass

    holder = Holder()
    holder.me, holder.graph = holder, tf.Graph().as_default()
    holder.graph.__enter__()
    del holder
    assert not tf.executing_eagerly()
    gc.disable()
    try:
        assert tf_state.restore(before) is True
    finally:
        gc.enable()
    gc.collect()  # nothing left to leave: the state stays as restored
    assert tf_state.snapshot() == before and _eager_value() == 3.0


def test_gradient_recording_stopped_and_never_restarted_is_put_back():
    from tensorflow.python import pywrap_tfe

    before = tf_state.snapshot()
    pywrap_tfe.TFE_Py_TapeSetStopOnThread()  # what `stop_recording()` does on entry
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert tape.gradient(y, x) is None  # nothing recorded
    assert tf_state.restore(before) is True
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0


# Leaves the thread in graph mode, as a `finally` cut short by a time limit or the student's stop button does.
GRAPH_MODE_LEFT_ON = STEP.replace(
    "def rnn_step(x_t, h_prev, W_x, W_h, b_h):\n",
    "def rnn_step(x_t, h_prev, W_x, W_h, b_h):\n"
    "    from tensorflow.python.eager import context\n"
    "    context.context()._thread_local_data.is_eager = False\n"
    "    raise KeyboardInterrupt\n", 1)


def test_check_puts_the_mode_back_after_each_case_and_the_next_exercise_agrees():
    from lesson_submissions import kernel_with

    from autograder.check import check

    kernel = kernel_with("A2", "rnn_step", GRAPH_MODE_LEFT_ON)
    with pytest.raises(KeyboardInterrupt):  # the student's stop: check stops too
        check("rnn_step", "A2", kernel, quiet=True)
    assert tf.executing_eagerly()
    later = kernel_with("A2", "mean_cross_entropy", A2.cells["mean_cross_entropy"])
    assert check("mean_cross_entropy", "A2", later, quiet=True).ok


def test_internals_a_step_replaced_never_break_the_runner(monkeypatch):
    from tensorflow.python.eager import context

    before = tf_state.snapshot()

    def broken():
        raise RuntimeError("replaced by the student's code")

    monkeypatch.setattr(context, "context", broken)
    assert tf_state.snapshot() is None and tf_state.restore(before) is False
    monkeypatch.undo()
    assert tf_state.snapshot() == before
