"""Batch-size-1 speed of the faithful model: steps inside one compiled loop per pass (lenet.engine)
against one Python call of a compiled step per pattern, the obvious way to write pure SGD.

Both train the lecun1998 model with SDLM on the same real MNIST patterns in the same order, on one
thread, and the script checks that they end with the same weights (same arithmetic, up to float
round-off). Prints the seconds per pass of 60,000 patterns projected from ``--patterns`` steps,
and the ratio as its last line.

    python bench/sdlm_speed.py [--patterns 3000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from lenet import data, engine, models, sdlm  # noqa: E402

PASS = 60000


def setup(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    model = models.build_lecun1998()
    return model, sdlm.SDLM(model, learning_rate=0.03 * 5e-4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=3000, help="steps timed per method")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    mnist = data.load("mnist")
    x = data.preprocess(mnist.x_train[:args.patterns], 32, "background", "lecun")
    y = mnist.y_train[:args.patterns].astype(np.int32)
    loss_fn = models.map_loss(1.0)
    model, optimizer = setup(0)
    initial = [w.numpy() for w in model.trainable_variables]

    def reset():
        for w, value in zip(model.trainable_variables, initial):
            w.assign(value)
        optimizer.estimate(x[:500])

    def run_loop(patterns):
        engine.fit(model, optimizer, x[:patterns], y[:patterns], x[:10], y[:10], 1, 1,
                   lambda e: 0.03 * 5e-4, 0, loss_fn=loss_fn, argmin=True)

    weights = model.trainable_variables

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        optimizer.apply(tape.gradient(loss, weights))

    def run_calls(patterns):
        for i in np.random.default_rng(0).permutation(patterns):
            step(tf.constant(x[i:i + 1]), tf.constant(y[i:i + 1]))

    timings, final = {}, {}
    for name, method in (("loop", run_loop), ("calls", run_calls)):
        reset()
        method(len(x))  # warm-up: traces and compiles
        reset()
        start = time.perf_counter()
        method(len(x))
        timings[name] = (time.perf_counter() - start) / len(x) * PASS
        final[name] = [w.numpy() for w in weights]
    loop_s, call_s = timings["loop"], timings["calls"]

    same = all(np.allclose(a, b, rtol=1e-3, atol=1e-5) for a, b in zip(final["loop"], final["calls"]))
    print(f"compiled loop:        {loop_s:6.1f} s per pass of {PASS:,} patterns (projected from {len(x):,})")
    print(f"one call per pattern: {call_s:6.1f} s per pass")
    print(f"same final weights: {same}")
    if not same:
        sys.exit("the two methods did not compute the same training run")
    print(f"ratio (one call per pattern / compiled loop): {call_s / loop_s:.2f}")


if __name__ == "__main__":
    main()
