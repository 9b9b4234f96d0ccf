"""A7's grading probe for the teacher-forced training step of an encoder-decoder.

A case's arguments cross the process boundary as plain data, but A7's
`train_step(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm)`
takes a Keras model and an optimizer. The probe here builds both from a plain
description inside the process that runs the student's code, calls the step
`steps` times on one batch and sends back plain data: the losses, the global
gradient norms and every weight after the last step. A7's `# CASES` cell names
it by import path, `probe="autograder.run.probes.seq2seq:train_step"`.

The model is deliberately not A7's own encoder-decoder (whose layers the student
builds in graded exercises): it is a small two-input Keras model that maps
source ids `(B, Tx)` and decoder input ids `(B, Ty)` to logits `(B, Ty, V)`, with
deterministic weights, so that two correct steps agree to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.run.probes.training import optimizer_from, run_steps


def small_seq2seq(in_vocab: int, out_vocab: int, embed_dim: int, hidden: int) -> Any:
    """A small conditional next-token model with deterministic weights.

    The source is embedded and averaged into one vector, which (through a
    `tanh` layer) starts a `SimpleRNN` over the embedded decoder inputs; a
    `Dense` layer gives the logits. Every weight is set by position, so the
    model is the same in every process.

    Args:
        in_vocab: source vocabulary size.
        out_vocab: target vocabulary size, V.
        embed_dim: embedding size on both sides.
        hidden: size of the recurrent state.

    Returns:
        A `keras.Model` mapping `[x (B, Tx) int32, decoder_inputs (B, Ty) int32]`
        to logits `(B, Ty, V)`.

    Example:

    >>> small_seq2seq(7, 5, 3, 4).output_shape
    (None, None, 5)
    """
    import keras

    x = keras.Input(shape=(None,), dtype="int32", name="source")
    decoder_inputs = keras.Input(shape=(None,), dtype="int32", name="previous")
    summary = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(in_vocab, embed_dim)(x))  # (B, E)
    start = keras.layers.Dense(hidden, activation="tanh")(summary)  # (B, H)
    states = keras.layers.SimpleRNN(hidden, return_sequences=True)(
        keras.layers.Embedding(out_vocab, embed_dim)(decoder_inputs), initial_state=start)  # (B, Ty, H)
    model = keras.Model([x, decoder_inputs], keras.layers.Dense(out_vocab)(states))  # (B, Ty, V)
    for j, weight in enumerate(model.weights):  # the same values in every process
        shape = tuple(int(s) for s in weight.shape)
        size = int(np.prod(shape)) if shape else 1
        values = 0.4 * np.sin(1.3 * np.arange(size) + j) / np.sqrt(max(shape[-1] if shape else 1, 1))
        weight.assign(values.reshape(shape).astype(weight.dtype))
    return model


def train_step(namespace: dict, call: dict) -> dict:
    """Runs `function(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm)` `steps` times.

    The case's arguments are `[model spec, optimizer spec, x, decoder_inputs,
    targets, end_id, clip_norm, steps]`: the model spec holds `small_seq2seq`'s
    keyword arguments, the optimizer spec a Keras optimizer's
    `{"class_name", "config"}`. The arrays reach the student's step as tensors,
    as they do under `tf.function` in the notebook.

    Args:
        namespace: where the notebook's cells ran (the student's function is looked up there).
        call: the case, as `autograder.authoring.spec.call_spec` describes it.

    Returns:
        `{"value": {"loss": [...], "grad_norm": [...], "weights": [...]}}` in plain data:
        one loss and one norm per step (floats), and every weight after the last step.

    Raises:
        TypeError: the student's function does not return a pair.
    """
    import tensorflow as tf

    from autograder.run.probes.lookup import find_function
    from autograder.run.probes.call import as_argument

    fn = find_function(namespace, call["function"])
    args = [as_argument(a, tensors=False) for a in call.get("args", [])]
    model_spec, optimizer_spec, x, decoder_inputs, targets, end_id, clip_norm, steps = args
    model = small_seq2seq(**model_spec)
    optimizer = optimizer_from(optimizer_spec)
    x, decoder_inputs, targets = tf.constant(x), tf.constant(decoder_inputs), tf.constant(targets)
    return run_steps(lambda: fn(model, optimizer, x, decoder_inputs, targets, int(end_id), float(clip_norm)),
                     steps, call["function"], model)
