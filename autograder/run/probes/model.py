"""The `model` probe: a Keras model builder judged by structure and by outputs.

A builder exercise returns a `keras.Model`. Printed summaries change between
Keras versions, so the probe describes the model itself: one line per layer
with the settings that define it (kind, units, return_sequences, mask_zero,
merge_mode, ...) and the parameter count. It then gives every weight the same
deterministic values (by position in `model.weights`) and runs the model on
the case's inputs, so two builders agree only if they compute the same thing.

A case for this probe has `probe="model"` and `make_args` returning
`{"build": {builder keyword arguments}, "inputs": array or list of arrays}`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.run.probes.lookup import find_function
from autograder.run.plain import from_plain, to_plain

# Config keys that define what a layer computes, in the order they are shown.
DEFINING_KEYS = (
    "units", "input_dim", "output_dim", "mask_zero", "filters", "kernel_size", "pool_size",
    "activation", "recurrent_activation", "return_sequences", "return_state", "go_backwards",
    "reset_after", "use_bias", "rate", "merge_mode", "axis", "n", "max_tokens",
    "output_sequence_length", "output_mode",
)
# Values not shown because they are the usual default (a difference still shows).
QUIET_DEFAULTS = {
    "return_state": False, "go_backwards": False, "reset_after": True, "use_bias": True,
    "recurrent_activation": "sigmoid", "axis": -1,
}
SKIPPED_LAYERS = ("InputLayer",)


def _describe_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_describe_value(v) for v in value) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def describe_layer(layer: Any) -> str:
    """`Kind(key=value, ...)`, with wrapped layers described inside."""
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - a custom layer may not implement it
        config = {}
    parts = [
        f"{key}={_describe_value(config[key])}"
        for key in DEFINING_KEYS
        if key in config and not isinstance(config[key], dict)
        and not (key in QUIET_DEFAULTS and config[key] == QUIET_DEFAULTS[key])
    ]
    inner = [getattr(layer, name) for name in ("forward_layer", "layer") if hasattr(layer, name)]
    if inner:
        parts.insert(0, describe_layer(inner[0]))
    return f"{type(layer).__name__}({', '.join(parts)})"


def model_structure(model: Any) -> dict:
    """Layers (in order, input layers left out) and parameter counts."""
    layers = [describe_layer(layer) for layer in model.layers if type(layer).__name__ not in SKIPPED_LAYERS]
    return {
        "layers": layers,
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "total_params": int(sum(np.prod(w.shape) for w in model.weights)),
    }


def deterministic_weights(model: Any) -> None:
    """Sets weight j to 0.4 * sin(1.3 * arange(size) + j) / sqrt(last dim)."""
    for j, weight in enumerate(model.weights):
        shape = tuple(int(s) for s in weight.shape)
        size = int(np.prod(shape)) if shape else 1
        values = 0.4 * np.sin(1.3 * np.arange(size) + j) / np.sqrt(max(shape[-1] if shape else 1, 1))
        weight.assign(values.reshape(shape).astype(weight.dtype))


def probe_model(namespace: dict, call: dict) -> dict:
    """Builds the student's model and reports its structure and outputs.

    Returns:
        `{"value": {"structure": ..., "outputs": ...}}` in plain data.
    """
    import keras

    fn = find_function(namespace, call["function"])
    spec = {k: from_plain(v) for k, v in (call.get("kwargs") or {}).items()}
    build = spec.get("build") or {}
    inputs = spec.get("inputs")
    keras.utils.set_random_seed(int(call.get("seed", 0)) % 2**32)
    model = fn(**build)
    if not isinstance(model, keras.Model):
        raise TypeError(f"`{call['function']}` should return a keras.Model; it returned {type(model).__name__}")
    if isinstance(inputs, (list, tuple)):
        inputs = [np.asarray(x) for x in inputs]
    elif inputs is not None:
        inputs = np.asarray(inputs)
    if not model.built and inputs is not None:
        model(inputs)
    structure = model_structure(model)
    deterministic_weights(model)
    outputs = model(inputs, training=False) if inputs is not None else None
    return {"value": to_plain({"structure": structure, "outputs": outputs})}
