"""The report's experiments as data: each study is a function from profile parameters to configs.

Notebooks call these (then ``lenet.sweep.run_sweep``), and ``all_configs(profile)`` lists every
run of a profile so the whole study can be trained ahead of the notebooks in one sweep.
"""
from __future__ import annotations

from .experiments import Experiment, preset

PAPER_TEST_ERROR = 0.0095  # LeNet-5, no distortions (LeCun et al. 1998, §III-C)
PAPER_TRAIN_ERROR = 0.0035
PAPER_TEST_ACCURACY = 1 - PAPER_TEST_ERROR
UCL = {"mean": 0.98838, "sd": 0.00070, "n": 10, "t": -9.592, "critical": 2.262,  # CLAIMS.md §B
       "lr10_mean": 0.99045, "lr10_t": -0.212, "cv_mean": 0.9872, "fashion_accuracy": 0.8875,
       "fashion_macro_f1": 0.89073, "emnist_accuracy": 0.8632}
EQUIVALENCE_MARGIN = 0.001  # +-0.10 percentage points of accuracy, the margin used throughout the report


def _limits(max_train_images, max_test_images) -> dict:
    return {"max_train_images": max_train_images, "max_test_images": max_test_images}


def replication(epochs: int, repetitions: int, lr_multiplier: float = 1.0, dataset: str = "mnist",
                max_train_images=None, max_test_images=None) -> list[Experiment]:
    """The UCL group's seed_keras model on the official split, one run per seed."""
    return [preset("seed_keras", dataset=dataset, epochs=epochs, seed=seed, lr_multiplier=lr_multiplier,
                   **_limits(max_train_images, max_test_images)) for seed in range(repetitions)]


def cross_validation(epochs: int, folds: int, stratified: bool, max_train_images=None,
                     max_test_images=None) -> list[Experiment]:
    """k-fold over the combined 70,000 MNIST images, one run per fold (seed 0)."""
    split = "stratified_kfold" if stratified else "kfold"
    return [preset("seed_keras", split=split, fold=fold, n_folds=folds, epochs=epochs,
                   **_limits(max_train_images, max_test_images)) for fold in range(folds)]


def tuning(dataset: str, epochs: int, kernel_sizes=(), lr_multipliers=(), optimizers=(),
           max_train_images=None, max_test_images=None) -> dict[str, list[Experiment]]:
    """One-factor-at-a-time tuning on the train/validation split (54,000/6,000 for MNIST)."""
    base = preset("seed_keras", dataset=dataset, split="validation", epochs=epochs,
                  **_limits(max_train_images, max_test_images))
    return {"kernel_size": [base.replace(kernel_size=k) for k in kernel_sizes],
            "lr_multiplier": [base.replace(lr_multiplier=float(m)) for m in lr_multipliers],
            "optimizer": [base.replace(optimizer=o) for o in optimizers]}


def all_configs(p: dict) -> list[Experiment]:
    """Every run of a profile (``params/*.yaml``), without duplicates, in a sensible order."""
    limits = _limits(p["max_train_images"], p["max_test_images"])
    configs = replication(p["epochs"], p["repetitions"], **limits)
    configs += replication(p["epochs"], p["repetitions"], lr_multiplier=10.0, **limits)
    for stratified in (False, True):
        configs += cross_validation(p["epochs"], p["folds"], stratified, **limits)
    for group in tuning("mnist", p["epochs"], p["kernel_sizes"], p["mnist_lr_multipliers"], p["optimizers"],
                        **limits).values():
        configs += group
    configs += tuning("fashion_mnist", p["epochs"], lr_multipliers=p["fashion_lr_multipliers"], **limits)["lr_multiplier"]
    configs += replication(p["epochs"], p["fashion_repetitions"], dataset="fashion_mnist", **limits)
    if p.get("emnist", False):
        configs += replication(p["epochs"], 1, dataset="emnist_byclass", **limits)
    configs += lecun1998_configs(p, screened=None)
    return list(dict.fromkeys(configs))


def lecun1998_configs(p: dict, screened: float | None) -> list[Experiment]:
    """The 1998 model's runs of a profile. The screen comes first; the rest depends on the rate it
    chooses, so it is listed only once ``screened`` (the chosen multiplier) is known, or when the
    screen's records are all present in the results folder."""
    limits = _limits(p["max_train_images"], p["max_test_images"])
    screen = lecun1998_screen(p["lecun1998_lr_multipliers"], p["lecun1998_screen_epochs"], **limits)
    if screened is None:
        from .experiments import load_record

        found = [load_record(c.key()) for c in screen]
        if any(f is None for f in found):
            return screen
        from .train import Record

        screened = choose_multiplier([Record(c, *f) for c, f in zip(screen, found)])
    runs = lecun1998_replication(p["lecun1998_epochs"], p["lecun1998_repetitions"], screened, **limits)
    runs.append(lecun1998_distortion(p["lecun1998_epochs"], screened, p["lecun1998_distortions"],
                                     p["lecun1998_pass_size"], **limits))
    runs += list(lecun1998_ablations(p["lecun1998_ablation_epochs"], screened, p["lecun1998_map_js"],
                                     **limits).values())
    return screen + runs


# --------------------------------------------------------------------------- the 1998 model (issue 5)

MU = 0.02  # SDLM's mu (lenet.sdlm.MU), kept here so that importing the study does not import TensorFlow
PAPER_DISTORTED_TEST_ERROR = 0.008  # LeNet-5 trained with 540,000 distorted copies (§III-C)
LECUN1998_SCREEN_EPOCHS = 5  # the screen covers the schedule's first two rates (passes 1-2 and 3-5)


def lecun1998_screen(lr_multipliers, epochs: int = LECUN1998_SCREEN_EPOCHS, max_train_images=None,
                     max_test_images=None) -> list[Experiment]:
    """The global-rate screen on the 54,000/6,000 validation split: the paper's eta schedule
    scaled by each multiplier (1 = as published)."""
    return [preset("lecun1998", split="validation", epochs=epochs, lr_multiplier=float(m),
                   **_limits(max_train_images, max_test_images)) for m in lr_multipliers]


def choose_multiplier(screen_records) -> float:
    """The screen's winner: the lowest validation error after the last pass (ties: the rate
    closest to the paper's). Diverged runs never win."""
    ok = [r for r in screen_records if r.ok]
    if not ok:
        raise ValueError("every run of the learning-rate screen diverged; widen the screen's multipliers")
    best = min(ok, key=lambda r: (r.history["heldout_error"].iloc[-1], abs(r.config.lr_multiplier - 1)))
    return best.config.lr_multiplier


def lecun1998_replication(epochs: int, repetitions: int, lr_multiplier: float, max_train_images=None,
                          max_test_images=None, **changes) -> list[Experiment]:
    """The faithful model on the official split, one run per seed."""
    return [preset("lecun1998", epochs=epochs, seed=seed, lr_multiplier=float(lr_multiplier),
                   **_limits(max_train_images, max_test_images), **changes) for seed in range(repetitions)]


def lecun1998_ablations(epochs: int, lr_multiplier: float, map_js=(0.1, 10.0), max_train_images=None,
                        max_test_images=None) -> dict[str, Experiment]:
    """One 1998 ingredient changed at a time (seed 0, official split), keyed by what changed."""
    base = preset("lecun1998", epochs=epochs, lr_multiplier=float(lr_multiplier),
                  **_limits(max_train_images, max_test_images))
    runs = {
        "as published (RBF + MAP, SDLM, Table I, trainable sum subsampling, [-0.1, 1.175])": base,
        "softmax + cross-entropy instead of RBF + MAP": base.replace(loss="cross_entropy"),
        "Eq. 8 (correct-class penalty only) instead of MAP": base.replace(loss="rbf"),
        "plain SGD at eta / mu (SDLM with every h_kk = 0)": base.replace(optimizer="sgd",
                                                                       lr_multiplier=lr_multiplier / MU),
        "Adam (Keras defaults, the same eta schedule)": base.replace(optimizer="adam", lr_multiplier=1.0),
        "C3 fully connected instead of Table I": base.replace(c3="full"),
        "plain 2x2 average pooling instead of trainable subsampling": base.replace(subsampling="pool"),
        "trainable subsampling, 'average' reading": base.replace(subsampling="average"),
        "input scaled to [0, 1]": base.replace(scaling="unit"),
    }
    for j in map_js:
        runs[f"MAP constant j = {j:g}"] = base.replace(map_j=float(j))
    return runs


def lecun1998_distortion(epochs: int, lr_multiplier: float, copies: int = 9, pass_size: int | None = 60000,
                         seed: int = 0, max_train_images=None, max_test_images=None) -> Experiment:
    """Training on originals + ``copies`` random affine distortions of each (the paper: 9)."""
    return preset("lecun1998", epochs=epochs, lr_multiplier=float(lr_multiplier), distortions=copies,
                  pass_size=pass_size, seed=seed, **_limits(max_train_images, max_test_images))
