"""A6's probes: exercises whose first arguments are objects, not plain data (run inside the job).

A case's arguments cross the process boundary as plain data (numbers, arrays,
dicts), but two of A6's exercises take objects: `generate(step, ...)` takes a
language model's step function and `train_step(model, optimizer, ...)` a Keras
model and optimizer. These probes build those objects from a plain description
in the student's process, call the student's function and send back plain data,
like the built-in `"call"` probe. A6's `# CASES` cell names them by import path:

- `probe="autograder.run.probes.lm:step_model"`: the first positional argument
  is `{"table": (V, V), "mix": float}`, turned into the lesson's toy model
  `ToyLM`, which A6's set-up cell defines in the notebook (so that the
  student's loop calls nothing from `course` while it runs);
- `probe="autograder.run.probes.lm:train_step"`: the first two arguments
  describe a small Keras language model (`Embedding -> GRU -> Dense`,
  deterministic weights) and an optimizer; the student's step runs `steps`
  times on the same batch, and the probe returns the losses, the norms and the
  weights after the last step.
"""

from __future__ import annotations

from typing import Any, Callable

from autograder.run.probes.training import optimizer_from, run_steps

MODEL_CLASS = "ToyLM"
"""The name of the step model's class in the notebook's namespace (defined by A6's set-up cell)."""


def _function_and_args(namespace: dict, call: dict) -> tuple[Callable, list]:
    """The student's function and the case's arguments, arrays as plain numpy arrays."""
    from autograder.run.probes.lookup import find_function
    from autograder.run.probes.call import as_argument

    return find_function(namespace, call["function"]), [as_argument(a, tensors=False) for a in call.get("args", [])]


def step_model(namespace: dict, call: dict, model_class: Callable[..., Any] | None = None) -> dict:
    """Calls `function(ToyLM(**args[0]), *args[1:])` and returns its value as plain data.

    Args:
        namespace: where the notebook's cells ran; its `ToyLM` builds the model.
        call: the case (`autograder.authoring.spec.call_spec`).
        model_class: builds the step model instead of the namespace's `ToyLM` (for tests).

    Raises:
        ValueError: the first argument is not a dict, or no model class is defined.
    """
    from autograder.run.plain import to_plain

    fn, args = _function_and_args(namespace, call)
    if not args or not isinstance(args[0], dict):
        raise ValueError(f"the case's first argument must describe the model as a dict; got "
                         f"{type(args[0]).__name__ if args else 'no argument'}")
    build = model_class if model_class is not None else namespace.get(MODEL_CLASS)
    if not callable(build):
        raise ValueError(f"`{MODEL_CLASS}` is not defined: run the notebook's set-up cell, which defines it")
    return {"value": to_plain(fn(build(**args[0]), *args[1:]))}


def small_lm(vocab_size: int, embed_dim: int, hidden: int) -> Any:
    """A small next-token model with deterministic weights, for grading a training step.

    `Embedding -> GRU -> Dense`, (B, T) ids to (B, T, V) logits: one layer, no
    dropout, a `Sequential`, so that the grader does not hold the code of A6's
    `build_char_lm`.

    Example:

    >>> small_lm(5, 2, 3).output_shape
    (None, None, 5)
    """
    import keras

    from autograder.run.probes.model import deterministic_weights

    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, embed_dim),
        keras.layers.GRU(hidden, return_sequences=True),
        keras.layers.Dense(vocab_size),
    ])
    deterministic_weights(model)
    return model


def train_step(namespace: dict, call: dict) -> dict:
    """Runs `function(model, optimizer, x, y, clip_norm)` `steps` times on one batch.

    The case's arguments are `[model spec, optimizer spec, x, y, clip_norm, steps]`:
    the model spec holds `small_lm`'s keyword arguments, the optimizer spec a Keras
    optimizer's `{"class_name", "config"}`.

    Returns:
        `{"value": {"loss": [...], "grad_norm": [...], "weights": [...]}}`: one loss and
        one norm per step (floats), and every weight after the last step.

    Raises:
        TypeError: the student's function does not return a pair.
    """
    import tensorflow as tf


    fn, args = _function_and_args(namespace, call)
    model_spec, optimizer_spec, x, y, clip_norm, steps = args
    model = small_lm(**model_spec)
    optimizer = optimizer_from(optimizer_spec)
    x, y = tf.constant(x), tf.constant(y)
    return run_steps(lambda: fn(model, optimizer, x, y, clip_norm), steps, call["function"], model)
