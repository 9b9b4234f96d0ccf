"""A6's grading probes: exercises whose first arguments are objects, not plain data.

A case's arguments cross the process boundary as plain data (numbers, arrays,
dicts), but two of A6's exercises take objects: `generate(step, ...)` takes a
language model's step function and `train_step(model, optimizer, ...)` a Keras
model and optimizer. The probes here build those objects from a plain
description in the student's process, call the student's function, and send back
plain data, like `autograder.probes.probe_call`:

- `"step_model"`: the first positional argument is `{"table": (V, V), "mix": float}`,
  turned into the notebook's own toy model (`ToyLM`, defined in the lesson's set-up
  cell, so that the student's loop calls nothing from `course` while it runs);
- `"train_step"`: the first two arguments describe a small Keras language model
  (`Embedding -> GRU -> Dense`, deterministic weights) and an optimizer; the
  student's step runs `steps` times on the same batch, and the probe returns the
  losses, the norms and the weights after the last step.

`register_probes(ToyLM)` adds both to `autograder.probes.PROBES`; the lesson's
set-up cell calls it, so they exist in the student's kernel (for `check`), in the
grader's sandbox and in the reference's run alike.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def _function_and_args(namespace: dict, call: dict) -> tuple[Callable, list]:
    """The student's function and the case's arguments, arrays as plain numpy arrays."""
    from autograder.lookup import find_function
    from autograder.probes import as_argument

    return find_function(namespace, call["function"]), [as_argument(a, tensors=False) for a in call.get("args", [])]


def step_model_probe(model_class: Callable[..., Any]) -> Callable[[dict, dict], dict]:
    """A probe calling `function(model_class(**args[0]), *args[1:])`.

    Args:
        model_class: builds the step model from the case's first argument (a dict).
    """

    def probe(namespace: dict, call: dict) -> dict:
        from autograder.plain import to_plain

        fn, args = _function_and_args(namespace, call)
        if not args or not isinstance(args[0], dict):
            raise ValueError("the case's first argument must describe the model as a dict")
        model = model_class(**args[0])
        return {"value": to_plain(fn(model, *args[1:]))}

    return probe


def small_lm(vocab_size: int, embed_dim: int, hidden: int) -> Any:
    """A small next-token model with deterministic weights, for grading a training step.

    `Embedding -> GRU -> Dense`, (B, T) ids to (B, T, V) logits: one layer, no
    dropout, a `Sequential`, so that this module (which ships to students) does
    not hold the code of A6's `build_char_lm`.
    """
    import keras

    from autograder.model_probe import deterministic_weights

    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, embed_dim),
        keras.layers.GRU(hidden, return_sequences=True),
        keras.layers.Dense(vocab_size),
    ])
    deterministic_weights(model)
    return model


def train_step_probe(namespace: dict, call: dict) -> dict:
    """Runs `function(model, optimizer, x, y, clip_norm)` `steps` times on one batch.

    The case's arguments are `[model spec, optimizer spec, x, y, clip_norm, steps]`:
    the model spec holds `small_lm`'s keyword arguments, the optimizer spec a Keras
    optimizer's `{"class_name", "config"}`.

    Returns:
        `{"value": {"loss": [...], "grad_norm": [...], "weights": [...]}}`: one loss and
        one norm per step (floats), and every weight after the last step.
    """
    import keras
    import tensorflow as tf

    from autograder.plain import to_plain

    fn, args = _function_and_args(namespace, call)
    model_spec, optimizer_spec, x, y, clip_norm, steps = args
    model = small_lm(**model_spec)
    optimizer = keras.optimizers.get({"class_name": optimizer_spec["class_name"],
                                      "config": dict(optimizer_spec["config"])})
    x, y = tf.constant(x), tf.constant(y)
    losses, norms = [], []
    for _ in range(int(steps)):
        out = fn(model, optimizer, x, y, clip_norm)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"`{call['function']}` must return (loss, grad_norm), got {type(out).__name__}")
        losses.append(float(np.asarray(out[0])))
        norms.append(float(np.asarray(out[1])))
    weights = [np.asarray(w.numpy()) for w in model.weights]
    return {"value": to_plain({"loss": losses, "grad_norm": norms, "weights": weights})}


def register_probes(model_class: Callable[..., Any]) -> None:
    """Adds the `"step_model"` (with `model_class`) and `"train_step"` probes to the grader's."""
    from autograder.probes import PROBES

    PROBES["step_model"] = step_model_probe(model_class)
    PROBES["train_step"] = train_step_probe
