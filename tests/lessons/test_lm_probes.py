"""A6's probes: objects built from plain data, the student's function called, plain data back."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import probes
from autograder.plain import from_plain, to_plain
from course.lessons.lm_probes import register_probes, small_lm, step_model_probe, train_step_probe


class Echo:
    """A stand-in model class: remembers what it was built from."""

    def __init__(self, table, mix=0.5):
        self.table, self.mix = np.asarray(table), mix


def test_the_step_model_probe_builds_the_model_from_the_first_argument():
    def generate(model, prompt, n):
        return np.full((len(prompt), n), model.table.sum() + model.mix)

    call = {"function": "generate", "args": [to_plain({"table": np.eye(3), "mix": 0.25}),
                                             to_plain(np.zeros((2, 1), np.int32)), 4]}
    value = from_plain(step_model_probe(Echo)({"generate": generate}, call)["value"])
    np.testing.assert_allclose(value, np.full((2, 4), 3.25))


def test_the_step_model_probe_wants_a_model_description():
    call = {"function": "f", "args": [to_plain(np.zeros(3))]}
    with pytest.raises(ValueError, match="describe the model"):
        step_model_probe(Echo)({"f": lambda *a: 0}, call)


def _train_call(steps):
    spec = {"vocab_size": 5, "embed_dim": 2, "hidden": 3}
    optimizer = {"class_name": "SGD", "config": {"learning_rate": 0.1}}
    x = np.array([[1, 2, 3], [4, 0, 1]], np.int32)
    return {"function": "train_step", "args": [to_plain(v) for v in (spec, optimizer, x, x, 1.0, steps)]}


def test_the_train_step_probe_returns_losses_norms_and_weights():
    seen = []

    def train_step(model, optimizer, x, y, clip_norm):
        seen.append((type(optimizer).__name__, tuple(x.shape), clip_norm))
        for w in model.trainable_variables:
            w.assign_add(np.ones(w.shape, np.float32))
        return 1.5, 2.5

    value = from_plain(train_step_probe({"train_step": train_step}, _train_call(2))["value"])
    assert value["loss"] == [1.5, 1.5] and value["grad_norm"] == [2.5, 2.5]
    assert seen == [("SGD", (2, 3), 1.0)] * 2
    reference = small_lm(5, 2, 3)  # the same deterministic weights, before the two steps
    for after, before in zip(value["weights"], reference.weights):
        np.testing.assert_allclose(after, np.asarray(before) + 2.0, rtol=1e-6)


def test_the_train_step_probe_wants_a_pair():
    with pytest.raises(TypeError, match=r"\(loss, grad_norm\)"):
        train_step_probe({"train_step": lambda *a: 0.0}, _train_call(1))


def test_register_probes_adds_both(monkeypatch):
    monkeypatch.setattr(probes, "PROBES", dict(probes.PROBES))
    register_probes(Echo)
    assert {"call", "model", "step_model", "train_step"} <= set(probes.PROBES)
