"""A7's rules and hidden cases on real submissions: shortcuts lose their exercise, honest variants keep full marks.

Each submission is the reference notebook with some graded cells replaced. A call into a library routine that
does the exercise (a Keras attention layer, a prebuilt sequence-to-sequence model, `train_on_batch`, a CTC
decoder) costs the exercise every case, with the rule's words; a submission that skips part of the concept (no
padding mask, a loss mask built from the padding id, per-tensor clipping, a beam that keeps beam_width live, a
beam without length normalisation, a search that is only greedy or only exhaustive) fails hidden cases; a
differently written but honest implementation keeps full marks.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from lesson_submissions import (assert_full_marks, assert_rule_broken, assert_rules_stated,
                                exercise, grade_submissions, kernel_with, rule_text, solution)

from autograder.authoring.student import load_assignment
from autograder.check import check
from autograder.grading.locate import first_line
from autograder.authoring.spec import case_args

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
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len, alpha=0.0):
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
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len, alpha=0.0):
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
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len, alpha=0.0):
    step_fn = as_step_fn(step_fn)
    state, token, rows = np.asarray(initial_state), np.array([start_id]), []
    for _ in range(max_len):
        log_probs, state = step_fn(state, token)
        rows.append(log_probs[0])
        token = np.array([int(np.argmax(log_probs[0]))])
    decoded, scores = tf.nn.ctc_beam_search_decoder(np.array(rows, np.float32)[:, None, :], [max_len], beam_width)
    return np.asarray(tf.sparse.to_dense(decoded[0])[0], dtype=np.int64), float(scores[0, 0])
'''
ENCODER_VIA_KERAS_HUB = '''# GRADED: build_encoder
def build_encoder(in_vocab, embed_dim, hidden):
    import keras_hub
    return keras_hub.layers.TransformerEncoder(hidden, 2)
'''
ENCODER_WITHOUT_MASK = '''# GRADED: build_encoder
def build_encoder(in_vocab, embed_dim, hidden):
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(in_vocab, embed_dim)(ids)
    states, final = keras.layers.GRU(hidden, return_sequences=True, return_state=True)(x)
    return keras.Model(ids, [states, final])
'''
ATTENTION_VIA_KERAS = '''# GRADED: additive_attention
def additive_attention(query, keys, mask, w_query, w_keys, v):
    layer = keras.layers.AdditiveAttention(use_scale=False)
    context, weights = layer([query @ w_query, keys, keys @ w_keys], mask=[None, tf.cast(mask, tf.bool)],
                             return_attention_scores=True)
    return context, weights
'''
ATTENTION_WITHOUT_MASK = '''# GRADED: additive_attention
def additive_attention(query, keys, mask, w_query, w_keys, v):
    hidden = tf.tanh(tf.einsum("bqh,ha->bqa", query, w_query)[:, :, None] + tf.einsum("bkh,ha->bka", keys, w_keys)[:, None])
    weights = tf.nn.softmax(tf.einsum("bqka,a->bqk", hidden, v), axis=-1)
    return tf.matmul(weights, keys), weights
'''
DECODER_VIA_KERAS_ATTENTION = '''# GRADED: build_decoder
def build_decoder(out_vocab, embed_dim, hidden, attention_units=0):
    tokens, state = keras.Input((None,), dtype="int32"), keras.Input((hidden,))
    states, new_state = keras.layers.GRU(hidden, return_sequences=True, return_state=True)(
        keras.layers.Embedding(out_vocab, embed_dim)(tokens), initial_state=state)
    if not attention_units:
        return keras.Model([tokens, state], [keras.layers.Dense(out_vocab)(states), new_state])
    keys, mask = keras.Input((None, hidden)), keras.Input((None,))
    context, weights = keras.layers.AdditiveAttention()([states, keys], return_attention_scores=True)
    mixed = keras.layers.Dense(hidden, activation="tanh")(keras.layers.Concatenate()([states, context]))
    return keras.Model([tokens, state, keys, mask], [keras.layers.Dense(out_vocab)(mixed), new_state, weights])
'''
DECODER_WITHOUT_CONTEXT = '''# GRADED: build_decoder
def build_decoder(out_vocab, embed_dim, hidden, attention_units=0):
    tokens, state = keras.Input((None,), dtype="int32"), keras.Input((hidden,))
    states, new_state = keras.layers.GRU(hidden, return_sequences=True, return_state=True)(
        keras.layers.Embedding(out_vocab, embed_dim)(tokens), initial_state=state)
    if not attention_units:
        return keras.Model([tokens, state], [keras.layers.Dense(out_vocab)(states), new_state])
    keys, mask = keras.Input((None, hidden)), keras.Input((None,))
    _, weights = BahdanauAttention(attention_units)(states, keys, mask)
    mixed = keras.layers.Dense(hidden, activation="tanh")(keras.layers.Concatenate()([states, states]))
    return keras.Model([tokens, state, keys, mask], [keras.layers.Dense(out_vocab)(mixed), new_state, weights])
'''
STEP_VIA_TRAIN_ON_BATCH = '''# GRADED: train_step
def train_step(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(targets, model([x, decoder_inputs], training=True))
    norm = tf.linalg.global_norm(tape.gradient(loss, model.trainable_variables))
    optimizer.global_clipnorm = clip_norm
    model.compile(optimizer=optimizer, loss=loss_fn)
    model.train_on_batch([x, decoder_inputs], targets)
    return loss, norm
'''
STEP_MASK_FROM_PADDING = '''# GRADED: train_step
def train_step(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm):
    mask = tf.cast(tf.not_equal(targets, 0), tf.float32)  # the padding id, not the end token
    with tf.GradientTape() as tape:
        ce = keras.losses.sparse_categorical_crossentropy(targets, model([x, decoder_inputs], training=True),
                                                          from_logits=True)
        loss = tf.reduce_sum(ce * mask) / tf.reduce_sum(mask)
    grads = tape.gradient(loss, model.trainable_variables)
    clipped, norm = tf.clip_by_global_norm(grads, clip_norm)
    optimizer.apply_gradients(zip(clipped, model.trainable_variables))
    return loss, norm
'''
STEP_CLIPS_EACH_TENSOR = '''# GRADED: train_step
def train_step(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm):
    ended = tf.cumsum(tf.cast(tf.equal(targets, end_id), tf.float32), axis=1, exclusive=True)
    mask = tf.cast(ended == 0, tf.float32)
    with tf.GradientTape() as tape:
        ce = keras.losses.sparse_categorical_crossentropy(targets, model([x, decoder_inputs], training=True),
                                                          from_logits=True)
        loss = tf.reduce_sum(ce * mask) / tf.reduce_sum(mask)
    grads = tape.gradient(loss, model.trainable_variables)
    norm = tf.linalg.global_norm(grads)
    clipped = [tf.clip_by_norm(tf.convert_to_tensor(g), clip_norm) for g in grads]  # each tensor on its own
    optimizer.apply_gradients(zip(clipped, model.trainable_variables))
    return loss, norm
'''
BEAM_KEEPS_WIDTH_LIVE = '''# GRADED: beam_search
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len, alpha=0.0):
    step_fn = as_step_fn(step_fn)
    live, states, done = [(0.0, [])], np.asarray(initial_state), []
    for _ in range(max_len):
        last = np.array([tokens[-1] if tokens else start_id for _, tokens in live])
        log_probs, new_states = step_fn(states, last)
        options = sorted(((s + float(lp), k, a) for k, (s, _) in enumerate(live) for a, lp in enumerate(log_probs[k])),
                         key=lambda o: -o[0])
        survivors, rows = [], []
        for score, k, a in options:  # goes down the ranking until beam_width are live
            if a == end_id:
                done.append((score, live[k][1] + [a]))
            else:
                survivors.append((score, live[k][1] + [a]))
                rows.append(k)
            if len(survivors) == beam_width:
                break
        live, states = survivors, np.asarray(new_states)[rows]
    done += live
    score, tokens = max(done, key=lambda h: h[0] / len(h[1]) ** alpha)
    return np.array(tokens, dtype=np.int64), float(score)
'''
BEAM_WITHOUT_NORMALISATION = '''# GRADED: beam_search
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len, alpha=0.0):
    step_fn = as_step_fn(step_fn)
    live, states, done = [(0.0, [])], np.asarray(initial_state), []
    for _ in range(max_len):
        last = np.array([tokens[-1] if tokens else start_id for _, tokens in live])
        log_probs, new_states = step_fn(states, last)
        options = sorted(((s + float(lp), k, a) for k, (s, _) in enumerate(live) for a, lp in enumerate(log_probs[k])),
                         key=lambda o: -o[0])[:beam_width]
        done += [(s, live[k][1] + [a]) for s, k, a in options if a == end_id]
        rows = [k for _, k, a in options if a != end_id]
        live = [(s, live[k][1] + [a]) for s, k, a in options if a != end_id]
        if not live:
            break
        states = np.asarray(new_states)[rows]
    else:
        done += live
    score, tokens = max(done, key=lambda h: h[0])  # the raw score: alpha ignored
    return np.array(tokens, dtype=np.int64), float(score)
'''
HONEST = {
    "shift_right": '''# GRADED: shift_right
def shift_right(targets, start_id):
    targets = np.array(targets, dtype=np.int64)
    starts = np.full((targets.shape[0], 1), start_id)
    return np.concatenate([starts, targets[:, :targets.shape[1] - 1]], axis=1).astype(np.int32)
''',
    "build_encoder": '''# GRADED: build_encoder
def build_encoder(in_vocab, embed_dim, hidden):
    from keras import layers
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    embedded = layers.Embedding(input_dim=in_vocab, output_dim=embed_dim, mask_zero=True)(source)
    outputs = layers.GRU(units=hidden, return_sequences=True, return_state=True)(embedded)
    return keras.Model(inputs=source, outputs=list(outputs))
''',
    "additive_attention": '''# GRADED: additive_attention
def additive_attention(query, keys, mask, w_query, w_keys, v):
    k = tf.tensordot(keys, w_keys, axes=1)  # (B, Tk, A)
    q = tf.tensordot(query, w_query, axes=1)  # (B, Tq, A)
    scores = tf.reduce_sum(tf.tanh(tf.expand_dims(q, 2) + tf.expand_dims(k, 1)) * v, axis=-1)  # (B, Tq, Tk)
    scores += (tf.cast(mask, scores.dtype)[:, None, :] - 1.0) * 1e9  # padding: -1e9, exp gives exactly 0
    weights = tf.nn.softmax(scores, axis=-1)
    return tf.einsum("bqk,bkd->bqd", weights, keys), weights
''',
    "build_decoder": '''# GRADED: build_decoder
def build_decoder(out_vocab, embed_dim, hidden, attention_units=0):
    from keras import layers
    previous = keras.Input(shape=(None,), dtype="int32")
    start = keras.Input(shape=(hidden,))
    inputs = [previous, start]
    gru_out, last = layers.GRU(hidden, return_sequences=True, return_state=True)(
        layers.Embedding(out_vocab, embed_dim)(previous), initial_state=[start])
    if attention_units == 0:
        return keras.Model(inputs, [layers.Dense(out_vocab)(gru_out), last])
    inputs += [keras.Input(shape=(None, hidden)), keras.Input(shape=(None,))]
    context, alignment = BahdanauAttention(attention_units)(gru_out, inputs[2], inputs[3])
    joined = layers.concatenate([gru_out, context])
    out = layers.Dense(out_vocab)(layers.Dense(hidden, activation="tanh")(joined))
    return keras.Model(inputs, [out, last, alignment])
''',
    "train_step": '''# GRADED: train_step
def train_step(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm):
    is_end = tf.cast(targets == end_id, tf.int32)
    before_first_end = tf.cumsum(is_end, axis=1) - is_end  # how many end tokens came before each position
    keep = tf.cast(before_first_end == 0, tf.float32)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    with tf.GradientTape() as tape:
        per_position = loss_fn(targets, model([x, decoder_inputs], training=True))  # (B, Ty)
        loss = tf.reduce_sum(per_position * keep) / tf.reduce_sum(keep)
    grads = tape.gradient(loss, model.trainable_variables)
    norm = tf.linalg.global_norm(grads)
    scale = tf.minimum(1.0, clip_norm / norm)
    optimizer.apply_gradients([(tf.convert_to_tensor(g) * scale, w) for g, w in zip(grads, model.trainable_variables)])
    return loss, norm
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
def beam_search(step_fn, initial_state, start_id, end_id, beam_width, max_len, alpha=0.0):
    step_fn = as_step_fn(step_fn)
    live = [(0.0, [])]  # (score, tokens) of the live hypotheses, row k of `states` is hypothesis k's
    states, done = np.asarray(initial_state), []
    for _ in range(max_len):
        last = np.array([tokens[-1] if tokens else start_id for _, tokens in live])
        log_probs, new_states = step_fn(states, last)
        options = [(score + float(lp), k, a) for k, (score, _) in enumerate(live) for a, lp in enumerate(log_probs[k])]
        options.sort(key=lambda option: -option[0])
        survivors, rows = [], []
        for score, k, a in options[:beam_width]:  # finished ones use up their slots
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
    score, tokens = max(done, key=lambda hypothesis: hypothesis[0] / len(hypothesis[1]) ** alpha)
    return np.array(tokens, dtype=np.int64), score
''',
}

# submission -> replaced cells
SUBMISSIONS = {
    "shift_by_roll": {"shift_right": SHIFT_BY_ROLL},
    "encoder_via_keras_hub": {"build_encoder": ENCODER_VIA_KERAS_HUB},
    "encoder_without_mask": {"build_encoder": ENCODER_WITHOUT_MASK},
    "attention_via_keras": {"additive_attention": ATTENTION_VIA_KERAS},
    "attention_without_mask": {"additive_attention": ATTENTION_WITHOUT_MASK},
    "decoder_via_keras_attention": {"build_decoder": DECODER_VIA_KERAS_ATTENTION},
    "decoder_without_context": {"build_decoder": DECODER_WITHOUT_CONTEXT},
    "step_via_train_on_batch": {"train_step": STEP_VIA_TRAIN_ON_BATCH},
    "step_mask_from_padding": {"train_step": STEP_MASK_FROM_PADDING},
    "step_clips_each_tensor": {"train_step": STEP_CLIPS_EACH_TENSOR},
    "accuracy_whole_rows": {"sequence_accuracy": ACCURACY_WHOLE_ROWS},
    "accuracy_via_keras": {"sequence_accuracy": ACCURACY_VIA_KERAS},
    "beam_greedy_only": {"beam_search": BEAM_GREEDY_ONLY},
    "beam_exhaustive": {"beam_search": BEAM_EXHAUSTIVE},
    "beam_keeps_width_live": {"beam_search": BEAM_KEEPS_WIDTH_LIVE},
    "beam_without_normalisation": {"beam_search": BEAM_WITHOUT_NORMALISATION},
    "beam_via_ctc": {"beam_search": BEAM_VIA_CTC},
    "honest": HONEST,
}
# submission -> (exercise that must score 0, words the message must hold besides the rule's text)
BROKEN = {
    "encoder_via_keras_hub": ("build_encoder", "keras_hub.layers.TransformerEncoder"),
    "attention_via_keras": ("additive_attention", "uses `keras.layers.AdditiveAttention`"),
    "decoder_via_keras_attention": ("build_decoder", "uses `keras.layers.AdditiveAttention`"),
    "step_via_train_on_batch": ("train_step", "keras.Model.train_on_batch"),
    "accuracy_via_keras": ("sequence_accuracy", "uses `keras.metrics.Accuracy`"),
    "beam_via_ctc": ("beam_search", "uses `tensorflow.nn.ctc_beam_search_decoder`"),
}
# submission -> (exercise, hidden cases that must fail, the most it may keep of the exercise's points); an
# attention that skips the mask also costs the decoder's padded cases, since the decoder runs it (see DEPENDS)
WRONG = {
    "shift_by_roll": ("shift_right", {"one step", "a big batch"}, 0.0),
    "encoder_without_mask": ("build_encoder", {"mostly padding"}, 0.5),
    "attention_without_mask": ("additive_attention", {"padding that would win", "unknown sizes", "gradients"}, 0.2),
    "decoder_without_context": ("build_decoder", {"attention, teacher-forced", "attention, other sizes"}, 0.6),
    "step_mask_from_padding": ("train_step", {"junk after the end", "two Adam steps, clipped",
                                              "momentum SGD, three steps"}, 0.4),
    "step_clips_each_tensor": ("train_step", {"two Adam steps, clipped", "momentum SGD, three steps"}, 0.6),
    "accuracy_whole_rows": ("sequence_accuracy", {"wider predictions", "stops early", "a mix"}, 0.5),
    "beam_greedy_only": ("beam_search", {"greedy misses the best", "slots, width 3, six tokens",
                                         "normalised, width 2"}, 0.5),
    "beam_exhaustive": ("beam_search", {"width 1 on a trap", "a narrow beam misses the best",
                                        "normalised, width 2"}, 0.7),
    "beam_keeps_width_live": ("beam_search", {"slots, width 3, six tokens"}, 0.9),
    "beam_without_normalisation": ("beam_search", {"normalised, width 2"}, 0.9),
}
DEPENDS = {"additive_attention": "build_decoder"}  # exercise -> the exercise that runs it in its cases


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    submissions = {name: ("A7", cells) for name, cells in SUBMISSIONS.items()}
    return grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("a7-rules"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(BROKEN) - {"attention_via_keras"}))
def test_a_library_shortcut_costs_its_exercise_with_the_rules_words(graded, name):
    target, words = BROKEN[name]
    assert_rule_broken(graded[name], "A7", target, words)


@pytest.mark.slow
def test_an_attention_shortcut_costs_the_attention_rule_only_not_the_decoder_that_runs_it(graded):
    """`build_decoder` runs the student's `additive_attention` (through `BahdanauAttention`), so the Keras attention
    layer there runs while the decoder's cases run as well; it is forbidden by `additive_attention`'s own rules and
    made by its code, so the rule costs `additive_attention` only, with its words. The decoder is graded on its own
    code: never charged with a rule, though the layer's different values show in its outputs, as any wrong
    attention's do (see DEPENDS); every other exercise keeps full marks."""
    result = graded["attention_via_keras"]
    target, words = BROKEN["attention_via_keras"]
    broken = exercise(result, target)
    assert broken.max_points > 0 and broken.points == 0, broken.message
    assert all(rule_text("A7", target) in c.message and words in c.message for c in broken.cases)
    decoder = exercise(result, "build_decoder")
    assert not any(rule_text("A7", "build_decoder") in c.message or "while running" in c.message
                   for c in decoder.cases), decoder.message
    assert decoder.points > 0, decoder.message
    others = [e for e in result.exercises if e.name not in (target, "build_decoder")]
    assert all(e.points == e.max_points for e in others), [(e.name, e.message) for e in others]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_shortcut_fails_hidden_cases(graded, name):
    target, must_fail, keeps_at_most = WRONG[name]
    result = graded[name]
    scored = exercise(result, target)
    failed = {c.name for c in scored.cases if not c.passed}
    assert must_fail <= failed, (failed, scored.message)
    assert scored.points <= keeps_at_most * scored.max_points + 1e-9, scored.points
    others = [e for e in result.exercises if e.name not in (target, DEPENDS.get(target))]
    assert all(e.points == e.max_points for e in others), [(e.name, e.message) for e in others]


@pytest.mark.slow
def test_honest_variants_keep_full_marks(graded):
    assert_full_marks(graded["honest"])


EXERCISES = {"shift_right", "build_encoder", "additive_attention", "build_decoder", "train_step",
             "sequence_accuracy", "beam_search"}


def test_every_exercise_has_rules_points_hidden_cases_and_says_so_before_the_grade():
    assignment = load_assignment(SOLUTION)
    assert {e.name for e in assignment.exercises} == EXERCISES
    for ex in assignment.exercises:
        assert ex.rules and ex.worth, f"{ex.name}: rules and worth must be set"
        assert any(c.hidden for c in ex.cases) and any(not c.hidden for c in ex.cases), ex.name
        assert all(abs(ex.case_points(c) * 10 - round(ex.case_points(c) * 10)) < 1e-9 for c in ex.cases), ex.name
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


def _every_completion(tables: dict, alpha: float, limit: int = 4) -> list[tuple[float, list[int]]]:
    """Every sequence that ends with the end token (1) or at `limit` tokens, with its normalised score."""
    complete = []

    def walk(state, token, seq, score):
        if seq and (seq[-1] == 1 or len(seq) == limit):
            complete.append((score / len(seq) ** alpha, seq))
            return
        s = tables["next_state"][state, token]
        for a, lp in enumerate(tables["log_probs"][s]):
            walk(s, a, seq + [a], score + lp)

    walk(0, 0, [], 0.0)
    return complete


def test_reference_beam_picks_the_best_normalised_score_among_what_a_wide_beam_finishes():
    """With a beam wide enough to keep every hypothesis, the winner is the best score / length ** alpha of all
    complete sequences, found here by enumerating them independently of the beam."""
    ns = reference_namespace()
    rng = np.random.default_rng(11)
    for alpha in (0.5, 1.0):
        for _ in range(20):
            tables = ns["toy_tables"](rng, 5, 3, 1, end_shift=1.0)
            complete = _every_completion(tables, alpha)
            tokens, _ = ns["beam_search"](tables, np.zeros(1, np.int64), 0, 1, 3 ** 4, 4, alpha)
            assert tokens.tolist() == max(complete, key=lambda c: c[0])[1]


def test_the_trap_cases_are_traps():
    """Where a case is a trap, the reference's answer differs from what the shortcut it targets returns."""
    ns = reference_namespace()
    assignment = load_assignment(SOLUTION)
    ex = assignment.exercise("beam_search")
    greedy_traps = ("greedy misses the best", "width 1 on a trap")
    beam_traps = ("a narrow beam misses the best",)
    live_traps = ("finished hypotheses use up slots", "slots, width 3, six tokens")
    norm_traps = ("length normalisation changes the winner", "normalised, width 2")
    for name in greedy_traps + beam_traps + live_traps + norm_traps:
        case = next(c for c in ex.cases if c.name == name)
        tables, state, start_id, end_id, width, max_len, alpha = case_args("A7", ex, case)
        greedy, best = ns["toy_greedy_and_best"](tables, start_id, end_id, max_len)
        tokens, _ = ns["beam_search"](tables, state, start_id, end_id, width, max_len, alpha)
        assert tokens.tolist() == ns["toy_beam"](tables, start_id, end_id, width, max_len, alpha), name
        if name == "width 1 on a trap":
            assert greedy != best and tokens.tolist() == greedy, name
        elif name in greedy_traps:
            assert greedy != best, name
        elif name in beam_traps:
            assert tokens.tolist() != best, name
        elif name in live_traps:
            assert tokens.tolist() != ns["toy_beam"](tables, start_id, end_id, width, max_len, alpha, True), name
        else:
            assert tokens.tolist() != ns["toy_beam"](tables, start_id, end_id, width, max_len, 0.0), name


CHECKED = {  # the same shortcuts in a student's kernel: check says what the grader will
    "sequence_accuracy": (ACCURACY_VIA_KERAS, "uses `keras.metrics.Accuracy`"),
    "beam_search": (BEAM_VIA_CTC, "uses `tensorflow.nn.ctc_beam_search_decoder`"),
    "additive_attention": (ATTENTION_VIA_KERAS, "uses `keras.layers.AdditiveAttention`"),
    "build_decoder": (DECODER_VIA_KERAS_ATTENTION, "uses `keras.layers.AdditiveAttention`"),
}


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_check_refuses_the_shortcut_in_the_students_kernel(name):
    cell, words = CHECKED[name]
    report = check(name, "A7", kernel_with("A7", name, cell), quiet=True)
    assert report.passed == 0 and report.total > 0
    assert rule_text("A7", name) in str(report) and words in str(report), str(report)
