"""Forward + backward time per batch: our scan layers against Keras' own.

Same shapes, same weights, both inside `tf.function`, in graph mode and
under XLA, in float32 and under the `mixed_float16` policy. Calls to ours
and to Keras' alternate, so a busy machine slows both alike. Three tables:

- one row per (cell, policy, mode) at each shape of `--shapes` (batch,
  time, features, units; by default the course's shape (64, 50, 32, 128), a
  long one (32, 500, 64, 256) and T = 2,000), both policies at the first
  shape and float32 at the others (float16 matmuls are emulated on a CPU,
  tens of seconds a call at T = 2,000), and XLA only up to T = 1,000 (XLA on
  a CPU takes seconds per call from T = 500 on, for Keras' layers as for ours,
  and grows faster than T: `--xla-steps` raises the limit);
- how the cost grows with T: SimpleRNN, float32, graph mode, at (32, T, 64,
  128) for each T of `--growth`;
- as the last line, the worst ratio ours/Keras (target: at most 1.1; goal 1.0).

Each row gives the ratio of median wall times and of median CPU times
(`time.process_time`, every thread of the process). On a machine shared with
other work the wall times swing with the load; the CPU time a call consumes
moves much less, so its ratio is the steadier figure there. A row is timed on
up to `--pairs` fresh pairs of layers (3; one when a row is slow): a layer can
keep one of two speeds for its whole life, so the row shows the median over
pairs and the range of their CPU ratios.

    python bench/cells.py [--shapes 64x50x32x128 32x500x64x256 32x2000x64x256]
                          [--growth 50 500 1000 2000 4000] [--repeats 20] [--pairs 3] [--quick]
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
LAYERS = (ScanSimpleRNN, ScanGRU, ScanLSTM)
SHAPES = ("64x50x32x128", "32x500x64x256", "32x2000x64x256")
GROWTH = (50, 500, 1000, 2000, 4000)
TARGET = 1.1
SECONDS_PER_ROW = 20.0  # a slow row takes fewer repeats (at least 5)
XLA_STEPS = 1000  # longest T timed under XLA by default
PAIRS = 3  # fresh pairs of layers per row, while the row's time allows


def step_fn(layer: keras.layers.Layer, jit: bool):
    """A compiled forward + backward pass of `layer` on one batch."""

    @tf.function(jit_compile=jit)
    def step(x):
        with tf.GradientTape() as tape:
            y = tf.cast(layer(x), tf.float32)
            loss = tf.reduce_mean(tf.square(y))
        return loss, tape.gradient(loss, layer.trainable_weights)

    return step


def run_once(step, x) -> tuple[float, float]:
    """Wall and CPU seconds of one call (results fetched)."""
    wall, cpu = time.perf_counter(), time.process_time()
    loss, grads = step(x)
    _ = loss.numpy(), [g.numpy() for g in grads]
    return time.perf_counter() - wall, time.process_time() - cpu


def time_pair(step_a, step_b, x, repeats: int) -> dict:
    """Median wall and CPU seconds per call of each, calls alternating, after two warm-up calls each.

    Returns `{"wall": (a, b), "cpu": (a, b), "n": repeats}`; `n` is below
    `repeats` when one pair of calls takes long (see `SECONDS_PER_ROW`).
    """
    warm = 0.0
    for _ in range(2):
        warm = run_once(step_a, x)[0] + run_once(step_b, x)[0]
    repeats = max(5, min(repeats, int(SECONDS_PER_ROW / max(warm, 1e-6))))
    times: dict = {step_a: [], step_b: []}
    for i in range(repeats):
        for step in (step_a, step_b) if i % 2 == 0 else (step_b, step_a):
            times[step].append(run_once(step, x))

    def medians(which: int) -> tuple[float, float]:
        return tuple(statistics.median(t[which] for t in times[s]) for s in (step_a, step_b))  # type: ignore

    return {"wall": medians(0), "cpu": medians(1), "n": repeats}


def inputs(batch: int, steps: int, features: int) -> tf.Tensor:
    return tf.constant(np.random.default_rng(0).normal(size=(batch, steps, features)).astype("float32"))


def compare(layer_class: type, units: int, policy: str, jit: bool, x: tf.Tensor, repeats: int) -> dict:
    """Ours and Keras' twin, same weights, timed per forward + backward pass (see `time_pair`)."""
    ours = layer_class(units, return_sequences=True, dtype=policy)
    ours(x[:, :2])
    theirs = keras_twin(ours)
    theirs(x[:, :2])
    copy_weights(ours, theirs)
    return time_pair(step_fn(ours, jit), step_fn(theirs, jit), x, repeats)


def compare_pairs(layer_class: type, units: int, policy: str, jit: bool, x: tf.Tensor, repeats: int,
                  pairs: int) -> dict:
    """`compare` on up to `pairs` fresh pairs of layers (fewer when a row is slow, see `SECONDS_PER_ROW`).

    A layer's timings can sit in one of two modes for its whole life (LSTM under mixed_float16 in graph mode
    runs at about 17 or about 20 ms a pass, ours and Keras' alike), so one pair of layers can put a row's
    ratio 0.2 off. Returns the median over pairs of each side's milliseconds and of the ratios, the range of
    the CPU ratios, and the number of pairs.
    """
    timed, start = [], time.perf_counter()
    while len(timed) < max(1, pairs) and (not timed or time.perf_counter() - start < SECONDS_PER_ROW):
        timed.append(compare(layer_class, units, policy, jit, x, repeats))
    cpu = [t["cpu"][0] / t["cpu"][1] for t in timed]
    return {"wall": tuple(statistics.median(t["wall"][k] for t in timed) for k in (0, 1)),
            "ratio": {"wall": statistics.median(t["wall"][0] / t["wall"][1] for t in timed),
                      "cpu": statistics.median(cpu)},
            "range": (min(cpu), max(cpu)), "n": timed[0]["n"], "pairs": len(timed)}


def parse_shape(text: str) -> tuple[int, int, int, int]:
    parts = text.lower().split("x")
    if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"Expected a shape as BATCHxTIMExFEATURESxUNITS, e.g. 64x50x32x128; got {text!r}.")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


def shape_table(shape: tuple[int, int, int, int], policies: tuple, repeats: int, xla_steps: int,
                pairs: int) -> dict:
    """Prints one row per (cell, policy, mode) at `shape`; returns the worst wall and CPU ratios."""
    batch, steps, features, units = shape
    x = inputs(batch, steps, features)
    print(f"\nbatch {batch}, time {steps}, features {features}, units {units}")
    print(f"{'cell':<10}{'policy':<15}{'mode':<7}{HEADER}")
    worst = {"wall": 0.0, "cpu": 0.0}
    for policy in policies:
        for layer_class in LAYERS:
            for jit in (False, True) if steps <= xla_steps else (False,):
                timed = compare_pairs(layer_class, units, policy, jit, x, repeats, pairs)
                name = layer_class.__qualname__.removeprefix("Scan")
                mode = "xla" if jit else "graph"
                print(f"{name:<10}{policy:<15}{mode:<7}{row(timed, worst)}", flush=True)
    return worst


HEADER = f"{'n':>4}{'pairs':>6}{'ours ms':>10}{'keras ms':>10}{'wall ratio':>12}{'cpu ratio':>11}{'cpu range':>12}"


def row(timed: dict, worst: dict) -> str:
    """The timing columns of one row (from `compare_pairs`); updates `worst` with its median ratios."""
    (ours, keras_wall), ratios, (low, high) = timed["wall"], timed["ratio"], timed["range"]
    for key, ratio in ratios.items():
        worst[key] = max(worst[key], ratio)
    return (f"{timed['n']:>4}{timed['pairs']:>6}{ours * 1e3:>10.1f}{keras_wall * 1e3:>10.1f}"
            f"{ratios['wall']:>12.2f}{ratios['cpu']:>11.2f}{f'{low:.2f}-{high:.2f}':>12}")


def growth_table(steps_list: list[int], repeats: int, pairs: int) -> dict:
    """How the cost grows with T (SimpleRNN, float32, graph mode); returns the worst wall and CPU ratios."""
    print("\ngrowth with T: SimpleRNN, float32, graph mode, batch 32, features 64, units 128")
    print(f"{'T':>6}{HEADER}")
    worst = {"wall": 0.0, "cpu": 0.0}
    for steps in steps_list:
        timed = compare_pairs(ScanSimpleRNN, 128, "float32", False, inputs(32, steps, 64), repeats, pairs)
        print(f"{steps:>6}{row(timed, worst)}", flush=True)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES), help="BATCHxTIMExFEATURESxUNITS")
    parser.add_argument("--growth", nargs="*", type=int, default=list(GROWTH), help="values of T")
    parser.add_argument("--policies", nargs="*", default=list(POLICIES), choices=POLICIES)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=PAIRS, help="fresh pairs of layers per row (fewer if slow)")
    parser.add_argument("--xla-steps", type=int, default=XLA_STEPS, help="longest T timed under XLA")
    parser.add_argument("--quick", action="store_true", help="only the first shape and T up to 1,000")
    args = parser.parse_args()
    shapes = [parse_shape(s) for s in args.shapes]
    growth = args.growth
    if args.quick:
        shapes, growth = shapes[:1], [t for t in growth if t <= 1000]

    print(f"forward + backward per batch, median of up to {args.repeats} alternating calls, on up to "
          f"{args.pairs} fresh pairs of layers per row (median over pairs, range of the CPU ratios); "
          f"device {tf.config.list_logical_devices()[-1].device_type}, {os.cpu_count()} CPUs")
    tables = [
        shape_table(shape, tuple(args.policies) if i == 0 else ("float32",), args.repeats, args.xla_steps,
                    args.pairs)
        for i, shape in enumerate(shapes)
    ]
    if growth:
        tables.append(growth_table(growth, args.repeats, args.pairs))
    worst = {key: max([t[key] for t in tables] or [0.0]) for key in ("wall", "cpu")}
    print(f"\nworst ratio ours/keras: wall {worst['wall']:.2f}, cpu {worst['cpu']:.2f} "
          f"(target <= {TARGET}, goal 1.0)")


if __name__ == "__main__":
    main()
