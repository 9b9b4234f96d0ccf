"""Forward + backward time per batch: our tf.scan layers against Keras' own.

Same shapes, same weights, both inside `tf.function`, with and without XLA,
in float32 and under the `mixed_float16` policy. Calls to ours and to Keras'
alternate, so a busy machine slows both alike. Prints one row per (cell,
policy, compile mode) and, as the last line, the worst ratio ours/Keras
(target: at most 1.3 on CPU; goal 1.0).

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

POLICIES = ("float32", "mixed_float16")


def step_fn(layer: keras.layers.Layer, jit: bool):
    """A compiled forward + backward pass of `layer` on one batch."""

    @tf.function(jit_compile=jit)
    def step(x):
        with tf.GradientTape() as tape:
            y = tf.cast(layer(x), tf.float32)
            loss = tf.reduce_mean(tf.square(y))
        return loss, tape.gradient(loss, layer.trainable_weights)

    return step


def run_once(step, x) -> float:
    start = time.perf_counter()
    loss, grads = step(x)
    _ = loss.numpy(), [g.numpy() for g in grads]
    return time.perf_counter() - start


def time_pair(step_a, step_b, x, repeats: int) -> tuple[float, float]:
    """Median seconds per call of each, calls alternating, after two warm-up calls each."""
    for _ in range(2):
        run_once(step_a, x), run_once(step_b, x)
    times_a, times_b = [], []
    for i in range(repeats):
        first, second = (step_a, step_b) if i % 2 == 0 else (step_b, step_a)
        t_first, t_second = run_once(first, x), run_once(second, x)
        times_a.append(t_first if first is step_a else t_second)
        times_b.append(t_second if first is step_a else t_first)
    return statistics.median(times_a), statistics.median(times_b)


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
          f"median of {args.repeats}, alternating; device {tf.config.list_logical_devices()[-1].device_type}")
    print(f"{'cell':<10}{'policy':<15}{'mode':<8}{'ours ms':>10}{'keras ms':>10}{'ours/keras':>12}")
    worst = {policy: 0.0 for policy in POLICIES}
    for policy in POLICIES:
        for layer_class in (ScanSimpleRNN, ScanGRU, ScanLSTM):
            for jit in (False, True):
                ours = layer_class(args.units, return_sequences=True, dtype=policy)
                ours(x)
                theirs = keras_twin(ours)
                theirs(x)
                copy_weights(ours, theirs)
                t_ours, t_keras = time_pair(step_fn(ours, jit), step_fn(theirs, jit), x, args.repeats)
                ratio = t_ours / t_keras
                worst[policy] = max(worst[policy], ratio)
                name = layer_class.__name__.removeprefix("Scan")
                mode = "xla" if jit else "graph"
                print(f"{name:<10}{policy:<15}{mode:<8}{t_ours * 1e3:>10.2f}{t_keras * 1e3:>10.2f}{ratio:>12.2f}")
    print(", ".join(f"worst {policy}: {ratio:.2f}" for policy, ratio in worst.items()))
    print(f"worst ratio ours/keras: {max(worst.values()):.2f} (target <= 1.3, goal <= 1.0)")


if __name__ == "__main__":
    main()
