"""Statistics for comparing repeated runs with a published number (scipy / statsmodels underneath).

``one_sample_ttest`` is what the UCL group ran (their t = -9.592 for 10 runs vs 0.9905);
``tost`` is the equivalence test that can actually support "reproduced": it rejects only when
the mean is shown to lie within ``mu +- margin``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps


def _as_values(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2:
        raise ValueError(f"need at least 2 values for a one-sample test, got {x.size}")
    return x


def ttest_from_summary(mean: float, sd: float, n: int, mu: float, alpha: float = 0.05) -> dict:
    """One-sample t-test from a published mean, sample sd and n (two-sided)."""
    df = n - 1
    se = sd / math.sqrt(n)
    t = (mean - mu) / se
    crit = float(sps.t.ppf(1 - alpha / 2, df))
    return {"mean": mean, "sd": sd, "n": n, "mu": mu, "t": t, "df": df, "critical": crit,
            "p": float(2 * sps.t.sf(abs(t), df)),
            "ci_low": mean - crit * se, "ci_high": mean + crit * se, "reject": abs(t) > crit}


def one_sample_ttest(values, mu: float, alpha: float = 0.05) -> dict:
    """t, df, two-sided critical value and p, the 1-alpha CI of the mean, and whether H0: mean = mu is rejected."""
    x = _as_values(values)
    res = sps.ttest_1samp(x, mu)
    out = ttest_from_summary(float(x.mean()), float(x.std(ddof=1)), x.size, mu, alpha)
    out.update(t=float(res.statistic), p=float(res.pvalue))
    out["reject"] = out["p"] < alpha
    return out


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the t-based confidence interval of the mean."""
    x = _as_values(values)
    low, high = sps.t.interval(confidence, x.size - 1, loc=x.mean(), scale=sps.sem(x))
    return float(x.mean()), float(low), float(high)


def tost(values, mu: float, margin: float, alpha: float = 0.05) -> dict:
    """Two one-sided tests (statsmodels ``DescrStatsW.ttost_mean``) of H0: |mean - mu| >= margin.

    ``equivalent`` is True when both one-sided tests reject at ``alpha``, i.e. the data show the
    mean lies within ``mu +- margin``; equivalently the (1 - 2 alpha) CI lies inside the bounds.
    """
    from statsmodels.stats.weightstats import DescrStatsW

    if not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    x = _as_values(values)
    p, lower, upper = DescrStatsW(x).ttost_mean(mu - margin, mu + margin)
    mean, ci_low, ci_high = mean_ci(x, 1 - 2 * alpha)
    return {"mu": mu, "margin": margin, "low": mu - margin, "high": mu + margin, "p": float(p),
            "t_lower": float(lower[0]), "p_lower": float(lower[1]),
            "t_upper": float(upper[0]), "p_upper": float(upper[1]),
            "mean": mean, "ci90_low": ci_low, "ci90_high": ci_high, "equivalent": bool(p < alpha)}


def cohens_d(values, mu: float) -> float:
    """One-sample effect size (mean - mu) / sd."""
    x = _as_values(values)
    return float((x.mean() - mu) / x.std(ddof=1))


def classification_metrics(y_true, y_pred, labels=None) -> dict:
    """Accuracy and micro / macro precision, recall and F1 (scikit-learn)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    out = {"accuracy": float(accuracy_score(y_true, y_pred))}
    for average in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average,
                                                     zero_division=0)
        out.update({f"precision_{average}": float(p), f"recall_{average}": float(r), f"f1_{average}": float(f)})
    return out


# --------------------------------------------------------------------------- verdicts (issue 6)
# One rule per kind of claim, stated here once and quoted by the chapters.

def published_verdict(values, published: float, margin: float | None, alpha: float = 0.05) -> dict:
    """Our runs against one published number: ``reproduced`` when TOST shows the mean lies within
    ``published +- margin``; ``differs`` when the two-sided t-test rejects mean = published; else
    ``inconclusive``. With ``margin=None`` (no equivalence margin for this quantity) only the t-test
    decides, so the verdict is ``differs`` or ``inconclusive``. Returns the verdict with both tests'
    statistics and the 95% CI."""
    t = one_sample_ttest(values, published, alpha)
    e = tost(values, published, margin, alpha) if margin is not None else {"equivalent": False, "p": float("nan")}
    verdict = "reproduced" if e["equivalent"] else "differs" if t["reject"] else "inconclusive"
    return {"verdict": verdict, "mean": t["mean"], "sd": t["sd"], "n": t["n"], "ci_low": t["ci_low"],
            "ci_high": t["ci_high"], "t": t["t"], "p": t["p"], "tost_p": e["p"], "published": published,
            "margin": margin}


def rank_test(a, b, alpha: float = 0.05) -> dict:
    """Is group ``a`` larger than group ``b``? Exact one-sided Mann-Whitney U in both directions
    (scipy). ``direction`` is ``greater`` or ``less`` where that side's p <= alpha, else ``none``.
    With 3 runs a side the smallest possible p is 1/20 = 0.05: only complete separation counts."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.size < 2 or b.size < 2:
        raise ValueError(f"need at least 2 runs per group, got {a.size} and {b.size}")
    greater = float(sps.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue)
    less = float(sps.mannwhitneyu(a, b, alternative="less", method="exact").pvalue)
    direction = "greater" if greater <= alpha else "less" if less <= alpha else "none"
    return {"mean_a": float(a.mean()), "mean_b": float(b.mean()), "difference": float(a.mean() - b.mean()),
            "p_greater": greater, "p_less": less, "direction": direction}


def claim_verdict(a, b, claim: str = "greater", alpha: float = 0.05) -> str:
    """A claim that group ``a`` is larger (``claim="greater"``) or smaller (``"less"``) than ``b``:
    ``holds`` when ``rank_test`` finds that direction, ``does not hold`` when it finds the other,
    else ``inconclusive``."""
    if claim not in ("greater", "less"):
        raise ValueError(f"claim must be 'greater' or 'less', got {claim!r}")
    found = rank_test(a, b, alpha)["direction"]
    return "holds" if found == claim else "inconclusive" if found == "none" else "does not hold"


def equivalence_verdict(a, b, margin: float, alpha: float = 0.05) -> dict:
    """A claim that two groups are about equal: ``holds`` when Welch TOST (statsmodels
    ``ttost_ind``) shows |mean a - mean b| < ``margin``; ``does not hold`` when the rank test finds
    a difference; else ``inconclusive``."""
    from statsmodels.stats.weightstats import ttost_ind

    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    p, _, _ = ttost_ind(a, b, -margin, margin, usevar="unequal")
    ranks = rank_test(a, b, alpha)
    verdict = "holds" if p < alpha else "does not hold" if ranks["direction"] != "none" else "inconclusive"
    return {"verdict": verdict, "tost_p": float(p), "difference": ranks["difference"], "margin": margin,
            "p_greater": ranks["p_greater"], "p_less": ranks["p_less"]}


def spread_verdict(a, b, alpha: float = 0.05) -> str:
    """A claim that group ``a``'s runs are more consistent (smaller spread) than ``b``'s:
    Brown-Forsythe's test (scipy ``levene``, median-centred) for unequal spread; ``holds`` when it
    rejects and ``a`` has the smaller sd, ``does not hold`` when it rejects and ``b`` has, else
    ``inconclusive``."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):  # two groups without spread: p is NaN
        p = float(sps.levene(a, b, center="median").pvalue)
    if not p <= alpha:  # also NaN: two groups without any spread
        return "inconclusive"
    return "holds" if a.std(ddof=1) < b.std(ddof=1) else "does not hold"


def combine_verdicts(verdicts) -> str:
    """A claim made for several settings: ``holds`` if it holds in every one, ``does not hold`` if
    it fails in any, else ``inconclusive``."""
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("no verdicts to combine")
    if "does not hold" in verdicts:
        return "does not hold"
    return "holds" if all(v == "holds" for v in verdicts) else "inconclusive"


def sd_verdict(values, published_sd: float, published_n: int, alpha: float = 0.05) -> dict:
    """Our runs' spread against a published sd from ``published_n`` runs: two-sided F-test of the
    variance ratio (df n - 1 and published_n - 1). ``differs`` when it rejects, else
    ``inconclusive`` (an F-test cannot show two spreads equal). Also the 95% chi-square CI of our sd."""
    x = _as_values(values)
    if not (published_sd > 0 and published_n >= 2):
        raise ValueError(f"need a positive published sd and n >= 2, got sd={published_sd}, n={published_n}")
    sd, df1, df2 = float(x.std(ddof=1)), x.size - 1, published_n - 1
    f = sd**2 / published_sd**2
    p = float(min(1.0, 2 * min(sps.f.cdf(f, df1, df2), sps.f.sf(f, df1, df2))))
    ci_low = math.sqrt(df1 * sd**2 / sps.chi2.ppf(1 - alpha / 2, df1))
    ci_high = math.sqrt(df1 * sd**2 / sps.chi2.ppf(alpha / 2, df1))
    return {"verdict": "differs" if p < alpha else "inconclusive", "sd": sd, "n": x.size, "F": f, "p": p,
            "ci_low": ci_low, "ci_high": ci_high, "published": published_sd}


def sign_verdict(differences, alpha: float = 0.05) -> str:
    """A claim that paired differences are positive (``a > b`` in each run): exact binomial sign
    test (scipy ``binomtest``) on the runs where they differ; ``holds`` when it finds them
    positive, ``does not hold`` when it finds them negative, else ``inconclusive``."""
    d = np.asarray(differences, dtype=float).ravel()
    d = d[d != 0]
    if d.size == 0:
        return "inconclusive"
    k = int((d > 0).sum())
    if sps.binomtest(k, d.size, 0.5, alternative="greater").pvalue <= alpha:
        return "holds"
    if sps.binomtest(k, d.size, 0.5, alternative="less").pvalue <= alpha:
        return "does not hold"
    return "inconclusive"
