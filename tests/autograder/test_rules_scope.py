"""Rules judged where they are broken: a forbidden call costs the exercise whose code made it, and a loop
that is not over time is not a Python loop over time.

A student's `rnn_step` (A2) or `gru_step` (A3) that uses a Keras recurrent cell, or the course's own code,
scores 0 with its rule's words; `rnn_forward`, `gru_forward`, `bidirectional_forward` and `stacked_forward`,
which call it, keep their marks for their own work. A call the callee may make but the caller may not (a
gradient tape reached through the student's own `rnn_forward`) still costs the caller. Under `no_loops`, a
comprehension that converts the weights keeps full marks and a comprehension over time scores 0. `check` in
a student's kernel says what the grader says, every time it is asked.
"""

from __future__ import annotations

import linecache

import nbformat
import pytest
from lesson_submissions import assert_full_marks, assert_rule_broken, grade_submissions, rule_text, solution

from autograder.authoring.student import load_assignment
from autograder.check import check
from autograder.rules.static import Rules, static_violations

A2 = load_assignment(solution("A2"))
A3 = load_assignment(solution("A3"))

KERAS_CELL_STEP = '''# GRADED: rnn_step
CELLS = {units: keras.layers.SimpleRNNCell(units) for units in range(1, 33)}  # built once, outside any graph


def rnn_step(x_t, h_prev, W_x, W_h, b_h):
    cell = CELLS[W_h.shape[-1]]
    cell.built = True
    cell.kernel, cell.recurrent_kernel, cell.bias = W_x, W_h, b_h
    h_t, _ = cell(x_t, [h_prev])
    return h_t
'''
COURSE_STEP = '''# GRADED: rnn_step
from course.rnn.cell_base import _dense


def rnn_step(x_t, h_prev, W_x, W_h, b_h):
    return tf.tanh(_dense(x_t, W_x, b_h) + h_prev @ W_h)
'''
KERAS_GRU_STEP = '''# GRADED: gru_step
CELLS = {units: keras.layers.GRUCell(units) for units in range(1, 33)}  # built once, outside any graph


def gru_step(x_t, h_prev, kernel, recurrent_kernel, bias):
    cell = CELLS[recurrent_kernel.shape[0]]
    cell.built = True
    cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent_kernel, bias
    h_t, _ = cell(x_t, [h_prev])
    return h_t
'''
FORWARD_WITH_A_TAPE = A2.cells["rnn_forward"].replace(
    "def rnn_forward(x, h0, W_x, W_h, b_h):",
    '''def tape_backward(x, h0, hs, dhs, W_h):
    W_x = tf.zeros((x.shape[2], W_h.shape[0]))
    b_h = tf.zeros((W_h.shape[0],))
    def step(h, elems):  # the true state h_t, with the slope of tanh there
        x_t, h_t = elems
        a = x_t @ W_x + h @ W_h + b_h
        return h_t + (a - tf.stop_gradient(a)) * (1.0 - h_t ** 2)

    with tf.GradientTape() as tape:
        tape.watch([W_x, W_h, b_h, h0])
        states = tf.scan(step, (tf.transpose(x, [1, 0, 2]), tf.transpose(hs, [1, 0, 2])), initializer=h0)
        total = tf.reduce_sum(tf.transpose(states, [1, 0, 2]) * dhs)
    return tuple(tape.gradient(total, [W_x, W_h, b_h, h0]))


def rnn_forward(x, h0, W_x, W_h, b_h, backward=None):
    if backward is not None:  # rnn_forward's rules allow a tape; rnn_backward's do not
        return tape_backward(*backward)''')
BACKWARD_THROUGH_FORWARD = '''# GRADED: rnn_backward
def rnn_backward(x, h0, hs, dhs, W_h):
    return rnn_forward(None, None, None, None, None, backward=(x, h0, hs, dhs, W_h))
'''

WEIGHTS_CONVERTED = A2.cells["rnn_forward"].replace(
    "    x_time_major = tf.transpose(x, perm=[1, 0, 2])  # (T, B, D)\n",
    "    W_x, W_h, b_h = [tf.convert_to_tensor(w) for w in (W_x, W_h, b_h)]  # three weights, not time\n"
    "    x_time_major = tf.transpose(x, perm=[1, 0, 2])  # (T, B, D)\n", 1)
WEIGHTS_BY_NAME = A3.cells["gru_forward"].replace(
    "    x_time_major = tf.transpose(x, perm=[1, 0, 2])  # (T, B, D)\n",
    "    names = ('kernel', 'recurrent', 'bias')\n"
    "    weights = {name: tf.convert_to_tensor(w) for name, w in zip(names, (kernel, recurrent_kernel, bias))}\n"
    "    kernel, recurrent_kernel, bias = (weights[name] for name in names)\n"
    "    x_time_major = tf.transpose(x, perm=[1, 0, 2])  # (T, B, D)\n", 1)
LOOP_OVER_TIME = '''# GRADED: rnn_forward
def rnn_forward(x, h0, W_x, W_h, b_h):
    h = h0
    hs = [h := rnn_step(x_t, h, W_x, W_h, b_h) for x_t in tf.unstack(x, axis=1)]
    return tf.stack(hs, axis=1), h
'''
HONEST = {
    "a2_weights_converted": ("A2", {"rnn_forward": WEIGHTS_CONVERTED}),
    "a3_weights_by_name": ("A3", {"gru_forward": WEIGHTS_BY_NAME}),
}
assert WEIGHTS_CONVERTED != A2.cells["rnn_forward"] and WEIGHTS_BY_NAME != A3.cells["gru_forward"]

SUBMISSIONS = {
    "a2_keras_cell_in_step": ("A2", {"rnn_step": KERAS_CELL_STEP}),
    "a2_course_in_step": ("A2", {"rnn_step": COURSE_STEP}),
    "a3_keras_cell_in_gru_step": ("A3", {"gru_step": KERAS_GRU_STEP}),
    "a2_tape_through_forward": ("A2", {"rnn_forward": FORWARD_WITH_A_TAPE, "rnn_backward": BACKWARD_THROUGH_FORWARD}),
    "a2_loop_over_time": ("A2", {"rnn_forward": LOOP_OVER_TIME}),
    **HONEST,
}
BROKEN = {  # submission -> (lesson, the exercise that scores 0, words its message must hold)
    "a2_keras_cell_in_step": ("A2", "rnn_step", "`keras.layers.SimpleRNNCell`"),
    "a2_course_in_step": ("A2", "rnn_step", "`course.rnn.cell_base._dense`"),
    "a3_keras_cell_in_gru_step": ("A3", "gru_step", "`keras.layers.GRUCell`"),
    "a2_tape_through_forward": ("A2", "rnn_backward", "called `tf.GradientTape` while running"),
    "a2_loop_over_time": ("A2", "rnn_forward", "line 4 loops in Python"),
}


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    return grade_submissions(SUBMISSIONS, roomy_sandbox, tmp_path_factory.mktemp("rule-scope"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_rule_costs_only_the_exercise_whose_code_broke_it(graded, name):
    lesson, target, words = BROKEN[name]
    assert_rule_broken(graded[name], lesson, target, words)  # every other exercise, callers included, full


def kernel(lesson: str, cells: dict[str, str]) -> dict:
    """A student's kernel: the set-up cells, then every graded cell in order, `cells` replacing the reference's."""
    assignment = load_assignment(solution(lesson))
    sources = assignment.setup + [cells.get(ex.name, assignment.cells[ex.name]) for ex in assignment.exercises]
    ns: dict = {"__name__": "__main__", "In": ["", *sources]}
    for i, code in enumerate(sources):
        filename = f"<ipython-input-{i + 1}-{abs(hash(code)) % 10**12:012x}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)  # as IPython does
        exec(compile(code, filename, "exec"), ns)
    return ns


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_agrees_on_which_exercise_pays(name):
    lesson, target, words = BROKEN[name]
    lesson, cells = SUBMISSIONS[name]
    ns = kernel(lesson, cells)
    assignment = load_assignment(solution(lesson))
    for attempt in range(2):
        for ex in assignment.exercises:
            report = check(ex.name, lesson, ns, quiet=True)
            if ex.name == target:
                assert report.passed == 0 < report.total, (attempt, ex.name, report.lines)
                assert rule_text(lesson, target) in str(report) and words in str(report), str(report)
            else:
                assert report.passed == report.total > 0, (attempt, ex.name, report.lines)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HONEST))
def test_a_comprehension_over_the_weights_keeps_full_marks(graded, name):
    assert_full_marks(graded[name])


@pytest.mark.parametrize("name", sorted(HONEST))
def test_check_agrees_a_comprehension_over_the_weights_is_honest(name):
    lesson, cells = HONEST[name]
    ns = kernel(lesson, cells)
    for attempt in range(2):
        for exercise in cells:
            report = check(exercise, lesson, ns, quiet=True)
            assert report.passed == report.total > 0, (attempt, exercise, report.lines)


SCAN = Rules(no_loops=True)
SETUP = ["import numpy as np\nimport tensorflow as tf\nimport keras"]
STEP = "tf.tanh(x_t @ W_x + h @ W_h + b)"
NOT_OVER_TIME = {  # `no_loops` lets a loop over a fixed handful of things through
    "comprehension over a tuple": f'''def rnn_forward(x, h0, W_x, W_h, b):
    W_x, W_h, b = [tf.convert_to_tensor(w) for w in (W_x, W_h, b)]
    return tf.scan(lambda h, x_t: {STEP}, x, initializer=h0)
''',
    "map over a tuple": f'''def rnn_forward(x, h0, W_x, W_h, b):
    W_x, W_h, b = map(tf.convert_to_tensor, (W_x, W_h, b))
    return tf.scan(lambda h, x_t: {STEP}, x, initializer=h0)
''',
    "names only ever bound to displays": f'''NAMES = ("W_x", "W_h", "b")


def rnn_forward(x, h0, W_x, W_h, b):
    weights = {{k: tf.convert_to_tensor(v) for k, v in zip(NAMES, (W_x, W_h, b))}}
    for name, w in weights.items():
        tf.debugging.assert_all_finite(w, name)
    return tf.scan(lambda h, x_t: {STEP}, x, initializer=h0)
''',
    "a loop over a constant range (three gates)": f'''def rnn_forward(x, h0, W_x, W_h, b):
    parts = [tf.convert_to_tensor(w) for w, _ in zip((W_x, W_h, b), range(3))]
    for i in range(-1, 2):
        parts[i] = tf.identity(parts[i])
    W_x, W_h, b = parts
    return tf.scan(lambda h, x_t: {STEP}, x, initializer=h0)
''',
    "a table made once when the cell runs": '''GATES = [slice(i, i + 1) for i in range(3)]


def rnn_forward(x, h0, W_x, W_h, b):
    return tf.scan(lambda h, x_t: h[:, GATES[0]], x, initializer=h0)
''',
}
OVER_TIME = {  # name -> (cell, words of the message)
    "comprehension over range": ('''def rnn_forward(x, h0, W_x, W_h, b):
    h = h0
    return [h := tf.tanh(x[:, t] @ W_x + h @ W_h + b) for t in range(x.shape[1])]
''', "line 3 loops in Python"),
    "for over tf.unstack": ('''def rnn_forward(x, h0, W_x, W_h, b):
    for x_t in tf.unstack(x, axis=1):
        h0 = x_t
    return h0
''', "line 2 loops in Python"),
    "zip with the sequence": ('''def rnn_forward(x, h0, W_x, W_h, b):
    return [a for a, _ in zip(tf.unstack(x, axis=1), (1, 2))]
''', "line 2 loops in Python"),
    "a display spread from the sequence": ('''def rnn_forward(x, h0, W_x, W_h, b):
    return [a for a in (*tf.unstack(x, axis=1),)]
''', "line 2 loops in Python"),
    "over the shape": ('''def rnn_forward(x, h0, W_x, W_h, b):
    return [x[:, t] for t in x.shape[1:2]]
''', "line 2 loops in Python"),
    "a name rebound to the sequence": ('''def rnn_forward(x, h0, W_x, W_h, b):
    steps = (W_x, W_h)
    steps = tf.unstack(x, axis=1)
    return [s for s in steps]
''', "line 4 loops in Python"),
    "while": ('''def rnn_forward(x, h0, W_x, W_h, b):
    t = 0
    while t < x.shape[1]:
        t += 1
    return h0
''', "line 3 loops in Python"),
    "helper function": ('''def run(x, h, W_x, W_h, b):
    for t in range(x.shape[1]):
        h = tf.tanh(x[:, t] @ W_x + h @ W_h + b)
    return h


def rnn_forward(x, h0, W_x, W_h, b):
    return run(x, h0, W_x, W_h, b)
''', "line 2 loops in Python in `run`, which `rnn_forward` uses"),
    "recursion": ('''def rnn_forward(x, h0, W_x, W_h, b):
    if x.shape[1] == 0:
        return h0
    return rnn_forward(x[:, 1:], tf.tanh(x[:, 0] @ W_x + h0 @ W_h + b), W_x, W_h, b)
''', "line 4 loops in Python (`rnn_forward` calls itself)"),
    "nested recursion": ('''def rnn_forward(x, h0, W_x, W_h, b):
    def go(t, h):
        return h if t == x.shape[1] else go(t + 1, tf.tanh(x[:, t] @ W_x + h @ W_h + b))
    return go(0, h0)
''', "line 3 loops in Python (`go` calls itself)"),
    "mutual recursion": ('''def even(t, h, x):
    return h if t == 0 else odd(t - 1, h, x)


def odd(t, h, x):
    return even(t, h, x)


def rnn_forward(x, h0, W_x, W_h, b):
    return even(x.shape[1], h0, x)
''', "`even` calls itself through other functions"),
    "functools.reduce": (f'''from functools import reduce as fold


def rnn_forward(x, h0, W_x, W_h, b):
    return fold(lambda h, x_t: {STEP}, tf.unstack(x, axis=1), h0)
''', "line 5 loops in Python (`functools.reduce`)"),
    "itertools.accumulate": ('''import itertools


def rnn_forward(x, h0, W_x, W_h, b):
    return list(itertools.accumulate(tf.unstack(x, axis=1), lambda h, x_t: h, initial=h0))
''', "line 5 loops in Python (`itertools.accumulate`)"),
    "map over time": ('''def rnn_forward(x, h0, W_x, W_h, b):
    return list(map(lambda x_t: x_t @ W_x, tf.unstack(x, axis=1)))
''', "line 2 loops in Python (`map`)"),
    "generator": ('''def steps(x):
    t = 0
    while True:
        yield x[:, t]
        t += 1


def rnn_forward(x, h0, W_x, W_h, b):
    return next(steps(x))
''', "line 3 loops in Python in `steps`, which `rnn_forward` uses"),
    "decorator": ('''def over_time(step):
    def run(x, h, *weights):
        for t in range(x.shape[1]):
            h = step(x[:, t], h, *weights)
        return h
    return run


@over_time
def rnn_forward(x_t, h, W_x, W_h, b):
    return tf.tanh(x_t @ W_x + h @ W_h + b)
''', "line 3 loops in Python in `over_time`, which `rnn_forward` uses"),
    "class __call__": ('''class Runner:
    def __call__(self, x, h, W_x, W_h, b):
        for t in range(x.shape[1]):
            h = tf.tanh(x[:, t] @ W_x + h @ W_h + b)
        return h


RUN = Runner()


def rnn_forward(x, h0, W_x, W_h, b):
    return RUN(x, h0, W_x, W_h, b)
''', "line 3 loops in Python in `Runner`, which `rnn_forward` uses"),
}


@pytest.mark.parametrize("name", sorted(NOT_OVER_TIME))
def test_no_loops_lets_a_loop_over_a_fixed_handful_through(name):
    assert static_violations(NOT_OVER_TIME[name], "rnn_forward", SCAN, SETUP) == []


@pytest.mark.parametrize("name", sorted(OVER_TIME))
def test_no_loops_refuses_every_route_to_a_loop_over_time(name):
    cell, words = OVER_TIME[name]
    found = [v.why for v in static_violations(cell, "rnn_forward", SCAN, SETUP)]
    assert any(words in why for why in found), found


def test_another_exercises_cell_never_costs_this_one_statically():
    """The static check reads the exercise's own cell: the forbidden cell in `rnn_step` is not `rnn_forward`'s."""
    rules = A2.exercise("rnn_forward").rules
    assert static_violations(A2.cells["rnn_forward"], "rnn_forward", rules, A2.setup) == []
    assert static_violations(KERAS_CELL_STEP, "rnn_step", A2.exercise("rnn_step").rules, A2.setup)


def stub(lesson: str, name: str) -> str:
    """The student copy's cell for `name` (its stub)."""
    notebook = nbformat.read(solution(lesson).parents[1] / "notebooks" / f"{lesson}.ipynb", as_version=4)
    return next(c.source for c in notebook.cells if c.cell_type == "code" and c.source.startswith(f"# GRADED: {name}\n"))


STUB_CALLEE = "`bidirectional_forward` calls your `gru_forward`, which is not implemented yet"


@pytest.fixture(scope="module")
def graded_stub(roomy_sandbox, tmp_path_factory):
    submissions = {"a3_stub_gru_forward": ("A3", {"gru_forward": stub("A3", "gru_forward")})}
    return grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("stub-callee"))["a3_stub_gru_forward"]


@pytest.mark.slow
def test_a_callers_message_names_the_callee_left_as_a_stub(graded_stub):
    by_name = {e.name: e for e in graded_stub.exercises}
    assert by_name["gru_forward"].points == 0 and "`gru_forward` is not implemented yet" in by_name["gru_forward"].message
    assert by_name["bidirectional_forward"].points == 0
    assert all(c.message.startswith(STUB_CALLEE) for c in by_name["bidirectional_forward"].cases), \
        by_name["bidirectional_forward"].message


def test_check_names_the_callee_left_as_a_stub_as_the_grader_does():
    ns = kernel("A3", {"gru_forward": stub("A3", "gru_forward")})
    report = check("bidirectional_forward", "A3", ns, quiet=True)
    assert report.passed == 0 and STUB_CALLEE in str(report), str(report)
    assert "`gru_forward` is not implemented yet" in str(check("gru_forward", "A3", ns, quiet=True))
