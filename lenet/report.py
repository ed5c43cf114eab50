"""Tables and small helpers the report's notebooks share (numbers come from records, never typed)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def runs_table(records, by: str = "seed") -> pd.DataFrame:
    """One row per run: the ``by`` field, final training error (on the fly), held-out and test metrics."""
    rows = []
    for r in records:
        h = r.data["history"]
        rows.append({
            by: r.data["config"][by],
            "status": r.data["status"],
            "train error (last epoch)": h["error"][-1] if h else np.nan,
            f"{r.data['heldout_name'].split()[0]} error (last epoch)": h["heldout_error"][-1] if h else np.nan,
            "test loss": r.test["loss"] if r.ok else np.nan,
            "test accuracy": r.test_accuracy,
            "seconds": r.data["wall_time_s"],
        })
    return pd.DataFrame(rows).set_index(by)


def top_confusions(matrix, class_names, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest off-diagonal cells: true class, predicted class, count, share of the true class."""
    cm = np.asarray(matrix)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:n]
    rows = []
    for flat in order:
        t, p = np.unravel_index(flat, cm.shape)
        if off[t, p] == 0:
            break
        rows.append({"true": class_names[t], "predicted": class_names[p], "count": int(off[t, p]),
                     "share of true class": off[t, p] / max(cm[t].sum(), 1)})
    return pd.DataFrame(rows)


def character_groups(class_names) -> tuple[list[int], list[tuple[str, int, int]]]:
    """EMNIST: class order digits, upper case, lower case, and the (name, first, last) ranges."""
    kinds = [("digits", str.isdigit), ("upper case", str.isupper), ("lower case", str.islower)]
    order, groups = [], []
    for name, test in kinds:
        members = [i for i, c in enumerate(class_names) if test(c[0])]
        if members:
            groups.append((name, len(order), len(order) + len(members) - 1))
            order += members
    order += [i for i in range(len(class_names)) if i not in order]
    return order, groups


def glue(name: str, value, display: bool = False) -> None:
    """``myst_nb.glue`` for values cited in prose with ``{glue:text}``. NumPy scalars become Python
    numbers, so that a format spec (``key:.2f``, or ``path::key:d`` from another page) applies;
    strings stay plain (``:s`` from another page renders them without quotes)."""
    from myst_nb import glue as _glue

    if isinstance(value, np.generic):
        value = value.item()
    _glue(name, value, display=display)


def settings_table(groups: dict, name: str = "setting") -> pd.DataFrame:
    """One row per setting (``{setting: [records]}``): runs, final test accuracy mean / sd / min /
    max, the mean held-out accuracy over epochs (area under the learning curve, a speed measure),
    and the median seconds per epoch."""
    rows = []
    for setting, records in groups.items():
        accuracy = np.array([r.test_accuracy for r in records])
        curve = [np.mean(r.data["history"]["heldout_accuracy"]) for r in records if r.ok]
        seconds = [np.median(r.data["history"]["seconds"]) for r in records if r.data["history"]]
        rows.append({name: setting, "runs": len(records), "diverged": sum(not r.ok for r in records),
                     "test accuracy": np.nanmean(accuracy) if np.isfinite(accuracy).any() else np.nan,
                     "sd": np.nanstd(accuracy, ddof=1) if np.isfinite(accuracy).sum() > 1 else np.nan,
                     "min": np.nanmin(accuracy) if np.isfinite(accuracy).any() else np.nan,
                     "max": np.nanmax(accuracy) if np.isfinite(accuracy).any() else np.nan,
                     "mean accuracy over epochs": np.mean(curve) if curve else np.nan,
                     "s / epoch": np.mean(seconds) if seconds else np.nan})
    return pd.DataFrame(rows).set_index(name)


def conv_responses(image: np.ndarray, kernel: np.ndarray, bias: np.ndarray, activation: str = "relu") -> np.ndarray:
    """What a first conv layer computes on one image: each output channel's valid cross-correlation
    with the image plus its bias, through ``activation`` (scipy; Keras' Conv2D is a cross-correlation).
    ``kernel`` is (h, w, 1, out); returns (out, H - h + 1, W - w + 1)."""
    from scipy.signal import correlate2d

    maps = np.stack([correlate2d(image, kernel[:, :, 0, c], mode="valid") + bias[c] for c in range(kernel.shape[-1])])
    return {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
            "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[activation](maps)


def kernel_match(kernels_a: np.ndarray, kernels_b: np.ndarray) -> np.ndarray:
    """For each kernel of ``a`` (h, w, n_a), the largest absolute Pearson correlation with any
    kernel of ``b`` (h, w, n_b): near 1 when another run learned the same pattern, up to sign."""
    a = kernels_a.reshape(-1, kernels_a.shape[-1]).T
    b = kernels_b.reshape(-1, kernels_b.shape[-1]).T
    a = (a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True)
    b = (b - b.mean(1, keepdims=True)) / b.std(1, keepdims=True)
    return np.abs(a @ b.T / a.shape[1]).max(axis=1)
