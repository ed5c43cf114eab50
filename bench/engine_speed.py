"""Engine speed: the project's engine + sweep runner vs a naive Keras ``fit``, side by side.

Both train the seed_keras LeNet-5 on real MNIST (60,000 images, batch 32, the paper's learning-rate
schedule, Adam, the test set scored after every epoch) for the same seeds and epochs. The naive
reference is a plain Keras Sequential model trained with ``model.fit`` in this process; the
engine is ``lenet.sweep.run_sweep`` with its defaults (one single-threaded worker per core).
Speed must not be bought by changing the experiment, so the script also compares the test
accuracy of the two after the last epoch and fails if they differ by more than run-to-run noise.

    python bench/engine_speed.py [--epochs 5] [--seeds 4] [--workers N] [--threads T]

Prints seconds per model-epoch for each, the parity check, and the ratio as its last line.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from lenet import data, experiments, schedule, sweep  # noqa: E402


def naive_run(x, y, x_test, y_test, epochs: int, seed: int) -> float:
    """A plain Keras Sequential LeNet-5 trained with fit(batch_size=32); returns test accuracy."""
    import keras

    keras.utils.set_random_seed(seed)

    def act(z):
        return 1.7159 * keras.ops.tanh(2.0 * z / 3.0)

    model = keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(6, 5, activation=act), keras.layers.AveragePooling2D(2),
        keras.layers.Conv2D(16, 5, activation=act), keras.layers.AveragePooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(120, activation=act), keras.layers.Dense(84, activation=act),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(schedule.paper_lr(0)), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=epochs, validation_data=(x_test, y_test), verbose=0,
                        callbacks=[schedule.keras_callback("paper")])
    return history.history["val_accuracy"][-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, help="engine workers (default: one per core)")
    parser.add_argument("--threads", type=int, help="threads per engine worker (default: 1)")
    parser.add_argument("--data-dir", help="folder with mnist/ (default: the loader's search order)")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    model_epochs = args.epochs * len(seeds)

    ds = data.load("mnist", args.data_dir)
    x, x_test = data.preprocess(ds.x_train), data.preprocess(ds.x_test)
    print(f"machine: {os.cpu_count()} cores; {model_epochs} model-epochs each "
          f"({len(seeds)} seeds x {args.epochs} epochs, 60,000 images, batch 32)", flush=True)

    start = time.perf_counter()
    naive_acc = [naive_run(x, ds.y_train, x_test, ds.y_test, args.epochs, seed) for seed in seeds]
    naive_s = (time.perf_counter() - start) / model_epochs
    print(f"naive Keras fit:  {naive_s:6.2f} s per model-epoch   test accuracy "
          f"{np.mean(naive_acc):.4f} +- {np.std(naive_acc, ddof=1):.4f}  {np.round(naive_acc, 4).tolist()}", flush=True)

    configs = [experiments.preset("seed_keras", epochs=args.epochs, seed=seed) for seed in seeds]
    with tempfile.TemporaryDirectory() as results_dir:
        start = time.perf_counter()
        result = sweep.run_sweep(configs, workers=args.workers, threads_per_worker=args.threads, force=True,
                                 results_dir=results_dir, data_dir=args.data_dir)
        engine_s = (time.perf_counter() - start) / model_epochs
    result.raise_on_failure()
    engine_acc = [r.test_accuracy for r in result.records]
    steady = np.mean([np.median(r.history["seconds"][1:]) for r in result.records]) if args.epochs > 1 else float("nan")
    workers = args.workers or sweep.default_workers()[0]
    print(f"engine + sweep:   {engine_s:6.2f} s per model-epoch   test accuracy "
          f"{np.mean(engine_acc):.4f} +- {np.std(engine_acc, ddof=1):.4f}  {np.round(engine_acc, 4).tolist()}")
    print(f"engine detail: {steady:.2f} s per steady epoch per worker, {workers} workers "
          f"-> {steady / workers:.2f} s per model-epoch once running", flush=True)

    # Parity: the mean accuracies may differ by no more than 3 standard errors of the difference
    # (run-to-run noise estimated from both groups), with a floor of 0.1 percentage points.
    noise = np.sqrt(np.var(naive_acc, ddof=1) / len(seeds) + np.var(engine_acc, ddof=1) / len(seeds))
    tolerance = max(3 * noise, 0.001)
    diff = np.mean(engine_acc) - np.mean(naive_acc)
    parity = abs(diff) <= tolerance
    print(f"accuracy parity: engine - naive = {diff:+.4f} (tolerance +-{tolerance:.4f}): "
          f"{'OK' if parity else 'FAILED'}")
    print(f"speed-up (naive s per model-epoch / engine s per model-epoch): {naive_s / engine_s:.2f}")
    return 0 if parity else 1


if __name__ == "__main__":
    sys.exit(main())
