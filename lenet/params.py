"""Profile parameters (``params/*.yaml`` and notebooks' ``parameters`` cells), checked before any training.

papermill only *warns* about a parameter name a notebook does not declare, and injects any value;
``check`` turns both mistakes into an error that names the parameter and what it accepts.
"""
from __future__ import annotations

import types
from pathlib import Path

import yaml

from .experiments import OPTIMIZERS
from .models import KERNEL_SIZES

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO_ROOT / "params"


def _int(minimum):
    def ok(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= minimum
    return ok, f"an integer >= {minimum}"


def _optional_int(minimum):
    ok, text = _int(minimum)
    return (lambda v: v is None or ok(v)), f"null/None or {text}"


def _list_of(allowed=None, positive_number=False):
    def ok(v):
        if not isinstance(v, (list, tuple)) or not v:
            return False
        if positive_number:
            return all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in v)
        return all(x in allowed for x in v)
    what = "positive numbers" if positive_number else f"values from {list(allowed)}"
    return ok, f"a non-empty list of {what}"


def _pools():
    def ok(v):
        return (isinstance(v, (list, tuple)) and len(v) > 0 and all(
            isinstance(t, (list, tuple)) and len(t) == 3 and all(isinstance(x, int) and not isinstance(x, bool)
                                                                 for x in t)
            and t[0] >= 1 and t[1] >= 1 and 0 <= t[2] <= t[0] // 2 for t in v))
    return ok, "a non-empty list of [kernel, stride, padding] integer triples with padding <= kernel // 2"


SCHEMA = {
    "epochs": _int(1),
    "repetitions": _int(2),  # a t-test needs at least two runs
    "folds": _int(2),
    "kernel_sizes": _list_of(KERNEL_SIZES),
    "mnist_lr_multipliers": _list_of(positive_number=True),
    "fashion_lr_multipliers": _list_of(positive_number=True),
    "optimizers": _list_of(OPTIMIZERS),
    "fashion_repetitions": _int(1),
    "emnist": ((lambda v: isinstance(v, bool)), "true or false"),
    "lecun1998_epochs": _int(1),
    "lecun1998_repetitions": _int(2),
    "lecun1998_lr_multipliers": _list_of(positive_number=True),
    "lecun1998_screen_epochs": _int(1),
    "lecun1998_ablation_epochs": _int(1),
    "lecun1998_map_js": _list_of(positive_number=True),
    "lecun1998_distortions": _int(1),
    "lecun1998_pass_size": _optional_int(1),
    "akioyamen_epochs": _int(10),  # the modern model is also read after epoch 10
    "akioyamen_repetitions": _int(2),
    "blog_epochs": _int(1),
    "blog_repetitions": _int(2),
    "ut_epochs": _int(1),
    "ut_repetitions": _int(2),
    "ut_learning_rates": _list_of(positive_number=True),
    "ut_activations": _list_of(("relu", "tanh", "sigmoid")),
    "ut_pools": _pools(),
    "ut_depths": _list_of((1, 2, 3, 4)),
    "ut_recurrent": _list_of(("rnn", "lstm")),
    "max_train_images": _optional_int(1),
    "max_test_images": _optional_int(1),
    "workers": _optional_int(1),
    "profile": ((lambda v: isinstance(v, str) and v != ""), "a profile name"),
}


class ParameterError(ValueError):
    """An unknown parameter name or an invalid value."""


def check(values: dict, declared: list[str] | None = None) -> dict:
    """Validate ``values``; names must be in ``declared`` (default: every known parameter)."""
    allowed = list(declared) if declared is not None else list(SCHEMA)
    unknown = [name for name in values if name not in allowed]
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; valid names here: {allowed}")
    for name, value in values.items():
        ok, meaning = SCHEMA[name]
        if not ok(value):
            raise ParameterError(f"parameter {name}={value!r} is invalid: expected {meaning}")
    return dict(values)


def load_profile(name_or_path: str | Path) -> dict:
    """A profile by name (``full``, ``smoke``) or path; every parameter must be given, none unknown."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
        raise ParameterError(f"no profile {str(name_or_path)!r} ({path} not found); known profiles: {known}")
    values = yaml.safe_load(path.read_text()) or {}
    required = [n for n in SCHEMA if n != "profile"]
    missing = [n for n in required if n not in values]
    if missing:
        raise ParameterError(f"{path}: missing parameter(s) {missing}")
    check(values, required)
    return {**values, "profile": path.stem}


_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def from_notebook(namespace: dict, declared: list[str]) -> types.SimpleNamespace:
    """Check a notebook's parameters right after papermill injected them.

    Every public, non-module name in ``namespace`` must be a declared parameter: a name papermill
    injected that the notebook does not declare is a typo or a wrong notebook, and stops the run.
    """
    values = {name: value for name, value in namespace.items()
              if not name.startswith("_") and name not in _IPYTHON_NAMES
              and not isinstance(value, types.ModuleType) and not callable(value)}
    return types.SimpleNamespace(**check(values, declared))
