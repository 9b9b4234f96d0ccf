"""A7's rules and hidden cases on real submissions: shortcuts lose their exercise, honest variants keep full marks.

Each submission is the reference notebook with some graded cells replaced. A call into a library routine that
does the exercise costs the exercise every case, with the rule's words; a search that is only greedy, or only
exhaustive, fails hidden cases; a differently written but honest implementation keeps full marks.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from lesson_submissions import (assert_full_marks, assert_others_full, assert_rule_broken, assert_rules_stated,
                                exercise, grade_submissions, kernel_with, rule_text, solution)

from autograder.assign import load_assignment
from autograder.check import check
from autograder.notebook import first_line
from autograder.spec import case_args

SOLUTION = solution("A7")

SHIFT_BY_ROLL = '''# GRADED: shift_right
def shift_right(targets, start_id):
    return np.roll(np.asarray(targets), 1, axis=1).astype(np.int32)
'''
ACCURACY_WHOLE_ROWS = '''# GRADED: sequence_accuracy
def sequence_accuracy(predictions, targets, end_id):
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    width = min(predictions.shape[1], targets.shape[1])
    return float(np.mean(np.all(predictions[:, :width] == targets[:, :width], axis=1)))
'''
ACCURACY_VIA_KERAS = '''# GRADED: sequence_accuracy
def sequence_accuracy(predictions, targets, end_id):
    metric = keras.metrics.Accuracy()
    rows = [float(np.all(np.asarray(p) == np.asarray(t))) for p, t in zip(predictions, targets)]
    metric.update_state(np.ones(len(rows)), np.array(rows))
    return float(metric.result())
'''
BEAM_GREEDY_ONLY = '''# GRADED: beam_search
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len):
    step_fn = as_step_fn(step_fn)
    state, token, tokens, score = np.asarray(initial_state), np.array([start_id]), [], 0.0
    for _ in range(max_len):
        log_probs, state = step_fn(state, token)
        token = np.array([int(np.argmax(log_probs[0]))])
        tokens.append(int(token[0]))
        score += float(log_probs[0, token[0]])
        if token[0] == end_id:
            break
    return np.array(tokens, dtype=np.int64), score
'''
BEAM_EXHAUSTIVE = '''# GRADED: beam_search
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len):
    step_fn = as_step_fn(step_fn)
    best = (-np.inf, [])
    frontier = [([], 0.0, np.asarray(initial_state), start_id)]
    while frontier:
        tokens, score, state, last = frontier.pop()
        log_probs, new_state = step_fn(state, np.array([last]))
        for a, lp in enumerate(log_probs[0]):
            grown, total = tokens + [a], score + float(lp)
            if a == end_id or len(grown) == max_len:
                best = max(best, (total, grown), key=lambda h: h[0])
            else:
                frontier.append((grown, total, new_state, a))
    return np.array(best[1], dtype=np.int64), float(best[0])
'''
BEAM_VIA_CTC = '''# GRADED: beam_search
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len):
    step_fn = as_step_fn(step_fn)
    state, token, rows = np.asarray(initial_state), np.array([start_id]), []
    for _ in range(max_len):
        log_probs, state = step_fn(state, token)
        rows.append(log_probs[0])
        token = np.array([int(np.argmax(log_probs[0]))])
    decoded, scores = tf.nn.ctc_beam_search_decoder(np.array(rows, np.float32)[:, None, :], [max_len], beam_width)
    return np.asarray(tf.sparse.to_dense(decoded[0])[0], dtype=np.int64), float(scores[0, 0])
'''
ATTENTION_VIA_KERAS = '''# GRADED: dot_product_attention
def dot_product_attention(query, keys, mask):
    layer = keras.layers.Attention(use_scale=False)
    depth = tf.cast(tf.shape(keys)[-1], query.dtype)
    context, weights = layer([query / tf.sqrt(depth), keys], mask=[None, tf.cast(mask, tf.bool)],
                             return_attention_scores=True)
    return context, weights
'''
HONEST = {
    "shift_right": '''# GRADED: shift_right
def shift_right(targets, start_id):
    targets = np.array(targets, dtype=np.int64)
    starts = np.full((targets.shape[0], 1), start_id)
    return np.concatenate([starts, targets[:, :targets.shape[1] - 1]], axis=1).astype(np.int32)
''',
    "sequence_accuracy": '''# GRADED: sequence_accuracy
def sequence_accuracy(predictions, targets, end_id):
    def upto_end(row):
        row = np.asarray(row)
        ends = np.flatnonzero(row == end_id)
        return tuple(row[:ends[0] + 1].tolist()) if len(ends) else tuple(row.tolist())

    hits = sum(upto_end(p) == upto_end(t) for p, t in zip(predictions, targets))
    return hits / len(targets)
''',
    "beam_search": '''# GRADED: beam_search
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len):
    step_fn = as_step_fn(step_fn)
    live = [(0.0, [])]  # (score, tokens) of the live hypotheses, row k of `states` is hypothesis k's
    states, done = np.asarray(initial_state), []
    for _ in range(max_len):
        last = np.array([tokens[-1] if tokens else start_id for _, tokens in live])
        log_probs, new_states = step_fn(states, last)
        options = [(score + float(lp), k, a) for k, (score, _) in enumerate(live) for a, lp in enumerate(log_probs[k])]
        options.sort(key=lambda option: -option[0])
        survivors, rows = [], []
        for score, k, a in options[:beam_width]:
            if a == end_id:
                done.append((score, live[k][1] + [a]))
            else:
                survivors.append((score, live[k][1] + [a]))
                rows.append(k)
        if not survivors:
            break
        live, states = survivors, np.take(np.asarray(new_states), rows, axis=0)
    else:
        done += live
    score, tokens = max(done, key=lambda hypothesis: hypothesis[0])
    return np.array(tokens, dtype=np.int64), score
''',
    "dot_product_attention": '''# GRADED: dot_product_attention
def dot_product_attention(query, keys, mask):
    scale = tf.math.rsqrt(tf.cast(tf.shape(query)[-1], tf.float32))
    scores = tf.einsum("bqd,bkd->bqk", query, keys) * scale
    scores += (tf.cast(mask, tf.float32)[:, None, :] - 1.0) * 1e9  # padding: -1e9, exp gives exactly 0
    weights = tf.nn.softmax(scores, axis=-1)
    return tf.einsum("bqk,bkd->bqd", weights, keys), weights
''',
}

# submission -> replaced cells
SUBMISSIONS = {
    "shift_by_roll": {"shift_right": SHIFT_BY_ROLL},
    "accuracy_whole_rows": {"sequence_accuracy": ACCURACY_WHOLE_ROWS},
    "accuracy_via_keras": {"sequence_accuracy": ACCURACY_VIA_KERAS},
    "beam_greedy_only": {"beam_search": BEAM_GREEDY_ONLY},
    "beam_exhaustive": {"beam_search": BEAM_EXHAUSTIVE},
    "beam_via_ctc": {"beam_search": BEAM_VIA_CTC},
    "attention_via_keras": {"dot_product_attention": ATTENTION_VIA_KERAS},
    "honest": HONEST,
}
# submission -> (exercise that must score 0, words the message must hold besides the rule's text)
BROKEN = {
    "accuracy_via_keras": ("sequence_accuracy", "uses `keras.metrics.Accuracy`"),
    "beam_via_ctc": ("beam_search", "uses `tensorflow.nn.ctc_beam_search_decoder`"),
    "attention_via_keras": ("dot_product_attention", "uses `keras.layers.Attention`"),
}
# submission -> (exercise, hidden cases that must fail, the most it may keep of the exercise's points)
WRONG = {
    "shift_by_roll": ("shift_right", {"one step", "a big batch"}, 0.0),
    "accuracy_whole_rows": ("sequence_accuracy", {"wider predictions", "stops early", "a mix"}, 0.5),
    "beam_greedy_only": ("beam_search", {"greedy misses the best", "other start and end ids"}, 0.75),
    "beam_exhaustive": ("beam_search", {"width 1 on a trap", "a narrow beam misses the best", "width 3, six tokens"},
                        0.5),
}


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    submissions = {name: ("A7", cells) for name, cells in SUBMISSIONS.items()}
    return grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("a7-rules"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_library_shortcut_costs_its_exercise_with_the_rules_words(graded, name):
    target, words = BROKEN[name]
    assert_rule_broken(graded[name], "A7", target, words)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_shortcut_fails_hidden_cases(graded, name):
    target, must_fail, keeps_at_most = WRONG[name]
    result = graded[name]
    scored = exercise(result, target)
    failed = {c.name for c in scored.cases if not c.passed}
    assert must_fail <= failed, (failed, scored.message)
    assert scored.points <= keeps_at_most * scored.max_points + 1e-9, scored.points
    assert_others_full(result, target)


@pytest.mark.slow
def test_honest_variants_keep_full_marks(graded):
    assert_full_marks(graded["honest"])


def test_every_exercise_has_rules_points_hidden_cases_and_says_so_before_the_grade():
    assignment = load_assignment(SOLUTION)
    assert {e.name for e in assignment.exercises} == {"shift_right", "sequence_accuracy", "beam_search",
                                                      "dot_product_attention"}
    for ex in assignment.exercises:
        assert ex.rules and ex.worth, f"{ex.name}: rules and worth must be set"
        assert any(c.hidden for c in ex.cases) and any(not c.hidden for c in ex.cases), ex.name
        assert_rules_stated("A7", ex.name)


def reference_namespace() -> dict:
    """The set-up cell, the CASES cell's helpers and the reference beam_search, run here."""
    assignment = load_assignment(SOLUTION)
    nb = nbformat.read(SOLUTION, as_version=4)
    cases = next(c.source for c in nb.cells if c.cell_type == "code" and first_line(c.source) == "# CASES")
    ns: dict = {"__name__": "a7_reference"}
    for code in [*assignment.setup, cases, assignment.cells["beam_search"]]:
        exec(compile(code, "<a7>", "exec"), ns)
    return ns


def test_reference_beam_is_greedy_at_width_1_and_exhaustive_when_wide():
    ns = reference_namespace()
    rng = np.random.default_rng(7)
    beats_greedy = 0
    for _ in range(60):
        tables = ns["toy_tables"](rng, 6, 3, 1)
        greedy, best = ns["toy_greedy_and_best"](tables, 0, 1, 4)
        start = np.zeros(1, np.int64)
        narrow, _ = ns["beam_search"](tables, start, 0, 1, 1, 4)
        wide, _ = ns["beam_search"](tables, start, 0, 1, 3 ** 4, 4)
        assert narrow.tolist() == greedy and wide.tolist() == best
        beats_greedy += greedy != best
    assert beats_greedy > 0  # the tables are not all easy


def test_the_trap_cases_are_traps():
    """Where a case is a trap, the reference's answer differs from greedy decoding, or from the exhaustive optimum."""
    ns = reference_namespace()
    assignment = load_assignment(SOLUTION)
    ex = assignment.exercise("beam_search")
    greedy_traps = ("greedy misses the best", "other start and end ids")
    beam_traps = ("width 2", "width 3, six tokens", "a narrow beam misses the best")
    for name in greedy_traps + beam_traps:
        case = next(c for c in ex.cases if c.name == name)
        tables, state, start_id, end_id, width, max_len = case_args("A7", ex, case)
        greedy, best = ns["toy_greedy_and_best"](tables, start_id, end_id, max_len)
        tokens, _ = ns["beam_search"](tables, state, start_id, end_id, width, max_len)
        assert tokens.tolist() == ns["toy_beam"](tables, start_id, end_id, width, max_len), name
        assert tokens.tolist() != (greedy if name in greedy_traps else best), name


CHECKED = {  # the same shortcuts in a student's kernel: check says what the grader will
    "sequence_accuracy": (ACCURACY_VIA_KERAS, "uses `keras.metrics.Accuracy`"),
    "beam_search": (BEAM_VIA_CTC, "uses `tensorflow.nn.ctc_beam_search_decoder`"),
    "dot_product_attention": (ATTENTION_VIA_KERAS, "uses `keras.layers.Attention`"),
}


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_check_refuses_the_shortcut_in_the_students_kernel(name):
    cell, words = CHECKED[name]
    report = check(name, "A7", kernel_with("A7", name, cell), quiet=True)
    assert report.passed == 0 and report.total > 0
    assert rule_text("A7", name) in str(report) and words in str(report), str(report)
