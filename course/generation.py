"""One-to-many generation from a trained recurrent language model.

A language model is trained many-to-many (at every position it predicts the next
token), but it writes one-to-many: it reads a prompt once, then repeatedly picks
a next token and feeds it back as the following input, carrying its recurrent
state from step to step instead of rereading the whole text.

- `RecurrentStepper` wraps a Keras model built as `Embedding -> recurrent layers
  (GRU, LSTM or SimpleRNN, return_sequences=True) -> Dense`, with any `Dropout`
  layers in between, into a function `(ids, states) -> (logits, states)`.
- `generate` runs the one-to-many loop with any sampler, for example temperature
  sampling or `greedy`.

Example:

```python
stepper = RecurrentStepper(model)
new_ids = generate(stepper, prompt_ids=[[5, 9, 2]], num_steps=100,
                   sampler=lambda logits, step: greedy(logits))
```
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

RECURRENT_LAYERS = (keras.layers.GRU, keras.layers.LSTM, keras.layers.SimpleRNN)
Sampler = Callable[[np.ndarray, int], Any]


def greedy(logits: Any) -> np.ndarray:
    """The most likely token of each row (temperature 0).

    Args:
        logits: scores of shape `(B, V)`.

    Returns:
        An int64 numpy array of shape `(B,)`.
    """
    scores = np.asarray(logits)
    if scores.ndim != 2:
        raise ValueError(f"`logits` must have shape (B, V), got shape {scores.shape}.")
    return np.argmax(scores, axis=-1).astype(np.int64)


class RecurrentStepper:
    """Runs a recurrent language model chunk by chunk, carrying its states.

    The model must be a sequence of layers: one `Embedding`, then any number of
    `GRU`, `LSTM` or `SimpleRNN` layers with `return_sequences=True` (optionally
    separated by `Dropout`, which is skipped: generation is inference), then one
    `Dense` read-out giving logits. Each recurrent layer gets a twin with
    `return_state=True` holding a copy of its weights, so the stepper reflects the
    model's weights at construction time: build a new stepper after more training.

    Calling the stepper on a prompt and then on each new token one by one gives the
    same logits as running the model on the whole text at once.

    Args:
        model: the trained Keras model, mapping token ids `(B, T)` to logits `(B, T, V)`.

    Call arguments:
        ids: token ids of shape `(B, T)` (any T >= 1).
        states: the list returned by the previous call, or `None` to start from
            zero states.

    Returns:
        `(logits, states)`: logits of shape `(B, T, V)` (a tensor) and the new states,
        a list with one entry per recurrent layer (a tensor for GRU and SimpleRNN, a
        list `[h, c]` for LSTM).
    """

    def __init__(self, model: keras.Model):
        if not isinstance(model, keras.Model):
            raise TypeError(f"`model` must be a keras.Model, got {type(model).__name__}.")
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        kinds = [type(layer).__name__ for layer in layers]
        body = [layer for layer in layers if not isinstance(layer, keras.layers.Dropout)]
        expected = "Embedding, then GRU/LSTM/SimpleRNN layers (Dropout allowed between), then Dense"
        if (len(body) < 3 or not isinstance(body[0], keras.layers.Embedding)
                or not isinstance(body[-1], keras.layers.Dense)
                or not all(isinstance(layer, RECURRENT_LAYERS) for layer in body[1:-1])):
            raise ValueError(f"`model` must be {expected}; got layers {kinds}.")
        if not model.built:
            raise ValueError("`model` is not built: call it on a batch of ids (or train it) first.")
        for layer in body[1:-1]:
            config = layer.get_config()
            if not config.get("return_sequences") or config.get("go_backwards") or config.get("stateful"):
                raise ValueError(
                    f"recurrent layer {layer.name!r} must run forwards with return_sequences=True and "
                    f"stateful=False to generate, got return_sequences={config.get('return_sequences')}, "
                    f"go_backwards={config.get('go_backwards')}, stateful={config.get('stateful')}.")
        self.embedding, self.readout = body[0], body[-1]
        self.recurrent = [self._twin(layer) for layer in body[1:-1]]
        self._call = tf.function(self._run, reduce_retracing=True)

    @staticmethod
    def _twin(layer: keras.layers.Layer) -> keras.layers.Layer:
        """A copy of `layer` (same weights) that also returns its final states."""
        config = {**layer.get_config(), "return_sequences": True, "return_state": True}
        for key in ("name", "dropout", "recurrent_dropout", "seed"):
            config.pop(key, None)
        twin = type(layer).from_config(config)
        twin.build((None, None, int(layer.cell.kernel.shape[0])))  # (B, T, D)
        twin.set_weights(layer.get_weights())
        return twin

    def _run(self, ids: tf.Tensor, states: list) -> tuple[tf.Tensor, list]:
        x = self.embedding(ids)  # (B, T, E)
        new_states = []
        for layer, state in zip(self.recurrent, states):
            initial = state if isinstance(state, (list, tuple)) else [state]
            outputs = layer(x, initial_state=list(initial))  # [(B, T, H), final state(s)]
            x, finals = outputs[0], list(outputs[1:])
            new_states.append(finals if len(finals) > 1 else finals[0])
        return self.readout(x), new_states  # (B, T, V), one entry per layer

    def zero_states(self, batch_size: int) -> list:
        """Zero initial states for a batch of `batch_size` sequences."""
        states = []
        for layer in self.recurrent:
            zeros = tf.zeros((batch_size, layer.units))  # (B, H)
            states.append([zeros, tf.zeros_like(zeros)] if isinstance(layer, keras.layers.LSTM) else zeros)
        return states

    def __call__(self, ids: Any, states: list | None = None) -> tuple[tf.Tensor, list]:
        ids = tf.convert_to_tensor(ids)
        if ids.shape.rank != 2 or not ids.dtype.is_integer:
            raise ValueError(f"`ids` must be integer token ids of shape (B, T), got {ids.dtype.name} {ids.shape}.")
        if ids.shape[1] == 0:
            raise ValueError("`ids` must hold at least one time step, got T = 0.")
        if states is None:
            states = self.zero_states(int(ids.shape[0]))
        elif len(states) != len(self.recurrent):
            raise ValueError(f"`states` must hold one entry per recurrent layer ({len(self.recurrent)}), "
                             f"got {len(states)}.")
        return self._call(tf.cast(ids, tf.int32), states)


def generate(stepper: Callable[[Any, list | None], tuple[Any, list]], prompt_ids: Sequence[Sequence[int]] | np.ndarray,
             num_steps: int, sampler: Sampler, suppress_ids: Sequence[int] = ()) -> np.ndarray:
    """Writes `num_steps` new tokens after a prompt, one at a time (one-to-many).

    The prompt is read in one call; its last logits give the first new token. Each new
    token is then fed back alone, with the states carried over, to get the next one.

    Args:
        stepper: `(ids (B, T), states or None) -> (logits (B, T, V), states)`, such as a
            `RecurrentStepper`.
        prompt_ids: the prompts' token ids, shape `(B, P)` with P >= 1 (all of one length).
        num_steps: how many tokens to write (>= 0).
        sampler: `sampler(logits, step) -> ids`: logits of the next token, a float numpy
            array `(B, V)`, and the step number 0, 1, ...; returns `B` token ids.
            Derive a per-step seed from `step` to make sampling reproducible.
        suppress_ids: ids never to write (such as padding or `<unk>`): their logits are
            set to -1e9 before sampling.

    Returns:
        The new token ids, an int64 numpy array of shape `(B, num_steps)` (the prompt
        not included).
    """
    prompt = np.asarray(prompt_ids)
    if prompt.ndim != 2 or prompt.shape[1] < 1 or not np.issubdtype(prompt.dtype, np.integer):
        raise ValueError(f"`prompt_ids` must be integer ids of shape (B, P) with P >= 1, got "
                         f"dtype {prompt.dtype} and shape {prompt.shape}.")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
        raise ValueError(f"`num_steps` must be an int >= 0, got {num_steps!r}.")
    if not callable(sampler):
        raise TypeError(f"`sampler` must be callable as sampler(logits, step), got {type(sampler).__name__}.")
    batch = prompt.shape[0]
    out = np.zeros((batch, int(num_steps)), np.int64)  # (B, num_steps)
    if num_steps == 0:
        return out
    logits, states = stepper(prompt.astype(np.int32), None)  # (B, P, V)
    for step in range(int(num_steps)):
        last = np.array(logits[:, -1, :], dtype=np.float64)  # (B, V)
        if len(suppress_ids):
            last[:, list(suppress_ids)] = -1e9
        ids = np.asarray(sampler(last, step)).reshape(-1)
        if ids.shape != (batch,) or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"`sampler` must return {batch} integer ids, got dtype {ids.dtype} and shape {ids.shape}.")
        if ids.min() < 0 or ids.max() >= last.shape[-1]:
            raise ValueError(f"`sampler` returned ids outside [0, {last.shape[-1]}): {ids.tolist()}.")
        out[:, step] = ids
        if step + 1 < num_steps:
            logits, states = stepper(ids[:, None].astype(np.int32), states)  # (B, 1, V)
    return out
