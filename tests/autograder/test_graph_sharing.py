"""One graph per exercise: a graph-ruled function is traced once with every size unknown and that graph serves
all its cases (`autograder.run.probes.graph.trace_case`), so that the job traces, and the clean job imports, one
graph instead of one per case. A function that cannot be traced so (it reads a size as a Python number) is traced
with each case's own sizes, as before, and keeps its marks; `check` decides the same way.
"""

from __future__ import annotations

import pytest
from lesson_submissions import assert_full_marks, grade_submissions, kernel_with, solution

from autograder.authoring.spec import call_spec
from autograder.authoring.student import load_assignment
from autograder.check import check
from autograder.grading.graphs import clean_call, signature, trace_call
from autograder.rules.watch import call_watched
from autograder.run.probes import graph as probes

A2 = load_assignment(solution("A2"))
LESSONS = {lesson: load_assignment(solution(lesson)) for lesson in ("A2", "A3", "A4", "A5", "A6", "A7")}
GRAPH_RULED = [(lesson, ex.name) for lesson, a in LESSONS.items() for ex in a.exercises if ex.graph]
FORWARD = A2.cells["rnn_forward"]
SIZES_AS_NUMBERS = '''# GRADED: rnn_forward
def rnn_forward(x, h0, W_x, W_h, b_h):
    H = W_h.shape[0]  # a Python number: known in every case, unknown in the general trace

    def step(h_prev, x_t):
        return tf.reshape(rnn_step(x_t, h_prev, W_x, W_h, b_h), [-1, H])

    hs = tf.scan(step, tf.transpose(x, [1, 0, 2]), initializer=h0)
    return tf.transpose(hs, [1, 0, 2]), hs[-1]
'''


def trace_calls(name: str = "rnn_forward") -> list[dict]:
    ex = A2.exercise(name)
    return [trace_call(call_spec("A2", ex, case)) for case in ex.cases]


def test_the_general_signature_hides_every_size_and_keeps_the_rest():
    ex = A2.exercise("rnn_forward")
    call = call_spec("A2", ex, ex.cases[0])
    wide = signature(call, every_size_unknown=True)
    leaves = wide["items"][0]["items"]
    assert [leaf["__spec__"] for leaf in leaves] == [[None] * 3, [None] * 2, [None] * 2, [None] * 2, [None]]
    assert {leaf["dtype"] for leaf in leaves} == {"float32"}
    assert trace_call(call)["general"] == wide and trace_call(call)["signature"] == signature(call)


def test_every_case_of_an_exercise_shares_one_graph():
    kernel = kernel_with("A2", "rnn_forward", FORWARD)
    cache: dict = {}
    graphs = {probes.trace_case(kernel, call, cache)["graph"] for call in trace_calls()}
    assert len(graphs) == 1 and len(cache) == 1


def test_the_watched_first_case_shares_its_graph_with_the_others():
    """The first case runs under the rules' watch, which wraps the function: its trace is still the function's."""
    kernel = kernel_with("A2", "rnn_forward", FORWARD)
    calls = trace_calls()
    cache: dict = {}
    assert calls[0].get("rules")
    first = call_watched(kernel, "rnn_forward", "rnn_forward", calls[0]["rules"],
                         lambda: probes.trace_case(kernel, calls[0], cache))
    rest = [probes.trace_case(kernel, call, cache) for call in calls[1:]]
    assert all(r["graph"] == first["graph"] for r in rest) and len(cache) == 1


def test_a_function_reading_sizes_as_numbers_is_traced_with_each_cases_sizes():
    kernel = kernel_with("A2", "rnn_forward", SIZES_AS_NUMBERS)
    calls = trace_calls()
    with pytest.raises(probes.GraphTraceFailure):
        probes.trace_graph(kernel, {**calls[0], "signature": calls[0]["general"]})
    cache: dict = {}
    graphs = [probes.trace_case(kernel, call, cache)["graph"] for call in calls]
    assert len(set(graphs)) == len(calls)  # every case its own sizes, the failed general trace remembered once
    ex = A2.exercise("rnn_forward")
    for case in ex.cases:
        call = call_spec("A2", ex, case)
        assert "value" in probes.run_graph({}, clean_call(call, probes.trace_case(kernel, trace_call(call)))), case.name
    report = check("rnn_forward", "A2", kernel, quiet=True)
    assert report.passed == report.total > 0, report.lines


@pytest.mark.slow
def test_sizes_read_as_numbers_keep_full_marks(roomy_sandbox, tmp_path):
    results = grade_submissions({"sizes": ("A2", {"rnn_forward": SIZES_AS_NUMBERS}),
                                 "reference": ("A2", {"rnn_forward": FORWARD})}, roomy_sandbox, tmp_path)
    assert_full_marks(results["sizes"])
    assert_full_marks(results["reference"])


def test_running_a_graph_never_formats_its_inputs(monkeypatch):
    """TensorFlow formats every input into a message it drops when a call's signature does not fit: the
    grader's imported graphs take their inputs by a signature that fits, so no input is ever printed."""
    from tensorflow.python.framework import ops

    kernel = kernel_with("A2", "rnn_forward", FORWARD)
    ex = A2.exercise("rnn_forward")
    call = call_spec("A2", ex, ex.cases[0])
    traced = probes.trace_case(kernel, trace_call(call))
    printed = []
    original = ops._EagerTensorBase.__repr__
    monkeypatch.setattr(ops._EagerTensorBase, "__repr__", lambda self: printed.append(1) or original(self))
    out = probes.run_graph({}, clean_call(call, traced))
    assert "grads" in out and not printed


def test_every_lesson_has_graph_ruled_exercises_to_check():
    assert {"rnn_forward", "rnn_backward", "gru_forward", "lstm_forward"} <= {name for _, name in GRAPH_RULED}


@pytest.mark.parametrize("lesson,name", GRAPH_RULED)
def test_the_shared_graph_reproduces_the_eager_reference_on_every_case(lesson, name):
    """The reference, traced as the grader traces it (one graph for every case it fits), gives every case's
    values and gradients as the reference itself run eagerly does."""
    from autograder.grading.judge import compare_call
    from autograder.run.probes.call import probe_call

    assignment = LESSONS[lesson]
    ex = assignment.exercise(name)
    kernel = kernel_with(lesson, name, assignment.cells[name])
    cache: dict = {}
    for case in ex.cases:
        call = call_spec(lesson, ex, case)
        out = probes.run_graph({}, clean_call(call, probes.trace_case(kernel, trace_call(call), cache)))
        ok, why = compare_call(case, probe_call(kernel, call), {k: out[k] for k in ("value", "grads") if k in out})
        assert ok, (case.name, why)
    assert len({kept[1]["graph"] for kept in cache.values() if isinstance(kept[1], dict)}) == 1, sorted(cache)


TRACE_IN_A_FRESH_PROCESS = """
import hashlib, sys
sys.path[:0] = ["tests/autograder", "tests"]
from lesson_submissions import kernel_with, solution
from autograder.authoring.spec import call_spec
from autograder.authoring.student import load_assignment
from autograder.grading.graphs import trace_call
from autograder.run.probes.graph import trace_case
A2 = load_assignment(solution("A2"))
ex = A2.exercise("rnn_forward")
traced = trace_case(kernel_with("A2", "rnn_forward", A2.cells["rnn_forward"]), trace_call(call_spec("A2", ex, ex.cases[0])))
print("SHA", hashlib.sha256(traced["graph"].encode()).hexdigest())
"""


@pytest.mark.slow
def test_the_same_function_traced_in_two_jobs_sends_the_same_bytes():
    """Serialized deterministically: a clean job imports a graph two submissions share once, not twice."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    hashes = set()
    for seed in ("1", "2"):  # protobuf's map order follows the process's hash seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
        out = subprocess.run([sys.executable, "-c", TRACE_IN_A_FRESH_PROCESS], cwd=root, env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        hashes |= {line.split()[1] for line in out.stdout.splitlines() if line.startswith("SHA ")}
    assert len(hashes) == 1, hashes
