"""Rules on the computation (issue 21): graph-ruled exercises are judged on the graph their function builds, and
scored from running that graph in a job with no student code.

Shortcuts that the name lists and the watch could not see score 0 on their own exercise, with the graph rule's
words; honest variants (a compiled function, a `tf.while_loop`, the reference) keep full marks; `check` in the
student's kernel says the same, every time it is asked. Decisions these tests pin down:

- a `tf.while_loop` carries the recurrence as well as `tf.scan` does (both are a graph `While`): accepted, also
  beside a dummy `tf.scan`;
- a shape-dependent fallback (a Python loop when T is known, `tf.scan` when it is not): where the loop is visible
  in the cell, the static check refuses it first (0, with the exercise's rule); where it is not, the trace runs
  with T unknown for every case, so the fallback is scored from its scan graph only: its Python branch never
  runs in the grader.

The static check (`Rules.no_loops`, which follows helpers, recursion and `functools.reduce`) often refuses a
Python loop before any trace: either way the exercise scores 0 with a rule's words.
"""

from __future__ import annotations

import numpy as np
import pytest
from lesson_submissions import assert_full_marks, assert_others_full, exercise, grade_submissions, kernel_with, solution

from autograder.authoring.spec import call_spec
from autograder.authoring.student import load_assignment
from autograder.check import check
from autograder.grading.graphs import clean_call, signature, trace_call
from autograder.rules.graph import GraphRule, graph_problem
from autograder.run.probes.graph import GraphTraceFailure, UnsafeGraph, run_graph, trace_graph

A2 = load_assignment(solution("A2"))
A3 = load_assignment(solution("A3"))
FORWARD = A2.cells["rnn_forward"]
LOOP_WORDS = "your function's graph has no loop"


def graph_text(assignment, name: str) -> str:
    return assignment.exercise(name).graph.describe(name)


# ---- rnn_forward: Python loops over time, wherever they hide ------------------------------------------------
LOOP_IN_HELPER = '''# GRADED: rnn_forward
def _run(x, h0, W_x, W_h, b_h):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, W_x, W_h, b_h)
        hs.append(h)
    return tf.stack(hs, axis=1), h


def rnn_forward(x, h0, W_x, W_h, b_h):
    return _run(x, h0, W_x, W_h, b_h)
'''
REDUCE = '''# GRADED: rnn_forward
import functools


def rnn_forward(x, h0, W_x, W_h, b_h):
    def step(acc, x_t):
        h = rnn_step(x_t, acc[-1], W_x, W_h, b_h)
        return acc + [h]
    hs = functools.reduce(step, tf.unstack(x, axis=1), [h0])[1:]
    return tf.stack(hs, axis=1), hs[-1]
'''
RECURSION = '''# GRADED: rnn_forward
def _walk(x, t, h, W_x, W_h, b_h):
    if t == x.shape[1]:
        return []
    h = rnn_step(x[:, t], h, W_x, W_h, b_h)
    return [h] + _walk(x, t + 1, h, W_x, W_h, b_h)


def rnn_forward(x, h0, W_x, W_h, b_h):
    hs = _walk(x, 0, h0, W_x, W_h, b_h)
    return tf.stack(hs, axis=1), hs[-1]
'''
GENERATOR = '''# GRADED: rnn_forward
def _states(x, h, W_x, W_h, b_h):
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, W_x, W_h, b_h)
        yield h


def rnn_forward(x, h0, W_x, W_h, b_h):
    hs = list(_states(x, h0, W_x, W_h, b_h))
    return tf.stack(hs, axis=1), hs[-1]
'''
CLASS_CALL = '''# GRADED: rnn_forward
class _Runner:
    def __call__(self, x, h, W_x, W_h, b_h):
        hs = []
        for t in range(x.shape[1]):
            h = rnn_step(x[:, t], h, W_x, W_h, b_h)
            hs.append(h)
        return tf.stack(hs, axis=1), h


rnn_forward = _Runner()
'''
PY_FUNCTION = FORWARD.replace(
    "        return rnn_step(x_t, h_prev, W_x, W_h, b_h)\n",
    "        h = tf.numpy_function(lambda a, b: np.tanh(a @ W_x.numpy() + b @ W_h.numpy() + b_h.numpy())"
    ".astype('float32'), [x_t, h_prev], tf.float32)\n"
    "        return tf.ensure_shape(h, h_prev.shape)\n")
LOOP_SHORTCUTS = {"loop_in_helper": LOOP_IN_HELPER, "reduce": REDUCE, "recursion": RECURSION,
                  "generator": GENERATOR, "class_call": CLASS_CALL}

# ---- honest variants -----------------------------------------------------------------------------------------
COMPILED = FORWARD.replace("def rnn_forward(", "@tf.function\ndef rnn_forward(", 1)
WHILE_LOOP = '''# GRADED: rnn_forward
def rnn_forward(x, h0, W_x, W_h, b_h):
    T = tf.shape(x)[1]
    states = tf.TensorArray(x.dtype, size=T)

    def body(t, h, states):
        h = rnn_step(x[:, t], h, W_x, W_h, b_h)
        return t + 1, h, states.write(t, h)

    _, h, states = tf.while_loop(lambda t, h, states: t < T, body, (0, h0, states))
    return tf.transpose(states.stack(), [1, 0, 2]), h
'''
WHILE_BESIDE_DUMMY_SCAN = WHILE_LOOP.replace(
    "    T = tf.shape(x)[1]\n", "    T = tf.shape(x)[1]\n    tf.scan(lambda a, b: a, tf.zeros((1,)), initializer=tf.zeros(()))\n")
FALLBACK = '''# GRADED: rnn_forward
def _python_loop(x, h, W_x, W_h, b_h):
    hs = []
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, W_x, W_h, b_h)
        hs.append(h)
    return tf.stack(hs, axis=1), h


def rnn_forward(x, h0, W_x, W_h, b_h):
    if x.shape[1] is not None:  # sizes known: a Python loop (never taken in the grader: T is always unknown)
        return _python_loop(x, h0, W_x, W_h, b_h)
    states = tf.scan(lambda h, x_t: rnn_step(x_t, h, W_x, W_h, b_h), tf.transpose(x, [1, 0, 2]), initializer=h0)
    return tf.transpose(states, [1, 0, 2]), states[-1]
'''
HONEST = {"reference": FORWARD, "compiled": COMPILED, "while_loop": WHILE_LOOP,
          "while_beside_dummy_scan": WHILE_BESIDE_DUMMY_SCAN}

# ---- rnn_backward: a tape the name lists cannot see (its class reached through a dict) -------------------------
HIDDEN_TAPE = '''# GRADED: rnn_backward
def rnn_backward(x, h0, hs, dhs, W_h):
    W_x = tf.zeros((x.shape[2], W_h.shape[0]))
    b_h = tf.zeros((W_h.shape[0],))
    recorder = vars(tf)["Gradient" + "Tape"]
    with recorder() as tape:
        tape.watch([W_x, W_h, b_h, h0])
        h, total = h0, 0.0
        for t in range(x.shape[1]):
            a = x[:, t] @ W_x + h @ W_h + b_h
            h = hs[:, t] + (a - tf.stop_gradient(a)) * (1.0 - hs[:, t] ** 2)
            total += tf.reduce_sum(h * dhs[:, t])
    return tuple(tape.gradient(total, [W_x, W_h, b_h, h0]))
'''


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    subs = {f"a2_{name}": ("A2", {"rnn_forward": cell}) for name, cell in {**LOOP_SHORTCUTS, **HONEST}.items()}
    subs["a2_py_function"] = ("A2", {"rnn_forward": PY_FUNCTION})
    subs["a2_fallback"] = ("A2", {"rnn_forward": FALLBACK})
    subs["a2_hidden_tape"] = ("A2", {"rnn_backward": HIDDEN_TAPE})
    return grade_submissions(subs, roomy_sandbox, tmp_path_factory.mktemp("graph-rules"))


def assert_graph_rule_broken(result, assignment, target: str, *words: str) -> None:
    """`target` scored 0, every case quoting one of `words`; every other exercise full marks."""
    broken = exercise(result, target)
    assert broken.max_points > 0 and broken.points == 0, broken.message
    for case in broken.cases:
        assert any(w in case.message for w in words), case.message
    assert_others_full(result, target)


def rule_words(assignment, name: str) -> tuple[str, str]:
    """The exercise's rule, as the name checks say it and as the graph check says it."""
    return assignment.exercise(name).rules.describe(name), graph_text(assignment, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LOOP_SHORTCUTS))
def test_a_python_loop_over_time_anywhere_scores_zero_with_the_rules_words(graded, name):
    assert_graph_rule_broken(graded[f"a2_{name}"], A2, "rnn_forward", *rule_words(A2, "rnn_forward"))


@pytest.mark.slow
def test_a_visible_fallback_loop_is_refused_by_the_name_checks(graded):
    assert_graph_rule_broken(graded["a2_fallback"], A2, "rnn_forward", *rule_words(A2, "rnn_forward"))


def test_a_hidden_fallback_is_scored_from_its_scan_graph_only():
    """Traced with T unknown, the fallback's Python branch never runs: its graph is the scan, and right."""
    out = traced_case(A2, "rnn_forward", FALLBACK)
    assert {"While", "StatelessWhile"} & set(out["ops"])
    assert graph_problem(A2.exercise("rnn_forward").graph, "rnn_forward", out["ops"], out["names"]) is None


@pytest.mark.slow
def test_a_step_in_python_through_numpy_function_scores_zero(graded):
    assert_graph_rule_broken(graded["a2_py_function"], A2, "rnn_forward", "runs Python inside its graph")


@pytest.mark.slow
def test_a_tape_out_of_the_name_lists_sight_scores_zero(graded):
    result = graded["a2_hidden_tape"]
    broken = exercise(result, "rnn_backward")
    assert broken.points == 0 < broken.max_points, broken.message
    assert all("GradientTape" in c.message or "differentiates automatically" in c.message for c in broken.cases)
    assert_others_full(result, "rnn_backward")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_variants_keep_full_marks(graded, name):
    assert_full_marks(graded[f"a2_{name}"])


@pytest.mark.parametrize("name", ["loop_in_helper", "class_call", "compiled", "while_loop", "fallback", "py_function"])
def test_check_agrees_with_the_grader_every_time(name):
    cell = {**LOOP_SHORTCUTS, **HONEST, "py_function": PY_FUNCTION, "fallback": FALLBACK}[name]
    kernel = kernel_with("A2", "rnn_forward", cell)
    reports = [check("rnn_forward", "A2", kernel, quiet=True) for _ in range(2)]
    assert [str(r) for r in reports[:1]] == [str(r) for r in reports[1:]]
    report = reports[0]
    if name in HONEST:
        assert report.passed == report.total > 0, report.lines
    else:
        words = ("runs Python inside its graph",) if name == "py_function" else rule_words(A2, "rnn_forward")
        failed = [line for line in report.lines if "✗" in line]
        assert report.passed == 0 and failed and all(any(w in line for w in words) for line in failed), report.lines


# ---- the probes alone, in this process: what the evidence says -------------------------------------------------
def traced_case(assignment, name: str, cell: str, case_index: int = 0) -> dict:
    """Traces `cell`'s function for one case and runs the graph, as the grader's two jobs do."""
    ex = assignment.exercise(name)
    call = call_spec(assignment.id, ex, ex.cases[case_index])
    kernel = kernel_with(assignment.id, name, cell)
    traced = trace_graph(kernel, trace_call(call))
    return run_graph({}, clean_call(call, traced))


def test_the_trace_never_carries_the_inputs():
    ex = A2.exercise("rnn_forward")
    call = call_spec("A2", ex, ex.cases[0])
    sent = trace_call(call)
    assert "args" not in sent and "__array__" not in str(sent)
    first = signature(call)["items"][0]["items"][0]
    assert first["__spec__"][1] is None and first["__spec__"][0] == 2  # time unknown, batch known


def test_the_reference_graph_holds_a_loop_and_reproduces_the_reference():
    out = traced_case(A2, "rnn_forward", FORWARD)
    assert {"While", "StatelessWhile"} & set(out["ops"]) and "grads" in out
    assert graph_problem(A2.exercise("rnn_forward").graph, "rnn_forward", out["ops"], out["names"]) is None


def test_a_tape_in_the_graph_is_automatic_differentiation():
    cell = HIDDEN_TAPE.replace("recorder = vars(tf)[\"Gradient\" + \"Tape\"]", "recorder = tf.GradientTape")
    out = traced_case(A2, "rnn_backward", cell)
    problem = graph_problem(A2.exercise("rnn_backward").graph, "rnn_backward", out["ops"], out["names"])
    assert problem and "differentiates automatically" in problem
    honest = traced_case(A2, "rnn_backward", A2.cells["rnn_backward"])
    assert graph_problem(A2.exercise("rnn_backward").graph, "rnn_backward", honest["ops"], honest["names"]) is None


def test_py_function_and_numpy_function_are_never_run():
    with pytest.raises(UnsafeGraph, match="runs Python"):
        traced_case(A2, "rnn_forward", PY_FUNCTION)


def test_a_python_loop_fails_its_trace_with_the_rules_words():
    with pytest.raises(GraphTraceFailure, match="a Python loop over time"):
        traced_case(A2, "rnn_forward", LOOP_IN_HELPER)


FUSED_LSTM_STEP = '''# GRADED: lstm_step
def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    H = h_prev.shape[-1]
    w = tf.concat([kernel, recurrent_kernel], axis=0)
    i, f, c, o = tf.split(w, 4, axis=1)
    bi, bf, bc, bo = tf.split(bias, 4)
    zeros = tf.zeros((H,))
    out = tf.raw_ops.LSTMBlockCell(x=x_t, cs_prev=c_prev, h_prev=h_prev, w=tf.concat([i, c, f, o], 1),
                                   wci=zeros, wcf=zeros, wco=zeros, b=tf.concat([bi, bc, bf, bo], 0),
                                   forget_bias=0.0, cell_clip=-1.0, use_peephole=False)
    return out.h, out.cs
'''


def test_a_fused_cell_op_is_refused_whatever_name_built_it():
    out = traced_case(A3, "lstm_step", FUSED_LSTM_STEP)
    problem = graph_problem(A3.exercise("lstm_step").graph, "lstm_step", out["ops"], out["names"])
    assert problem and "fused op `LSTMBlockCell`" in problem
    report = check("lstm_step", "A3", kernel_with("A3", "lstm_step", FUSED_LSTM_STEP), quiet=True)
    assert report.passed == 0 and "LSTMBlockCell" in str(report), report.lines


FUSED_XENT = """# GRADED: mean_cross_entropy
def mean_cross_entropy(logits, targets, mask):
    losses = tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits(
        features=tf.reshape(logits, (-1, tf.shape(logits)[-1])), labels=tf.reshape(targets, (-1,)))[0]
    return tf.reduce_sum(tf.reshape(losses, tf.shape(mask)) * mask) / tf.reduce_sum(mask)
"""


def test_the_fused_cross_entropy_op_stays_allowed_where_the_lesson_allows_it():
    """A2's lesson offers `tf.nn.sparse_softmax_cross_entropy_with_logits` for `mean_cross_entropy` (and A5's
    reference `masked_loss` uses it): the fused op is no shortcut there, whichever name builds it."""
    assert not A2.exercise("mean_cross_entropy").graph
    report = check("mean_cross_entropy", "A2", kernel_with("A2", "mean_cross_entropy", FUSED_XENT), quiet=True)
    assert report.ok, report.lines


def test_a_graph_rule_round_trips_as_plain_data():
    rule = GraphRule(loop=True, forbid_ops=("BlockLSTM*",), no_gradients=True, unknown={"x": (1,)}, text="t")
    assert GraphRule.from_plain(rule.to_plain()) == rule
    assert rule.positions(["x", "h0"]).unknown == ((0, (1,)),)
    assert not GraphRule() and A3.exercise("gru_forward").graph.unknown == ((0, (1,)),)


# ---- the grading side alone: which run says what -------------------------------------------------------------
def test_outputs_come_from_the_clean_job_and_verdicts_from_its_evidence():
    from autograder.grading import graphs
    from autograder.grading.pipeline import submission_job
    from autograder.run import CallResult, ErrorInfo, RunResult

    original = submission_job(A2, A2.cells, [])
    keys = [(ex.name, c.name) for ex in A2.exercises for c in ex.cases]
    sent = graphs.student_calls(original.calls)
    graph_calls = [c for c in sent if c.get("probe") == graphs.TRACE_PROBE]
    assert graph_calls and all("args" not in c for c in graph_calls)
    assert sum(1 for c in graph_calls if c.get("rules")) == 2  # each exercise's first trace is watched
    own = [CallResult(True, {"graph": "the student's", "value": 99.0}, None, 0.1) for _ in original.calls]
    run = RunResult("ok", "", {}, own)
    plan = graphs.clean_job(A2, original, run, [], 2)
    assert plan.job is not None and not plan.job.cells and "rnn_step" not in "".join(plan.job.setup)
    assert all(c["probe"] == graphs.RUN_PROBE and c["rules"] is None for c in plan.job.calls)
    answers = []
    for name, case in plan.keys:
        if name == "rnn_forward" and case.startswith("B 2"):
            answers.append(CallResult(False, None, ErrorInfo("UnsafeGraph", "`rnn_forward` runs Python inside its graph"
                                                             " (op `EagerPyFunc`)"), 0.1))
        elif name == "rnn_backward":
            answers.append(CallResult(True, {"value": 1.0, "ops": ["MatMul", "TanhGrad"], "names": []}, None, 0.1))
        else:
            answers.append(CallResult(True, {"value": 2.0, "ops": ["While"], "names": []}, None, 0.1))
    clean_run = RunResult("ok", "", {}, answers + [CallResult(True, None, None, 0.1)] * (len(plan.job.calls) - len(answers)))
    merged = graphs.merge(A2, keys, run, plan, clean_run)
    assert "runs Python" in merged.exercise_verdicts["rnn_forward"]
    assert "differentiates automatically" in merged.exercise_verdicts["rnn_backward"]
    scored = [merged.calls[k] for k in keys if k[0] == "rnn_forward" and merged.calls[k] and merged.calls[k].ok]
    assert scored and all(c.value == {"value": 2.0} for c in scored)  # never the student's own value


TRACE_ELSEWHERE = r'''
import json, sys
sys.path.insert(0, "tests/autograder")
from lesson_submissions import kernel_with
from autograder.authoring.spec import call_spec
from autograder.authoring.student import load_assignment
from autograder.grading.graphs import clean_call, trace_call
from autograder.run.probes.graph import trace_graph
A2 = load_assignment("solutions/A2.ipynb")
ex = A2.exercise("rnn_forward")
ns = kernel_with("A2", "rnn_forward", A2.cells["rnn_forward"].replace("states_time_major[-1]", sys.argv[1]))
call = call_spec("A2", ex, ex.cases[0])
print(json.dumps(clean_call(call, trace_graph(ns, trace_call(call)))))
'''


def test_graphs_traced_in_different_processes_run_side_by_side():
    """Two students' graphs reuse function names (`scan_while_body_12`) for different functions: a shared
    clean job runs both, each with its own functions."""
    import json
    import subprocess
    import sys

    from autograder.run.plain import from_plain

    from lesson_submissions import ROOT

    def traced(last: str) -> dict:
        out = subprocess.run([sys.executable, "-c", TRACE_ELSEWHERE, last], capture_output=True, text=True,
                             cwd=ROOT, check=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
        return json.loads(out.stdout.strip().splitlines()[-1])

    right, wrong = traced("states_time_major[-1]"), traced("states_time_major[0]")
    h_right, h_wrong = (from_plain(run_graph({}, c)["value"])[1] for c in (right, wrong))
    assert not np.allclose(h_right, h_wrong)
