"""lenet.stats against scipy / statsmodels reference values and the UCL group's published statistic."""
import numpy as np
import pytest
from scipy import stats as sps

from lenet import stats

RUNS = np.array([0.9881, 0.9879, 0.9890, 0.9885, 0.9872, 0.9893, 0.9880, 0.9887, 0.9878, 0.9884])


def test_ucl_t_statistic_from_their_summary():
    # 10 runs, mean 0.98838, sd 0.00070 vs the paper's 0.9905: they report t = -9.592, critical 2.262
    res = stats.ttest_from_summary(0.98838, 0.00070, 10, 0.9905)
    assert res["t"] == pytest.approx(-9.58, abs=0.02)
    assert res["df"] == 9 and res["critical"] == pytest.approx(2.262, abs=1e-3)
    assert res["reject"] and res["p"] < 1e-4


def test_one_sample_ttest_matches_scipy():
    res = stats.one_sample_ttest(RUNS, 0.9905)
    ref = sps.ttest_1samp(RUNS, 0.9905)
    assert res["t"] == pytest.approx(ref.statistic) and res["p"] == pytest.approx(ref.pvalue)
    low, high = sps.t.interval(0.95, 9, loc=RUNS.mean(), scale=sps.sem(RUNS))
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((low, high))
    assert stats.mean_ci(RUNS) == pytest.approx((RUNS.mean(), low, high))


def test_tost_matches_two_one_sided_scipy_tests_and_decides_both_ways():
    res = stats.tost(RUNS, 0.9884, 0.001)
    se = sps.sem(RUNS)
    t_lower, t_upper = (RUNS.mean() - 0.9874) / se, (RUNS.mean() - 0.9894) / se
    p_lower, p_upper = sps.t.sf(t_lower, 9), sps.t.cdf(t_upper, 9)
    assert res["t_lower"] == pytest.approx(t_lower) and res["t_upper"] == pytest.approx(t_upper)
    assert res["p_lower"] == pytest.approx(p_lower) and res["p_upper"] == pytest.approx(p_upper)
    assert res["p"] == pytest.approx(max(p_lower, p_upper))
    assert res["equivalent"]  # mean 0.98829, sd ~0.0006: inside +-0.1 pp of 0.9884
    far = stats.tost(RUNS, 0.9905, 0.001)
    assert not far["equivalent"] and far["ci90_high"] < 0.9905 - 0.001


def test_tost_not_equivalent_with_too_little_data():
    # failing to reject the t-test is not equivalence: two noisy runs around mu
    values = [0.9895, 0.9915]
    assert not stats.one_sample_ttest(values, 0.9905)["reject"]
    assert not stats.tost(values, 0.9905, 0.001)["equivalent"]


def test_cohens_d():
    assert stats.cohens_d(RUNS, 0.9905) == pytest.approx((RUNS.mean() - 0.9905) / RUNS.std(ddof=1))


@pytest.mark.reliability
def test_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        stats.one_sample_ttest([0.99], 0.9905)
    with pytest.raises(ValueError, match="margin must be positive"):
        stats.tost(RUNS, 0.99, 0)


def test_classification_metrics_match_sklearn():
    from sklearn.metrics import f1_score, precision_score

    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2])
    m = stats.classification_metrics(y_true, y_pred)
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["precision_micro"] == m["recall_micro"] == m["f1_micro"] == pytest.approx(5 / 7)
    assert m["precision_macro"] == pytest.approx(precision_score(y_true, y_pred, average="macro"))
    assert m["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
