"""Forward + backward time per batch: our tf.scan layers against Keras' own.

Same shapes, same weights, both inside `tf.function`, with and without XLA.
Prints one row per (cell, compile mode) and, as the last line, the worst
ratio ours/Keras (target: at most 1.3 on CPU).

    python bench/cells.py [--batch 64 --time 50 --features 32 --units 128 --repeats 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course.rnn import ScanGRU, ScanLSTM, ScanSimpleRNN, copy_weights, keras_twin  # noqa: E402


def step_fn(layer: keras.layers.Layer, jit: bool):
    """A compiled forward + backward pass of `layer` on one batch."""

    @tf.function(jit_compile=jit)
    def step(x):
        with tf.GradientTape() as tape:
            y = layer(x)
            loss = tf.reduce_mean(tf.square(y))
        return loss, tape.gradient(loss, layer.trainable_weights)

    return step


def time_step(step, x, repeats: int) -> float:
    """Median seconds per call after two warm-up calls."""
    for _ in range(2):
        step(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss, grads = step(x)
        _ = loss.numpy(), [g.numpy() for g in grads]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=50)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    x = tf.constant(np.random.default_rng(0).normal(size=(args.batch, args.time, args.features)).astype("float32"))
    print(f"batch {args.batch}, time {args.time}, features {args.features}, units {args.units}; "
          f"median of {args.repeats}; device {tf.config.list_logical_devices()[-1].device_type}")
    print(f"{'cell':<10}{'mode':<8}{'ours ms':>10}{'keras ms':>10}{'ours/keras':>12}")
    worst = 0.0
    for layer_class in (ScanSimpleRNN, ScanGRU, ScanLSTM):
        for jit in (False, True):
            ours = layer_class(args.units, return_sequences=True)
            ours(x)
            theirs = keras_twin(ours)
            theirs(x)
            copy_weights(ours, theirs)
            t_ours = time_step(step_fn(ours, jit), x, args.repeats)
            t_keras = time_step(step_fn(theirs, jit), x, args.repeats)
            ratio = t_ours / t_keras
            worst = max(worst, ratio)
            name = layer_class.__name__.removeprefix("Scan")
            mode = "xla" if jit else "graph"
            print(f"{name:<10}{mode:<8}{t_ours * 1e3:>10.2f}{t_keras * 1e3:>10.2f}{ratio:>12.2f}")
    print(f"worst ratio ours/keras: {worst:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
