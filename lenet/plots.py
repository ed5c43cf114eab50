"""Figures for the report; each function returns a matplotlib Figure (notebooks glue or show it)."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

sns.set_theme(style="whitegrid", context="notebook")


def learning_curves(records, references: dict | None = None, metric: str = "error", title: str = ""):
    """Per-epoch training (on the fly) and held-out ``metric`` across runs: mean line, +-1 sd band.

    ``references``: horizontal lines, e.g. {"paper test error 0.95%": 0.0095}.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    held_name = records[0].data["heldout_name"]
    for column, label, color in ((metric, "training (on the fly)", "C0"), (f"heldout_{metric}", held_name, "C1")):
        curves = np.array([r.data["history"][column] for r in records], dtype=float)
        epochs = np.arange(1, curves.shape[1] + 1)
        mean, sd = curves.mean(axis=0), curves.std(axis=0, ddof=1) if len(curves) > 1 else 0 * curves[0]
        ax.plot(epochs, mean, color=color, label=f"{label} (mean of {len(curves)})")
        ax.fill_between(epochs, mean - sd, mean + sd, color=color, alpha=0.25, linewidth=0)
    for i, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=f"C{i + 2}", linestyle="--", label=label)
    ax.set(xlabel="epoch", ylabel=metric, title=title)
    if metric == "error":
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def setting_curves(groups: dict, metric: str = "heldout_error", title: str = ""):
    """One line per setting (``{label: record}``) of a per-epoch metric, e.g. validation error."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, record in groups.items():
        history = record.data["history"]
        if history:
            ax.plot(history["epoch"], history[metric], marker=".", label=f"{label}"
                    + ("" if record.ok else " (diverged)"))
    ax.set(xlabel="epoch", ylabel=metric.replace("heldout", record.data["heldout_name"]).replace("_", " "),
           title=title)
    if "error" in metric:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def confusion_matrix(matrix, class_names, normalize: bool = False, title: str = "", groups=None,
                     annotate: bool | None = None):
    """Heatmap of a confusion matrix (rows: true class, columns: predicted).

    ``normalize``: each row divided by its count. ``groups``: list of (name, first, last) index
    ranges drawn as separators (EMNIST digits / upper / lower case).
    """
    cm = np.asarray(matrix, dtype=float)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k = len(class_names)
    annotate = k <= 12 if annotate is None else annotate
    size = 6 if k <= 12 else 13
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    sns.heatmap(cm, ax=ax, cmap="Blues", square=True, cbar=True, annot=annotate,
                fmt=".2f" if normalize else ".0f", annot_kws={"size": 8},
                xticklabels=class_names, yticklabels=class_names,
                norm=matplotlib.colors.PowerNorm(0.4) if not normalize else None)
    for _, first, last in groups or []:
        for edge in (first, last + 1):
            ax.axhline(edge, color="k", linewidth=0.8)
            ax.axvline(edge, color="k", linewidth=0.8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    if k > 12:
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def image_grid(images, captions, ncols: int = 10, title: str = "", cmap: str = "gray_r"):
    """Small images with a caption under each (sample grids, misclassification galleries)."""
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.95, nrows * 1.15))
    for ax, i in zip(np.ravel(axes), range(nrows * ncols)):
        ax.axis("off")
        if i < n:
            ax.imshow(np.squeeze(images[i]), cmap=cmap)
            ax.set_title(captions[i], fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def misclassified(images, y_true, y_pred, class_names, n: int = 30, title: str = ""):
    """The first ``n`` misclassified test images, captioned 'true -> predicted'."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:n]
    captions = [f"{class_names[y_true[i]]} \u2192 {class_names[y_pred[i]]}" for i in wrong]
    return image_grid(images[wrong], captions, title=title)


def class_counts(labels_by_split: dict, class_names, title: str = ""):
    """Bar chart of images per class for each split ({"train": y_train, "test": y_test})."""
    frame = pd.concat([pd.DataFrame({"class": np.asarray(class_names)[np.asarray(y)], "split": split})
                       for split, y in labels_by_split.items()])
    fig, ax = plt.subplots(figsize=(max(6, len(class_names) * 0.35), 3.5))
    sns.countplot(frame, x="class", hue="split", order=list(class_names), ax=ax)
    ax.set(xlabel="", ylabel="images", title=title)
    ax.tick_params(axis="x", rotation=90 if len(class_names) > 12 else 30, labelsize=8)
    fig.tight_layout()
    return fig


def accuracy_points(groups: dict, reference: float | None = None, reference_label: str = "", title: str = ""):
    """Strip plot of per-run test accuracy by group ({label: [accuracies]}), with means."""
    frame = pd.DataFrame([(g, a) for g, values in groups.items() for a in values], columns=["group", "accuracy"])
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sns.stripplot(frame, x="group", y="accuracy", ax=ax, size=6, jitter=0.15)
    sns.pointplot(frame, x="group", y="accuracy", ax=ax, color="k", linestyle="none", errorbar=("ci", 95),
                  markers="_", markersize=20)
    if reference is not None:
        ax.axhline(reference, color="C3", linestyle="--", label=reference_label)
        ax.legend(fontsize="small")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=2))
    ax.set(xlabel="", ylabel="test accuracy", title=title)
    fig.tight_layout()
    return fig


def kernel_heatmaps(kernels, row_labels, col_labels, title: str = "", cmap: str = "RdBu_r"):
    """Heat maps of 2-D kernels laid out as ``kernels[row][col]`` (shape rows x cols x h x w), one
    colour scale per row: symmetric around zero (red positive, blue negative), or from 0 up when
    no value is negative (feature maps after a ReLU)."""
    kernels = np.asarray(kernels, dtype=float)
    rows, cols = kernels.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9 + 1.2, rows * 0.9 + 0.6), squeeze=False)
    for r in range(rows):
        limit = float(np.abs(kernels[r]).max()) or 1.0
        low = 0.0 if kernels[r].min() >= 0 else -limit
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(kernels[r, c], cmap=cmap, vmin=low, vmax=limit)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_labels[c], fontsize=7)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=7, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def repetition_curves(facets: dict, metric: str = "heldout_accuracy", title: str = "", ncols: int = 3,
                      ylabel: str | None = None):
    """Every repetition's per-epoch ``metric``: one panel per facet (``{facet: {setting: [records]}}``),
    one colour per setting, one thin line per run (a diverged run ends where it stopped)."""
    n = len(facets)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows + 0.6), squeeze=False,
                             sharey=True)
    handles = {}
    for ax, (facet, groups) in zip(np.ravel(axes), facets.items()):
        for i, (setting, records) in enumerate(groups.items()):
            for record in records:
                history = record.data["history"]
                if history:
                    (line,) = ax.plot(history["epoch"], history[metric], color=f"C{i}", linewidth=1, alpha=0.8)
                    handles[setting] = line
        ax.set(title=str(facet), xlabel="epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if "accuracy" in metric:
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    for ax in np.ravel(axes)[n:]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel or metric.replace("heldout_", "held-out ").replace("_", " "))
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(len(handles), 6),
               fontsize="small", frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08 if nrows == 1 else 0.05, 1, 1))
    return fig


def versus_published(frame, title: str = "", percent: bool = True, log: bool = False):
    """Published value (cross) against ours (mean, 95% CI bar) per row of ``frame``, which has the
    columns ``claim``, ``published``, ``mean``, ``ci_low``, ``ci_high``. ``log``: a log axis, on
    which a CI reaching below zero is drawn down to the axis' left edge."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(frame) + 1.2))
    y = np.arange(len(frame))[::-1]
    low = np.asarray(frame["ci_low"], dtype=float)
    if log:
        floor = 0.5 * min(np.min(frame["published"]), np.min(frame["mean"]))
        low = np.maximum(low, floor)
        ax.set_xscale("log")
    ax.errorbar(frame["mean"], y, xerr=[frame["mean"] - low, frame["ci_high"] - frame["mean"]],
                fmt="o", color="C0", capsize=3, label="ours: mean, 95% CI")
    ax.scatter(frame["published"], y, marker="x", color="C3", s=50, zorder=3, label="published")
    ax.set_yticks(y, frame["claim"], fontsize=8)
    if percent:
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{100 * x:g}%") if log
                                     else matplotlib.ticker.PercentFormatter(1.0, decimals=1))
    ax.set(title=title)
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig


def ledger_summary(frame):
    """The claims ledger at a glance: each published number (x) against ours (y, mean and 95% CI),
    log-log, coloured by verdict. Left: rates (accuracies shown as error = 1 - accuracy, so that
    both axes are logs of small numbers); right: every other positive quantity (losses, counts,
    ratios, steps). On the diagonal, ours equals theirs."""
    rate_words = ("accuracy", "precision", "recall", "F1")
    colours = {"reproduced": "C2", "differs": "C3", "inconclusive": "C7", "not tested": "C1"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, rates in zip(axes, (True, False)):
        for verdict, colour in colours.items():
            rows = frame[(frame["verdict"] == verdict) & ((frame["unit"] == "%") == rates)]
            rows = rows[rows["published_value"].notna() & rows["mean"].notna()]
            theirs, ours = rows["published_value"].astype(float), rows["mean"].astype(float)
            low = rows["ci_low"].astype(float).fillna(ours)
            high = rows["ci_high"].astype(float).fillna(ours)
            flip = rows["quantity"].str.contains("|".join(rate_words)) & ~rows["quantity"].str.startswith("sd")
            theirs, ours, low, high = (theirs.where(~flip, 1 - theirs), ours.where(~flip, 1 - ours),
                                       low.where(~flip, 1 - high), high.where(~flip, 1 - low))
            keep = (theirs > 0) & (ours > 0)
            if not keep.any():
                continue
            theirs, ours, low, high = theirs[keep], ours[keep], low[keep], high[keep]
            floor = 0.5 * ours.min()
            ax.errorbar(theirs, ours, yerr=[ours - np.maximum(low, floor), high - ours], fmt="o", color=colour,
                        ms=5, capsize=2, alpha=0.85, label=f"{verdict} ({len(theirs)})")
        ax.set(xscale="log", yscale="log")
        ax.axline((1e-3, 1e-3), (1e-2, 1e-2), color="0.6", lw=1, ls="--", zorder=0)  # ours = theirs
        ax.set( xlabel="published", ylabel="ours (mean, 95% CI)",
               title="error rates (accuracies as 1 - accuracy)" if rates else "other quantities")
        ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    return fig
