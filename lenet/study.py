"""The report's experiments as data: each study is a function from profile parameters to configs.

Notebooks call these (then ``lenet.sweep.run_sweep``), and ``all_configs(profile)`` lists every
run of a profile so the whole study can be trained ahead of the notebooks in one sweep.
"""
from __future__ import annotations

from .experiments import Experiment, preset

PAPER_TEST_ERROR = 0.0095  # LeNet-5, no distortions (LeCun et al. 1998, §III-C)
PAPER_TRAIN_ERROR = 0.0035
PAPER_TEST_ACCURACY = 1 - PAPER_TEST_ERROR
UCL_CV_FOLDS = (0.987314, 0.989392, 0.985808, 0.986884, 0.986525)  # their 5 fold accuracies
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
    configs += other_study_configs(p)
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


# --------------------------------------------------------------------------- the other studies (issue 6)
# Published numbers, CLAIMS.md §C-§E, as fractions (their tables give percentages).

AKIOYAMEN = {  # model -> (train error, test error)
    "reproduction": (0.0080, 0.0174),
    "modern, 10 epochs": (0.0090, 0.0152),
    "modern, 20 epochs": (0.00002, 0.0100),
}
BLOG = {"train_accuracy": 0.9981, "train_loss": 0.006, "validation_accuracy": 0.9872, "validation_loss": 0.0609,
        "test_accuracy": 0.9837, "test_loss": 0.0599}
AKIOYAMEN_CHECKPOINT = 10  # the modern model's first table row is after 10 epochs
UT_ACCURACY = 0.99  # "about 99%" for the base model
UT_MARGIN = 0.01  # the UT report states whole percents: "about equal" / "about 99%" get +-1 pp
UT_DEPTH_SECONDS = {1: 128, 2: 158, 3: 593, 4: 735}  # training time per model, by conv layers


def akioyamen(epochs: int, repetitions: int, max_train_images=None, max_test_images=None) -> dict[str, list[Experiment]]:
    """Akioyamen's two models on the official split, one run per seed. The modern model's
    10-epoch numbers are read after epoch 10 of its 20-epoch runs: its schedule depends only on
    the epoch, so those first 10 epochs are exactly a 10-epoch run (tests/test_train.py checks it)."""
    limits = _limits(max_train_images, max_test_images)
    return {"reproduction": [preset("akioyamen", epochs=epochs, seed=s, **limits) for s in range(repetitions)],
            "modern": [preset("modern", epochs=epochs, seed=s, **limits) for s in range(repetitions)]}


def blog(epochs: int, repetitions: int, max_train_images=None, max_test_images=None) -> list[Experiment]:
    """Kharbanda's blog model: 54,000 / 6,000 / 10,000 (their validation_split=0.1), one run per seed."""
    return [preset("blog", epochs=epochs, seed=s, **_limits(max_train_images, max_test_images))
            for s in range(repetitions)]


def ut(epochs: int, repetitions: int, learning_rates, activations, pools, depths, recurrent,
       max_train_images=None, max_test_images=None) -> dict[str, dict[tuple, list[Experiment]]]:
    """The UT report's experiments on its base model, ``repetitions`` seeds per setting, keyed by
    experiment and setting. The base (ReLU, pool 2/2/0, 2 conv layers, linear, lr 0.01) is shared."""
    base = preset("ut", epochs=epochs, **_limits(max_train_images, max_test_images))

    def seeds(config):
        return [config.replace(seed=s) for s in range(repetitions)]

    return {
        # beside the base: SGD with momentum 0.9, a check of ours (the report names plain SGD)
        "base": {("sgd",): seeds(base), ("sgd_momentum",): seeds(base.replace(optimizer="sgd_momentum"))},
        "nonlinearity": {(a, float(lr)): seeds(base.replace(activation=a, base_lr=float(lr)))
                         for a in activations for lr in learning_rates},
        "pooling": {(2, 2, 0): seeds(base)} | {tuple(p): seeds(base.replace(pool_size=p[0], pool_stride=p[1],
                                                                          pool_padding=p[2])) for p in pools},
        "depth": {(d,): seeds(base.replace(conv_layers=d)) for d in depths},
        "recurrent": {(fc, float(lr)): seeds(base.replace(fc=fc, base_lr=float(lr)))
                      for fc in ("linear", *recurrent) for lr in learning_rates},
    }


def other_study_configs(p: dict) -> list[Experiment]:
    """Every run of issue 6's three studies for a profile."""
    limits = _limits(p["max_train_images"], p["max_test_images"])
    studies = akioyamen(p["akioyamen_epochs"], p["akioyamen_repetitions"], **limits)
    configs = studies["reproduction"] + studies["modern"]
    configs += blog(p["blog_epochs"], p["blog_repetitions"], **limits)
    for experiment in ut(p["ut_epochs"], p["ut_repetitions"], p["ut_learning_rates"], p["ut_activations"],
                         p["ut_pools"], p["ut_depths"], p["ut_recurrent"], **limits).values():
        for group in experiment.values():
            configs += group
    return list(dict.fromkeys(configs))
