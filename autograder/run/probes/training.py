"""Running a student's training step on a model the probe built (inside the job).

Shared by the lesson probes whose exercise is one optimisation step
(`lm.train_step`, `seq2seq.train_step`): the step runs `steps` times, and
what it returned and what it did to the weights come back as plain data.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def optimizer_from(spec: dict) -> Any:
    """A fresh Keras optimizer from its plain description (`class_name`, `config`)."""
    import keras

    return keras.optimizers.get({"class_name": spec["class_name"], "config": dict(spec["config"])})


def run_steps(step: Callable[[], Any], steps: int, function: str, model: Any) -> dict:
    """Calls `step()` `steps` times; its losses, gradient norms and the weights after the last step.

    Raises:
        TypeError: the student's function does not return a (loss, grad_norm) pair.
    """
    from autograder.run.plain import to_plain

    losses, norms = [], []
    for _ in range(int(steps)):
        out = step()
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"`{function}` must return (loss, grad_norm), got {type(out).__name__}")
        losses.append(float(np.asarray(out[0])))
        norms.append(float(np.asarray(out[1])))
    weights = [np.asarray(w.numpy()) for w in model.weights]
    return {"value": to_plain({"loss": losses, "grad_norm": norms, "weights": weights})}
