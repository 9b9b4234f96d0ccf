"""A6's probes: objects built from plain data, the student's function called, plain data back."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.run.probes import call as probes
from autograder.run.plain import from_plain, to_plain
from autograder.run.probes import lm
from autograder.run.probes.lm import small_lm, step_model, train_step


class Echo:
    """A stand-in model class: remembers what it was built from."""

    def __init__(self, table, mix=0.5):
        self.table, self.mix = np.asarray(table), mix


def _generate(model, prompt, n):
    return np.full((len(prompt), n), model.table.sum() + model.mix)


def _toy_call():
    return {"function": "generate", "args": [to_plain({"table": np.eye(3), "mix": 0.25}),
                                             to_plain(np.zeros((2, 1), np.int32)), 4]}


def test_the_step_model_probe_builds_the_notebooks_model_from_the_first_argument():
    value = from_plain(step_model({"generate": _generate, "ToyLM": Echo}, _toy_call())["value"])
    np.testing.assert_allclose(value, np.full((2, 4), 3.25))


def test_the_step_model_probe_takes_an_explicit_model_class():
    value = from_plain(step_model({"generate": _generate}, _toy_call(), model_class=Echo)["value"])
    np.testing.assert_allclose(value, np.full((2, 4), 3.25))


def test_the_step_model_probe_says_when_the_set_up_cell_did_not_run():
    with pytest.raises(ValueError, match="`ToyLM` is not defined"):
        step_model({"generate": _generate}, _toy_call())


def test_the_step_model_probe_wants_a_model_description():
    call = {"function": "f", "args": [to_plain(np.zeros(3))]}
    with pytest.raises(ValueError, match="describe the model"):
        step_model({"f": lambda *a: 0, "ToyLM": Echo}, call)


def _train_call(steps):
    spec = {"vocab_size": 5, "embed_dim": 2, "hidden": 3}
    optimizer = {"class_name": "SGD", "config": {"learning_rate": 0.1}}
    x = np.array([[1, 2, 3], [4, 0, 1]], np.int32)
    return {"function": "train_step", "args": [to_plain(v) for v in (spec, optimizer, x, x, 1.0, steps)]}


def test_the_train_step_probe_returns_losses_norms_and_weights():
    seen = []

    def student_step(model, optimizer, x, y, clip_norm):
        seen.append((type(optimizer).__name__, tuple(x.shape), clip_norm))
        for w in model.trainable_variables:
            w.assign_add(np.ones(w.shape, np.float32))
        return 1.5, 2.5

    value = from_plain(train_step({"train_step": student_step}, _train_call(2))["value"])
    assert value["loss"] == [1.5, 1.5] and value["grad_norm"] == [2.5, 2.5]
    assert seen == [("SGD", (2, 3), 1.0)] * 2
    reference = small_lm(5, 2, 3)  # the same deterministic weights, before the two steps
    for after, before in zip(value["weights"], reference.weights):
        np.testing.assert_allclose(after, np.asarray(before) + 2.0, rtol=1e-6)


def test_the_train_step_probe_wants_a_pair():
    with pytest.raises(TypeError, match=r"\(loss, grad_norm\)"):
        train_step({"train_step": lambda *a: 0.0}, _train_call(1))


def test_a_case_names_a_probe_by_import_path():
    namespace = {"generate": _generate, "ToyLM": Echo}
    value = probes.run_call(namespace, {**_toy_call(), "probe": "autograder.run.probes.lm:step_model"})["value"]
    np.testing.assert_allclose(from_plain(value), np.full((2, 4), 3.25))
    assert probes.resolve_probe("autograder.run.probes.lm:train_step") is lm.train_step
    assert probes.resolve_probe("call") is probes.probe_call


@pytest.mark.parametrize("name, match", [
    ("step_model", "Unknown probe"),  # short names are only the built-in ones
    ("autograder.run.probes.lm:nothing", "could not be loaded"),
    ("no.such.module:probe", "could not be loaded"),
    ("autograder.run.probes.lm:MODEL_CLASS", "not a function"),
])
def test_an_unknown_probe_is_refused_with_what_was_expected(name, match):
    with pytest.raises(ValueError, match=match):
        probes.resolve_probe(name)


def test_the_built_in_probes_cannot_be_edited_at_run_time():
    with pytest.raises(TypeError):
        probes.BUILT_IN["step_model"] = lm.step_model  # type: ignore[index]
