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
