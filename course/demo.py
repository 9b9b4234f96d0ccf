"""`make demo`: what the course library does today, shown in one table.

Runs each of our scan layers beside its Keras twin under identical
weights and prints the largest difference in outputs and in gradients.
"""

from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course.rnn import ScanBidirectional, ScanGRU, ScanLSTM, ScanSimpleRNN, copy_weights, keras_twin  # noqa: E402


def compare(layer: keras.layers.Layer, x: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """Largest |ours - Keras| in outputs and in input gradients, and our forward time in ms."""
    layer(x)
    twin = keras_twin(layer)
    twin(x)
    copy_weights(layer, twin)
    results = []
    for candidate in (layer, twin):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = candidate(xt, mask=tf.constant(mask))
            loss = tf.reduce_sum(y * y)
        results.append((y.numpy(), tape.gradient(loss, xt).numpy()))
    start = time.perf_counter()
    layer(x, mask=mask)
    elapsed = (time.perf_counter() - start) * 1000
    (y_o, g_o), (y_k, g_k) = results
    return float(np.abs(y_o - y_k).max()), float(np.abs(g_o - g_k).max()), elapsed


def weights_file_round_trip(x: np.ndarray) -> float:
    """Largest |ours - Keras| after a model of Keras' GRU saves `.weights.h5` and the same model of ours loads it."""

    def model(rnn: type, bidirectional: type) -> keras.Model:
        inputs = keras.Input(x.shape[1:])
        h = bidirectional(rnn(8, return_sequences=True))(inputs)
        return keras.Model(inputs, rnn(4)(h))

    theirs, ours = model(keras.layers.GRU, keras.layers.Bidirectional), model(ScanGRU, ScanBidirectional)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "gru.weights.h5")
        theirs.save_weights(path)
        ours.load_weights(path)
    return float(np.abs(ours.predict(x, verbose=0) - theirs.predict(x, verbose=0)).max())


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 20, 16)).astype("float32")  # (B, T, D)
    lengths = rng.integers(5, 21, size=8)
    mask = np.arange(20)[None, :] < lengths[:, None]  # (B, T)
    layers = {
        "SimpleRNN": ScanSimpleRNN(32, return_sequences=True),
        "GRU": ScanGRU(32, return_sequences=True),
        "LSTM": ScanLSTM(32, return_sequences=True),
        "Bidirectional(GRU)": ScanBidirectional(ScanGRU(32, return_sequences=True)),
        "Bidirectional(LSTM)": ScanBidirectional(ScanLSTM(32, return_sequences=True), merge_mode="sum"),
    }
    print("Our scan layers against Keras' own, same weights, padded batch (8, 20, 16):\n")
    print(f"{'layer':<22}{'max |Δ output|':>16}{'max |Δ grad x|':>16}{'forward ms':>12}")
    worst = 0.0
    for name, layer in layers.items():
        d_out, d_grad, ms = compare(layer, x, mask)
        worst = max(worst, d_out, d_grad)
        print(f"{name:<22}{d_out:>16.2e}{d_grad:>16.2e}{ms:>12.1f}")
    d_file = weights_file_round_trip(x)
    worst = max(worst, d_file)
    print(f"{'weights file, GRU':<22}{d_file:>16.2e}   (a Keras model's .weights.h5 loaded by ours)")
    verdict = "match" if worst <= 1e-5 else "DIFFER"
    print(f"\nAll layers {verdict} Keras to 1e-5 (worst difference {worst:.1e}).")


if __name__ == "__main__":
    main()
