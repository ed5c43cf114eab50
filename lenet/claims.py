"""The claims ledger: every published number the report confronts, and ours beside it.

``CATALOGUE`` lists each numeric claim of the sources (``../shared/docs/CLAIMS.md`` and
``LENET5_1998.md``) once: who claims it, in which setting, the published value, and the chapter
that answers it. A chapter opens a ``Ledger`` and adds one row per claim it answers, computed
from its recorded runs; the verdict comes from a rule in ``lenet.stats``, never from a typed
word. The ledger chapter reads every chapter's rows back (``ledger()``) and fails when a claim
of the catalogue has no row. A chapter also lists the runs it rendered (``Ledger.runs``), which
the provenance page reads.

Rows live in ``$LENET_LEDGER_DIR`` (the pipeline points it into the build folder), one JSON file
per chapter, rewritten whenever that chapter runs.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from . import study

VERDICTS = ("reproduced", "differs", "inconclusive", "not tested")
PAPER = "LeCun et al. 1998"
UCL = "Johnston et al. 2024 (UCL)"
AKIOYAMEN = "Akioyamen"
BLOG = "Kharbanda (blog)"
UT = "Landry & Cabrera (UT)"
SOURCES = (PAPER, UCL, AKIOYAMEN, BLOG, UT)
HOLDS = {"holds": "reproduced", "does not hold": "differs", "inconclusive": "inconclusive"}


@dataclass(frozen=True)
class Claim:
    """One published number. ``unit``: ``%`` for fractions shown as percent, else plain."""

    id: str
    source: str
    setting: str
    quantity: str
    published: float | str
    chapter: str
    unit: str = ""


_L98, _REP, _STAT, _CV, _TUNE = "08_lecun1998", "02_replication", "03_statistics", "04_cross_validation", "05_tuning"
_FIG9 = {  # Fig. 9: other classifiers' MNIST test error (%), none of them run here
    "linear": 12.0, "[deslant] linear": 8.4, "pairwise": 7.6, "K-NN Euclidean": 5.0, "[deslant] K-NN Euclidean": 2.4,
    "40 PCA + quadratic": 3.3, "1000 RBF + linear": 3.6, "[16x16] tangent distance": 1.1, "SVM poly 4": 1.1,
    "RS-SVM poly 5": 1.0, "[dist] V-SVM poly 9": 0.8, "28x28-300-10": 4.7, "[dist] 28x28-300-10": 3.6,
    "28x28-1000-10": 4.5, "[dist] 28x28-1000-10": 3.8, "28x28-300-100-10": 3.05, "[dist] 28x28-300-100-10": 2.5,
    "28x28-500-150-10": 2.95, "[dist] 28x28-500-150-10": 2.45, "LeNet-1": 1.7, "LeNet-4": 1.1,
    "[dist] boosted LeNet-4": 0.7,
}
_LAYERS = {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164}

CATALOGUE: tuple[Claim, ...] = (
    # --- the 1998 paper (CLAIMS.md §A, LENET5_1998.md), answered by the faithful model
    Claim("A.test_error", PAPER, "LeNet-5, no distortions, 20 passes", "test error", study.PAPER_TEST_ERROR, _L98, "%"),
    Claim("A.train_error", PAPER, "LeNet-5, training error on the fly after 19 passes", "training error",
       study.PAPER_TRAIN_ERROR, _L98, "%"),
    Claim("A.distorted_error", PAPER, "LeNet-5 + 540,000 distorted copies", "test error",
       study.PAPER_DISTORTED_TEST_ERROR, _L98, "%"),
    Claim("A.distorted_count", PAPER, "LeNet-5 + distortions (Fig. 8)", "misclassified test images", 82, _L98),
    Claim("A.parameters", PAPER, "LeNet-5 architecture", "trainable parameters", 60000, _L98),
    *(Claim(f"A.parameters_{name}", PAPER, f"layer {name}", "trainable parameters", count, _L98)
      for name, count in _LAYERS.items()),
    Claim("A.connections", PAPER, "LeNet-5 architecture", "connections", 340908, _L98),
    Claim("A.step_min", PAPER, "SDLM, first pass", "smallest step eta/(mu + h_kk)", 7e-5, _L98),
    Claim("A.step_max", PAPER, "SDLM, first pass", "largest step eta/(mu + h_kk)", 0.016, _L98),
    Claim("A.input_mean", PAPER, "input scaling -0.1 / 1.175", "pixel mean (\"about 0\")", 0.0, "01_data"),
    Claim("A.input_var", PAPER, "input scaling -0.1 / 1.175", "pixel variance (\"about 1\")", 1.0, "01_data"),
    Claim("A.cost", PAPER, "training LeNet-5 (200 MHz R10000)", "CPU-days", "2-3", _L98),
    *(Claim(f"A.fig9.{name}", PAPER, f"Fig. 9: {name}", "test error", value / 100, "12_claims", "%")
      for name, value in _FIG9.items()),
    # --- the UCL group (§B)
    Claim("B.mean", UCL, "seed model, MNIST, 10 repetitions", "mean test accuracy", study.UCL["mean"], _REP, "%"),
    Claim("B.sd", UCL, "seed model, MNIST, 10 repetitions", "sd of test accuracy", study.UCL["sd"], _REP, "%"),
    Claim("B.ttest", UCL, "one-sample t-test vs 99.05% (df 9)", "t (they conclude: not reproduced)", study.UCL["t"], _STAT),
    Claim("B.single_loss", UCL, "seed model, one run", "test loss", 0.0507, _REP),
    Claim("B.single_f1", UCL, "seed model, one run", "accuracy = micro precision = recall = F1", 0.9888, _REP, "%"),
    Claim("B.gap", UCL, "seed model, last epoch", "test error minus training error (\"about 0.5 pp\")", 0.005, _REP, "%"),
    Claim("B.start_above", UCL, "seed model, first epoch", "training error above test error", "yes", _REP),
    Claim("B.confusions", UCL, "seed model, MNIST", "largest confusions (true->predicted)", "7->1, 5->3, 4->1", _REP),
    Claim("B.cv_folds", UCL, "5-fold CV on 70,000", "fold accuracies", ", ".join(f"{a:.4%}" for a in study.UCL_CV_FOLDS),
       _CV),
    Claim("B.cv_mean", UCL, "5-fold CV on 70,000", "mean accuracy", study.UCL["cv_mean"], _CV, "%"),
    Claim("B.cv_loss", UCL, "5-fold CV on 70,000", "mean loss", 0.0426, _CV),
    Claim("B.tuning_split", UCL, "tuning", "train / validation / test images", "54,000 / 6,000 / 10,000", _TUNE),
    Claim("B.kernel", UCL, "tuning: kernel size 3 / 5 / 7", "best kernel size", 5, _TUNE),
    Claim("B.lr_best", UCL, "tuning: LR multiplier 1 / 5 / 10 / 50 / 100", "best multiplier", 10, _TUNE),
    Claim("B.lr10_mean", UCL, "LR x10, 10 repetitions", "mean test accuracy", study.UCL["lr10_mean"], _STAT, "%"),
    Claim("B.lr10_sd", UCL, "LR x10, 10 repetitions", "sd of test accuracy (their \"variance\")", 0.00075, _STAT, "%"),
    Claim("B.lr10_ttest", UCL, "LR x10: t-test vs 99.05%", "t (they conclude: reproduced)", study.UCL["lr10_t"], _STAT),
    Claim("B.fashion_acc", UCL, "Fashion-MNIST, 20 epochs (text)", "test accuracy", study.UCL["fashion_accuracy"],
       "06_fashion_mnist", "%"),
    Claim("B.fashion_loss", UCL, "Fashion-MNIST, 20 epochs (text)", "test loss", 0.3093, "06_fashion_mnist"),
    Claim("B.fashion_table_loss", UCL, "Fashion-MNIST (table)", "test loss", 0.2995, "06_fashion_mnist"),
    Claim("B.fashion_table_acc", UCL, "Fashion-MNIST (table)", "test accuracy", 0.89100, "06_fashion_mnist", "%"),
    Claim("B.fashion_precision", UCL, "Fashion-MNIST (table)", "macro precision", 0.89067, "06_fashion_mnist", "%"),
    Claim("B.fashion_recall", UCL, "Fashion-MNIST (table)", "macro recall", 0.89100, "06_fashion_mnist", "%"),
    Claim("B.fashion_f1", UCL, "Fashion-MNIST (table)", "macro F1", study.UCL["fashion_macro_f1"], "06_fashion_mnist", "%"),
    Claim("B.emnist_acc", UCL, "EMNIST byclass, 20 epochs", "test accuracy (= micro P = R = F1)",
       study.UCL["emnist_accuracy"], "07_emnist", "%"),
    Claim("B.emnist_loss", UCL, "EMNIST byclass, 20 epochs", "test loss", 0.3768, "07_emnist"),
    # --- Akioyamen (§C)
    *(Claim(f"C.{key}_{part}", AKIOYAMEN, setting, f"{part} error", study.AKIOYAMEN[setting][i], "09_akioyamen", "%")
      for key, setting in (("reproduction", "reproduction"), ("modern10", "modern, 10 epochs"),
                           ("modern20", "modern, 20 epochs"))
      for i, part in enumerate(("train", "test"))),
    # --- the blog (§D)
    *(Claim(f"D.{name}", BLOG, "28x28, no F6, tanh, Adam, batch 10, 20 epochs", name.replace("_", " "), value, "10_blog",
         "%" if name.endswith("accuracy") else "") for name, value in study.BLOG.items()),
    # --- the UT report (§E)
    Claim("E.base", UT, "base model, 20 epochs", "test accuracy (\"about 99%\")", study.UT_ACCURACY, "11_ut", "%"),
    Claim("E.tanh_fastest", UT, "nonlinearity x learning rate", "tanh learns fastest", "holds", "11_ut"),
    Claim("E.tanh_consistent", UT, "nonlinearity x learning rate", "tanh most consistent", "holds", "11_ut"),
    Claim("E.sigmoid_barely", UT, "nonlinearity x learning rate", "sigmoid barely learns", "holds", "11_ut"),
    Claim("E.depth_best", UT, "1-4 conv layers", "2 conv layers best overall", "holds", "11_ut"),
    *(Claim(f"E.depth_time_{d}", UT, f"{d} conv layers", "training time / 1 layer's",
         study.UT_DEPTH_SECONDS[d] / study.UT_DEPTH_SECONDS[1], "11_ut") for d in (2, 3, 4)),
    Claim("E.rnn_equal", UT, "RNN in place of FC 256->120", "RNN about equal to linear", "holds", "11_ut"),
    Claim("E.lstm_worse", UT, "LSTM in place of FC 256->120", "LSTM worse than linear", "holds", "11_ut"),
    Claim("E.lstm_low", UT, "LSTM in place of FC 256->120", "worse especially at low learning rate", "holds", "11_ut"),
)
BY_ID = {c.id: c for c in CATALOGUE}


def claim(claim_id: str) -> Claim:
    """The catalogue's claim ``claim_id``, or a KeyError that says where the catalogue is."""
    if claim_id not in BY_ID:
        raise KeyError(f"unknown claim {claim_id!r}; the catalogue is lenet.claims.CATALOGUE")
    return BY_ID[claim_id]

# The rules, stated once; the ledger chapter prints this table.
RULES = {
    "published number, repeated runs": "TOST (statsmodels) shows our mean within the stated margin of theirs: "
    "reproduced; else a two-sided one-sample t-test at 5% rejects equality: differs; else inconclusive. Margin "
    "+-0.10 pp for accuracies and errors (+-1 pp where the source gives whole percents); no margin for losses "
    "and ratios, which can only differ or stay inconclusive",
    "published spread": "F-test of our variance against theirs (both n - 1 degrees of freedom), two-sided, 5%: "
    "differs when it rejects, else inconclusive",
    "one run of ours": "no test: inconclusive, whatever the numbers",
    "their comparison of two settings": "exact one-sided Mann-Whitney test (\"A beats B\"), Welch TOST (\"about "
    "equal\") or Brown-Forsythe (\"more consistent\"), as chapter 11 states: holds = reproduced, does not hold = "
    "differs",
    "a choice or a count, computed exactly": "the same value: reproduced; another value: differs",
    "their test's conclusion": "we run the same test on our runs: the same conclusion is reproduced, the other "
    "differs",
}


# --------------------------------------------------------------------------- writing rows

def ledger_dir() -> Path:
    """``$LENET_LEDGER_DIR``, else ``_build/ledger`` at the repository root."""
    if os.environ.get("LENET_LEDGER_DIR"):
        return Path(os.environ["LENET_LEDGER_DIR"])
    return Path(__file__).resolve().parent.parent / "_build" / "ledger"


def _fmt(value, unit: str) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if unit == "%":
        return f"{100 * value:.3g}%"
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:.4g}"


class Ledger:
    """A chapter's rows of the claims ledger, and the runs it rendered."""

    def __init__(self, chapter: str, folder: Path | str | None = None):
        self.chapter = chapter
        self.path = Path(folder or ledger_dir()) / f"{chapter}.json"
        self.rows: list[dict] = []
        self.keys: list[str] = []
        self._save()  # a rerun of the chapter starts its rows afresh

    def _save(self) -> None:
        from .data import atomic_write

        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"chapter": self.chapter, "claims": self.rows, "runs": self.keys}, indent=1)
        atomic_write(self.path, lambda handle: handle.write(text.encode()))

    def runs(self, records) -> None:
        """Note the records this chapter rendered (for the provenance page)."""
        self.keys += [r.key for r in records if r is not None and r.key not in self.keys]
        self._save()

    def _add(self, claim_id: str, *, kind: str, ours, mean=None, ci_low=None, ci_high=None, n=None, test: str,
             verdict: str, note: str = "") -> dict:
        """One row; ``kind`` names the rule (the method that called: number, spread, compared, exact, not_tested)."""
        found = claim(claim_id)
        if found.chapter != self.chapter:
            raise ValueError(f"claim {claim_id} belongs to chapter {found.chapter}, not {self.chapter}")
        if verdict not in VERDICTS:
            raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
        numbers = {k: (None if v is None else float(v)) for k, v in
                   (("mean", mean), ("ci_low", ci_low), ("ci_high", ci_high))}
        row = {"id": claim_id, "source": found.source, "setting": found.setting, "quantity": found.quantity,
               "published": _fmt(found.published, found.unit),
               "published_value": found.published if isinstance(found.published, (int, float)) else None,
               "unit": found.unit, "ours": ours if isinstance(ours, str) else _fmt(ours, found.unit), **numbers,
               "n": None if n is None else int(n), "kind": kind, "test": test, "verdict": verdict, "note": note,
               "chapter": self.chapter}
        self.rows = [r for r in self.rows if r["id"] != claim_id] + [row]
        self._save()
        return row

    def number(self, claim_id: str, values, margin: float | None = None) -> dict:
        """Our runs' values against a published number (``stats.published_verdict``); the returned
        row also carries the t-test's t and p and the TOST p."""
        from . import stats

        values = [float(v) for v in values]
        published = claim(claim_id).published
        if len(values) < 2:
            row = self._add(claim_id, kind="number", ours=values[0], mean=values[0], n=len(values),
                            test="one run: no test", verdict="inconclusive")
            return {**row, "t": math.nan, "p": math.nan, "tost_p": math.nan}
        v = stats.published_verdict(values, published, margin)
        test = (f"TOST +-{_fmt(margin, claim(claim_id).unit).replace('%', ' pp')} and t-test" if margin
                else "t-test (no equivalence margin)")
        row = self._add(claim_id, kind="number", ours=v["mean"], mean=v["mean"], ci_low=v["ci_low"],
                        ci_high=v["ci_high"], n=v["n"], test=test, verdict=v["verdict"],
                        note=f"t = {v['t']:.2f}, p = {v['p']:.3g}" + (f", TOST p = {v['tost_p']:.3g}" if margin else ""))
        return {**row, "t": v["t"], "p": v["p"], "tost_p": v["tost_p"]}  # for the chapter's own table

    def spread(self, claim_id: str, values, published_n: int) -> dict:
        """Our sd against a published sd (``stats.sd_verdict``)."""
        from . import stats

        v = stats.sd_verdict(values, claim(claim_id).published, published_n)
        return self._add(claim_id, kind="spread", ours=v["sd"], mean=v["sd"], ci_low=v["ci_low"],
                         ci_high=v["ci_high"], n=v["n"], test="F-test of variances", verdict=v["verdict"],
                         note=f"F = {v['F']:.2f}, p = {v['p']:.3g}")

    def compared(self, claim_id: str, verdict: str, test: str, ours: str, n: int | None = None) -> dict:
        """A comparison of settings decided by a rule of ``lenet.stats`` (holds / does not hold / inconclusive)."""
        return self._add(claim_id, kind="compared", ours=ours, n=n, test=test, verdict=HOLDS.get(verdict, verdict))

    def exact(self, claim_id: str, ours, test: str, same: bool | None = None, tolerance: float = 0.0,
              n: int | None = None) -> dict:
        """A value computed exactly (a count, a choice, a test's conclusion): reproduced when it is
        theirs (``same``, or by default within ``tolerance`` of the published number)."""
        if same is None:
            same = abs(ours - claim(claim_id).published) <= tolerance
        mean = ours if isinstance(ours, (int, float)) else None
        return self._add(claim_id, kind="exact", ours=ours, mean=mean, n=n, test=test,
                         verdict="reproduced" if same else "differs")

    def not_tested(self, claim_id: str, reason: str, ours="") -> dict:
        return self._add(claim_id, kind="not_tested", ours=ours, test="none", verdict="not tested", note=reason)

    def table(self):
        """This chapter's rows, for display at the end of the chapter."""
        return display_table(self.rows)


# --------------------------------------------------------------------------- reading the ledger

def read(folder: Path | str | None = None) -> dict[str, dict]:
    """Every chapter's saved rows and runs, by chapter."""
    folder = Path(folder or ledger_dir())
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def ledger(folder: Path | str | None = None):
    """All rows as a DataFrame in catalogue order; an error names every claim without a row."""
    import pandas as pd

    rows = {row["id"]: row for chapter in read(folder).values() for row in chapter["claims"]}
    missing = [c for c in CATALOGUE if c.id not in rows]
    if missing:
        chapters = sorted({c.chapter for c in missing})
        raise LookupError(f"{len(missing)} claims have no row: {[c.id for c in missing]}. They are answered by "
                          f"chapter(s) {chapters}: run those notebooks first (python -m lenet.pipeline runs them all "
                          f"in order).")
    return pd.DataFrame([rows[c.id] for c in CATALOGUE]).set_index("id")


def display_table(rows):
    """Rows as a readable DataFrame: who, what, theirs, ours with its 95% CI, n, test, verdict."""
    import pandas as pd

    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return frame

    def interval(row):
        if row["ci_low"] is None or pd.isna(row["ci_low"]):
            return ""
        return f"{_fmt(row['ci_low'], row['unit'])} to {_fmt(row['ci_high'], row['unit'])}"

    frame["95% CI"] = frame.apply(interval, axis=1)
    frame["n"] = frame["n"].map(lambda n: "" if n is None or pd.isna(n) else str(int(n)))
    return frame[["source", "setting", "quantity", "published", "ours", "95% CI", "n", "verdict", "test",
                  "note"]].rename(columns={"published": "theirs"})
