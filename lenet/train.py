"""One experiment config -> one recorded run.

``run(config)`` returns the recorded run if there is one, else trains, records and returns it:
per-epoch metrics as Keras measures them (training metrics on the fly during the epoch, held-out
metrics after it), final test metrics, test-set predictions, confusion matrix, wall time and
provenance (package versions, machine, git commit, config).
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path

import numpy as np

from . import data, engine, experiments, schedule, stats
from .experiments import Experiment

REPO_ROOT = Path(__file__).resolve().parent.parent
PROVENANCE_PACKAGES = ("tensorflow", "keras", "numpy", "scipy", "scikit-learn", "statsmodels", "pandas")


@dataclass(frozen=True)
class Record:
    """A finished run: the JSON record plus its arrays (``y_true``, ``y_pred`` on the test set)."""

    config: Experiment
    data: dict
    arrays: dict

    @property
    def key(self) -> str:
        return self.data["key"]

    @cached_property
    def history(self):
        """Per-epoch metrics as a DataFrame (epoch is 1-based)."""
        import pandas as pd

        return pd.DataFrame(self.data["history"])

    @property
    def test(self) -> dict:
        return self.data["test"]

    @property
    def ok(self) -> bool:
        return self.data["status"] == "ok"

    @property
    def test_accuracy(self) -> float:
        """Test accuracy; NaN for a run that diverged."""
        return self.data["test"]["accuracy"] if self.ok else float("nan")

    @property
    def confusion_matrix(self) -> np.ndarray:
        return np.asarray(self.data["confusion_matrix"])

    @property
    def class_names(self) -> list:
        return self.data["class_names"]

    def __repr__(self) -> str:
        return (f"Record({self.key}: {self.config.label()}, {self.data['status']}, test accuracy "
                f"{self.test_accuracy:.4%}, {self.data['wall_time_s']:.0f} s)")


# --------------------------------------------------------------------------- provenance

def _git(*args) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _code_state() -> tuple:
    return _git("rev-parse", "HEAD"), _git("status", "--porcelain", "--untracked-files=no", "--", "lenet")


# The code a process runs is the code it imported: read the commit now, not when a run finishes
# (a long-lived worker would otherwise stamp its records with a later checkout's commit).
_CODE_AT_IMPORT = _code_state()


def provenance() -> dict:
    """Versions, machine and code state, recorded with every run."""
    import tensorflow as tf

    versions = {}
    for package in PROVENANCE_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit, dirty = _CODE_AT_IMPORT
    return {
        "python": platform.python_version(),
        "packages": versions,
        "platform": platform.platform(),
        "hostname": platform.node(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,  # uncommitted changes under lenet/
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------- training

def make_optimizer(name: str, learning_rate: float, model=None):
    import keras

    if name == "sdlm":
        from . import sdlm

        return sdlm.SDLM(model, learning_rate)
    if name == "sgd_momentum":  # the same steps as torch.optim.SGD(momentum=0.9) at a constant rate
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    classes = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
               "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    return classes[name](learning_rate=learning_rate)


def _epoch_line(config: Experiment, heldout_name: str, verbose: bool):
    """Print one line per epoch, readable in a stored notebook."""
    start = time.perf_counter()

    def on_epoch_end(epoch, row):
        nonlocal start
        row["seconds"] = time.perf_counter() - start
        row["error"] = 1 - row["accuracy"]
        row["heldout_error"] = 1 - row["heldout_accuracy"]
        start = time.perf_counter()
        if verbose:
            print(f"[{config.key()[:8]}] epoch {row['epoch']:>2}/{config.epochs}  lr {row['lr']:.1e}  "
                  f"train loss {row['loss']:.4f} err {row['error']:.2%}  "
                  f"{heldout_name} loss {row['heldout_loss']:.4f} err {row['heldout_error']:.2%}  "
                  f"{row['seconds']:.1f}s", flush=True)

    return on_epoch_end


def _columns(rows: list[dict]) -> dict:
    """Per-epoch rows -> one list per metric."""
    return {name: [row[name] for row in rows] for name in rows[0]} if rows else {}


def _pass_sampler(config: Experiment, split):
    """For ``distortions`` / ``pass_size``: a function giving each pass its training patterns, drawn
    without replacement from the originals plus their fixed random distortions (data.DistortedPool)."""
    x_raw, y_raw = _limit(split.x_train, split.y_train, config.max_train_images)
    pool = data.DistortedPool(x_raw, y_raw, config.distortions, seed=config.seed)
    size = config.pass_size or len(pool)
    if size > len(pool):
        raise ValueError(f"Experiment.pass_size={size} exceeds the {len(pool):,} patterns available")
    cache = {}

    def train_set(epoch):
        if epoch not in cache:
            cache.clear()
            rng = np.random.default_rng((config.seed, 600, epoch))
            images, labels = pool.take(np.sort(rng.choice(len(pool), size, replace=False)))
            cache[epoch] = (data.preprocess(images, config.input_size, config.pad_value, config.scaling), labels)
        return cache[epoch]

    return train_set


def conv_weights(model) -> dict[str, np.ndarray]:
    """The trained kernels and biases of every standard convolution (``kernel_C1``, ``bias_C1``, ...),
    kept with the record for the kernel heat maps. Kernels are (height, width, in, out)."""
    import keras

    out = {}
    for layer in model.layers:
        if type(layer) is keras.layers.Conv2D:
            kernel, bias = layer.get_weights()
            out[f"kernel_{layer.name}"], out[f"bias_{layer.name}"] = kernel, bias
    return out


def _limit(x: np.ndarray, y: np.ndarray, n: int | None):
    return (x, y) if n is None else (x[:n], y[:n])


def train(config: Experiment, data_dir: Path | str | None = None, verbose: bool = True) -> tuple[dict, dict]:
    """Train ``config`` from scratch; return the JSON-able record and its arrays (not saved)."""
    import keras
    import tensorflow as tf
    from sklearn.metrics import confusion_matrix

    from . import models

    keras.utils.set_random_seed(config.seed)  # Python, NumPy and TensorFlow generators
    tf.config.experimental.enable_op_determinism()  # same config + seed -> same numbers on one machine

    ds = data.load(config.dataset, data_dir)
    split = data.make_split(ds, config.split, config.fold, config.n_folds, config.split_seed)

    def prepare(x, y, n):
        x, y = _limit(x, y, n)
        return data.preprocess(x, config.input_size, config.pad_value, config.scaling), np.asarray(y)

    train_set = _pass_sampler(config, split) if config.distortions or config.pass_size else None
    if train_set is None:
        x_train, y_train = prepare(split.x_train, split.y_train, config.max_train_images)
    else:
        x_train, y_train = train_set(0)
    x_held, y_held = prepare(split.x_heldout, split.y_heldout, config.max_test_images)
    x_test, y_test = prepare(split.x_test, split.y_test, config.max_test_images)

    argmin = config.loss in ("map", "rbf")  # RBF penalties: the smallest one wins
    loss_fn = {"map": models.map_loss(config.map_j), "rbf": models.rbf_loss}.get(config.loss)
    if config.architecture == "lecun1998":
        if ds.num_classes != 10:
            raise ValueError(f"the lecun1998 model has the ten digit codes as outputs; {config.dataset} has "
                             f"{ds.num_classes} classes")
        model = models.build_lecun1998(config.subsampling, config.c3, "rbf" if argmin else "softmax")
    elif config.architecture == "ut_lenet":
        model = models.build_ut_lenet(config.activation, config.pool_size, config.pool_stride, config.pool_padding,
                                      config.conv_layers, config.fc, num_classes=ds.num_classes)
    else:
        model = models.build_lenet5(config.activation, config.pooling, config.kernel_size, config.input_size,
                                    config.f6, num_classes=ds.num_classes)
    optimizer = make_optimizer(config.optimizer,
                               schedule.learning_rate(config.schedule, 0, config.lr_multiplier, config.base_lr), model)
    curvature = {}  # SDLM's step range of the current pass, added to that pass's row

    def estimate_curvature(epoch, x_epoch):
        """SDLM: re-estimate the curvature on PATTERNS random patterns of this pass's training set."""
        from . import sdlm

        rng = np.random.default_rng((config.seed, 1998, epoch))
        pick = np.sort(rng.choice(len(x_epoch), min(sdlm.PATTERNS, len(x_epoch)), replace=False))
        optimizer.estimate(np.asarray(x_epoch)[pick])
        steps = optimizer.step_sizes()
        curvature.update(sdlm_min_step=float(min(s.min() for s in steps)),
                         sdlm_max_step=float(max(s.max() for s in steps)))

    if verbose:
        print(f"[{config.key()[:8]}] {config.label()}: {len(x_train):,} train / {len(x_held):,} "
              f"{split.heldout_name} images, {model.count_params():,} parameters", flush=True)
    start = time.perf_counter()
    record = {
        "schema": experiments.RECORD_SCHEMA,
        "key": config.key(),
        "label": config.label(),
        "status": "ok",
        "config": config.to_dict(),
        "heldout_name": split.heldout_name,
        "n_train": int(len(x_train)),
        "n_parameters": int(model.count_params()),
    }
    try:
        epoch_line = _epoch_line(config, split.heldout_name, verbose)

        def on_epoch_end(epoch, row):
            row.update(curvature)
            epoch_line(epoch, row)

        rows = engine.fit(model, optimizer, x_train, y_train, x_held, y_held, config.batch_size, config.epochs,
                          lambda epoch: schedule.learning_rate(config.schedule, epoch, config.lr_multiplier,
                                                              config.base_lr),
                          config.seed, on_epoch_end, loss_fn=loss_fn, argmin=argmin,
                          before_epoch=estimate_curvature if config.optimizer == "sdlm" else None,
                          train_set=train_set)
    except engine.Diverged as exc:  # a result of the experiment, recorded like any other
        if verbose:
            print(f"[{config.key()[:8]}] DIVERGED: {exc}", flush=True)
        record.update(status="diverged", error=str(exc), history=_columns(exc.rows), test=None,
                      class_names=list(ds.class_names), confusion_matrix=None,
                      wall_time_s=time.perf_counter() - start, seconds_per_epoch=None,
                      data_files=ds.files, provenance=provenance())
        return json.loads(json.dumps(record)), {}
    train_seconds = time.perf_counter() - start

    test_loss, y_pred = engine.score(engine.predict(model, x_test), y_test, loss_fn if argmin else None, argmin)
    test_accuracy = float((y_pred == y_test).mean())
    labels = list(range(ds.num_classes))
    test = {"n": int(len(y_test)), "loss": float(test_loss), "accuracy": float(test_accuracy),
            "error": 1 - float(test_accuracy),
            **{k: v for k, v in stats.classification_metrics(y_test, y_pred, labels).items() if k != "accuracy"}}
    record.update({
        "history": _columns(rows),
        "test": test,
        "class_names": list(ds.class_names),
        "confusion_matrix": confusion_matrix(y_test, y_pred, labels=labels).tolist(),
        "wall_time_s": train_seconds,
        "seconds_per_epoch": train_seconds / config.epochs,
        "data_files": ds.files,
        "provenance": provenance(),
    })
    if verbose:
        print(f"[{config.key()[:8]}] test accuracy {test_accuracy:.4%} (error {1 - test_accuracy:.2%}), "
              f"{train_seconds:.0f} s ({train_seconds / config.epochs:.1f} s/epoch)", flush=True)
    arrays = {"y_true": y_test.astype(np.int16), "y_pred": y_pred.astype(np.int16), **conv_weights(model)}
    return json.loads(json.dumps(record)), arrays


def run(config: Experiment, force: bool = False, results_dir: Path | str | None = None,
        data_dir: Path | str | None = None, verbose: bool = True) -> Record:
    """The recorded run of ``config``: loaded from ``results/`` if present (unless ``force``), else trained and saved.

    Training holds the run's lock (``experiments.run_lock``) from the check for a record to the save:
    a second process wanting the same run waits for the first, then loads its record instead of
    training it again; ``force`` retrains, under the lock.
    """
    return run_or_load(config, force, results_dir, data_dir, verbose)[0]


def run_or_load(config: Experiment, force: bool = False, results_dir: Path | str | None = None,
                data_dir: Path | str | None = None, verbose: bool = True) -> tuple[Record, bool]:
    """``run`` that also says whether this call trained the run (True) or loaded its record (False)."""

    def recorded():
        found = None if force else experiments.load_record(config.key(), results_dir)
        if found is not None and verbose:
            print(f"[{config.key()[:8]}] recorded run loaded: {config.label()}", flush=True)
        return found

    found = recorded()  # no lock needed to read a finished record
    if found is not None:
        return Record(config, *found), False
    with experiments.run_lock(config.key(), results_dir):
        found = recorded()  # recorded meanwhile by another process?
        if found is not None:
            return Record(config, *found), False
        record, arrays = train(config, data_dir, verbose)
        experiments.save_record(record, arrays, results_dir)
    return Record(config, record, arrays), True
