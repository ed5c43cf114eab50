"""Experiments as data: a frozen config, named presets, and the record store keyed by config hash.

An ``Experiment`` says everything that decides a run's numbers (data, preprocessing, model,
optimisation, seed). Its ``key()`` names the run's record in ``results/runs/``; running an
identical config again loads that record instead of retraining.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data, models, schedule

# Bump when a change to the code changes what a config's numbers mean; old records then
# stop matching (their keys differ) instead of being silently reused.
RECORD_SCHEMA = 2  # 2: trained by lenet.engine (1: Keras fit, whose shuffling differs)
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd", "sgd_momentum", "sdlm")  # sgd_momentum: momentum 0.9
ARCHITECTURES = ("lenet5", "lecun1998", "ut_lenet")
LOSSES = ("cross_entropy", "map", "rbf")  # map: Eq. 9; rbf: Eq. 8 (lecun1998 only)


@dataclass(frozen=True)
class Experiment:
    """One training run, fully specified. Defaults are the UCL group's seed reproduction."""

    # data
    dataset: str = "mnist"  # mnist | fashion_mnist | emnist (= emnist_byclass) | emnist_balanced | ...
    split: str = "official"  # official | validation (54k/6k) | kfold | stratified_kfold (70k combined)
    fold: int = 0  # which fold, for the k-fold splits
    n_folds: int = 5
    split_seed: int = 0  # seeds the validation split and the k-fold shuffle (kept fixed across settings)
    max_train_images: int | None = None  # use only the first N training images (smoke runs)
    max_test_images: int | None = None  # ... and the first N held-out / test images
    # preprocessing
    input_size: int = 32  # 28 (as stored) or 32 (padded 2 px per side, as the paper)
    pad_value: str = "background"  # background | zero
    scaling: str = "unit"  # unit: [0, 1]; lecun: background -0.1, ink 1.175
    # model (lenet.models.build_lenet5)
    architecture: str = "lenet5"
    activation: str = "scaled_tanh"  # scaled_tanh | tanh | relu | sigmoid
    pooling: str = "average"  # average | max
    kernel_size: int = 5  # 3 | 5 | 7
    f6: bool = True  # keep the 84-unit F6 layer
    # the 1998 model (architecture="lecun1998"); fields added after schema 2 (see ADDED_FIELDS)
    subsampling: str = "sum"  # sum | average (trainable, two readings of the paper) | pool (plain average)
    c3: str = "table1"  # table1 (Table I's sparse C3) | full
    loss: str = "cross_entropy"  # cross_entropy (softmax output) | map (Eq. 9) | rbf (Eq. 8)
    map_j: float = 1.0  # the constant j of Eq. 9 (the paper does not give it)
    distortions: int = 0  # random affine copies per training image (the paper: 9, i.e. 540,000)
    pass_size: int | None = None  # patterns drawn per pass from the (distorted) training set; None: all
    # the UT report's model (architecture="ut_lenet"); also added after schema 2
    pool_size: int = 2  # both max-pools' kernel ...
    pool_stride: int = 2  # ... stride ...
    pool_padding: int = 0  # ... and padding (PyTorch's MaxPool2d arguments)
    conv_layers: int = 2  # depth experiment: 1-4 conv layers
    fc: str = "linear"  # linear | rnn | lstm: what maps the conv features to 120 units
    # optimisation
    optimizer: str = "adam"  # adam | adamw | rmsprop | sgd (the UCL report does not say; Adam is our reading)
    schedule: str = "paper"  # paper | modern | constant (lenet.schedule)
    lr_multiplier: float = 1.0  # scales every rate of the schedule (the UCL tuning's x1 ... x100)
    base_lr: float = 1e-3  # the rate of the constant schedule
    batch_size: int = 32
    epochs: int = 20
    seed: int = 0

    def __post_init__(self):
        for name in ("lr_multiplier", "base_lr", "map_j"):  # 10 and 10.0 are the same experiment: same key
            if isinstance(getattr(self, name), (int, float)) and not isinstance(getattr(self, name), bool):
                object.__setattr__(self, name, float(getattr(self, name)))

        def check(name, allowed):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"Experiment.{name}={value!r} is not valid; choose one of {list(allowed)}")

        data.get_spec(self.dataset)  # unknown dataset -> DataError listing the known ones
        check("split", data.SPLITS)
        check("pad_value", data.PAD_VALUES)
        check("scaling", data.SCALINGS)
        check("architecture", ARCHITECTURES)
        check("subsampling", models.SUBSAMPLINGS)
        check("c3", models.C3_TABLES)
        check("loss", LOSSES)
        check("activation", models.ACTIVATIONS)
        check("pooling", models.POOLINGS)
        check("kernel_size", models.KERNEL_SIZES)
        check("input_size", models.INPUT_SIZES)
        check("optimizer", OPTIMIZERS)
        check("fc", models.UT_FC)
        check("conv_layers", (1, 2, 3, 4))
        check("schedule", schedule.SCHEDULES)
        for name in ("epochs", "batch_size", "n_folds"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"Experiment.{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("max_train_images", "max_test_images"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"Experiment.{name} must be None or a positive integer, got {value!r}")
        if self.split.endswith("kfold") and not 0 <= self.fold < self.n_folds:
            raise ValueError(f"Experiment.fold={self.fold} must be in 0..{self.n_folds - 1}")
        if self.architecture == "lenet5" and self.loss != "cross_entropy":
            raise ValueError(f"Experiment.loss={self.loss!r} needs the RBF output: set architecture='lecun1998'")
        if self.architecture == "lecun1998" and self.input_size != 32:
            raise ValueError("architecture='lecun1998' takes 32x32 input; set input_size=32")
        if self.optimizer == "sdlm" and self.architecture != "lecun1998":
            raise ValueError("optimizer='sdlm' is implemented for architecture='lecun1998' only")
        ut_fields = ("pool_size", "pool_stride", "pool_padding", "conv_layers", "fc")
        if self.architecture == "ut_lenet":
            if self.input_size != 28 or self.pooling != "max":
                raise ValueError("architecture='ut_lenet' takes 28x28 input and max-pooling; "
                                 "set input_size=28, pooling='max'")
            for name in ("pool_size", "pool_stride"):
                if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                    raise ValueError(f"Experiment.{name} must be a positive integer, got {getattr(self, name)!r}")
            if not isinstance(self.pool_padding, int) or not 0 <= self.pool_padding <= self.pool_size // 2:
                raise ValueError(f"Experiment.pool_padding={self.pool_padding!r} must be an integer in "
                                 f"0..pool_size // 2 (as PyTorch's MaxPool2d)")
        elif any(getattr(self, name) != ADDED_FIELDS[name] for name in ut_fields):
            raise ValueError(f"Experiment fields {list(ut_fields)} apply to architecture='ut_lenet' only")
        if not isinstance(self.distortions, int) or self.distortions < 0:
            raise ValueError(f"Experiment.distortions must be an integer >= 0, got {self.distortions!r}")
        if self.pass_size is not None and (not isinstance(self.pass_size, int) or self.pass_size < 1):
            raise ValueError(f"Experiment.pass_size must be None or a positive integer, got {self.pass_size!r}")
        for name in ("lr_multiplier", "base_lr", "map_j"):
            if not isinstance(getattr(self, name), float) or not getattr(self, name) > 0:
                raise ValueError(f"Experiment.{name} must be a positive number, got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Experiment":
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown Experiment fields {sorted(unknown)}; "
                             f"valid fields: {[f.name for f in dataclasses.fields(cls)]}")
        return cls(**values)

    def replace(self, **changes) -> "Experiment":
        return dataclasses.replace(self, **changes)

    def key(self) -> str:
        """Stable 16-hex-digit hash of the config (and the record schema). Fields added after
        schema 2 are left out while they hold their defaults, so earlier records keep their keys."""
        values = {name: value for name, value in self.to_dict().items()
                  if not (name in ADDED_FIELDS and value == ADDED_FIELDS[name])}
        blob = json.dumps({"schema": RECORD_SCHEMA, **values}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        if self.architecture == "lecun1998":
            loss = f"map j={self.map_j:g}" if self.loss == "map" else self.loss
            extra = f" +{self.distortions} distortions" if self.distortions else ""
            return (f"{self.dataset} lecun1998/{self.subsampling}/C3 {self.c3}/{loss}/{self.scaling}{extra} "
                    f"{self.optimizer}x{self.lr_multiplier:g} b{self.batch_size} seed {self.seed}")
        if self.architecture == "ut_lenet":
            pool = f"pool {self.pool_size}/{self.pool_stride}/{self.pool_padding}"
            return (f"{self.dataset} ut_lenet/{self.activation}/{pool}/{self.conv_layers} conv/{self.fc} "
                    f"{self.optimizer} lr {self.base_lr:g} b{self.batch_size} seed {self.seed}")
        return (f"{self.dataset} {self.architecture}/{self.activation}/{self.pooling} k{self.kernel_size} "
                f"{self.optimizer}x{self.lr_multiplier:g} seed {self.seed}")


ADDED_FIELDS = {name: Experiment.__dataclass_fields__[name].default
                for name in ("subsampling", "c3", "loss", "map_j", "distortions", "pass_size",
                              "pool_size", "pool_stride", "pool_padding", "conv_layers", "fc")}


# Training settings of the published variants; the architecture comes from models.PRESETS.
PRESETS = {
    "seed_keras": dict(optimizer="adam", schedule="paper", batch_size=32, epochs=20),
    # Akioyamen's reproduction (§C): SGD on the paper's schedule. The batch size is not given; the
    # paper's rates are per-pattern rates, so pure stochastic updates (batch 1) are our reading.
    "akioyamen": dict(optimizer="sgd", schedule="paper", batch_size=1, epochs=20),
    # Akioyamen's modern variant (§C): Adam 1e-3 / 1e-4 / 1e-5, batch 32.
    "modern": dict(optimizer="adam", schedule="modern", batch_size=32, epochs=20),
    # Kharbanda's blog: Adam at its default 1e-3, batch 10, validation_split 0.1 (our split is stratified).
    "blog": dict(optimizer="adam", schedule="constant", base_lr=1e-3, batch_size=10, epochs=20,
                 split="validation"),
    # LeCun et al. 1998: the faithful model, its input scaling, SDLM with the paper's eta per pass,
    # pure stochastic updates, 20 passes (LENET5_1998.md).
    "lecun1998": dict(architecture="lecun1998", input_size=32, pad_value="background", scaling="lecun",
                      subsampling="sum", c3="table1", loss="map", optimizer="sdlm", schedule="paper",
                      batch_size=1, epochs=20),
    # Landry & Cabrera's PyTorch LeNet (§E): ReLU, max-pool, 28x28, plain SGD at 0.01, batch 256.
    "ut": dict(architecture="ut_lenet", activation="relu", pooling="max", input_size=28, scaling="unit",
               optimizer="sgd", schedule="constant", base_lr=0.01, batch_size=256, epochs=20),
}


def preset(name: str, **overrides) -> Experiment:
    """A published variant as an Experiment, e.g. ``preset("seed_keras", seed=3)``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return Experiment(**{**models.PRESETS.get(name, {}), **PRESETS[name], **overrides})


# --------------------------------------------------------------------------- record store

def default_results_dir() -> Path:
    """``$LENET_RESULTS_DIR``, else ``results/`` at the repository root."""
    if os.environ.get("LENET_RESULTS_DIR"):
        return Path(os.environ["LENET_RESULTS_DIR"])
    return Path(__file__).resolve().parent.parent / "results"


def run_paths(key: str, results_dir: Path | str | None = None) -> tuple[Path, Path]:
    folder = Path(results_dir) if results_dir is not None else default_results_dir()
    runs = folder / "runs"
    return runs / f"{key}.json", runs / f"{key}.npz"


def save_record(record: dict, arrays: dict[str, np.ndarray], results_dir: Path | str | None = None) -> Path:
    """Save a run: arrays (predictions) first, then the JSON, whose presence marks the record complete."""
    json_path, npz_path = run_paths(record["key"], results_dir)
    data.atomic_write(npz_path, lambda handle: np.savez_compressed(handle, **arrays))
    text = json.dumps(record, indent=1, sort_keys=False) + "\n"
    data.atomic_write(json_path, lambda handle: handle.write(text.encode()))
    return json_path


def load_record(key: str, results_dir: Path | str | None = None) -> tuple[dict, dict] | None:
    """(record, arrays) for a finished run, or None when there is none. A damaged record (a JSON
    cut short, a missing or unreadable predictions file) raises an error naming the file and the fix;
    nothing is deleted."""
    json_path, npz_path = run_paths(key, results_dir)
    if not json_path.exists():
        return None
    fix = (f"delete {json_path.name} and {npz_path.name} from {json_path.parent} (or restore them from git) "
           f"and rerun, or rerun the experiment with force=True")
    try:
        record = json.loads(json_path.read_text())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{json_path}: corrupt or truncated run record ({exc}); {fix}") from None
    if not isinstance(record, dict) or record.get("key") != key:
        raise ValueError(f"{json_path}: not the record of run {key} (its key is "
                         f"{record.get('key') if isinstance(record, dict) else None!r}); {fix}")
    if not npz_path.exists():
        raise FileNotFoundError(f"{json_path} has no predictions file {npz_path.name}; "
                                f"restore it from git or rerun the experiment with force=True")
    try:
        with np.load(npz_path) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{npz_path}: corrupt or truncated predictions file ({type(exc).__name__}: {exc}); "
                         f"{fix}") from None
    return record, arrays


@contextlib.contextmanager
def run_lock(key: str, results_dir: Path | str | None = None):
    """Hold an exclusive lock on ``runs/<key>.lock`` for the block: two processes (two sweeps on one
    results folder) never train the same run at once. ``fcntl.flock``, so POSIX only (a no-op where
    there is no fcntl); the kernel releases it when the holder dies, so a killed run never leaves it
    held. The (empty) lock files stay; git ignores them."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    path = run_paths(key, results_dir)[0].with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
