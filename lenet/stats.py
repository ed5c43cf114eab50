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
