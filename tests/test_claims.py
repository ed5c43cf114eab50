"""The claims ledger: the catalogue, the rows chapters write, and the verdict rules behind them."""
import json

import numpy as np
import pytest
from scipy import stats as sps

from lenet import claims, pipeline, stats


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LENET_LEDGER_DIR", str(tmp_path / "ledger"))
    return tmp_path / "ledger"


def test_catalogue_ids_unique_sources_known_and_chapters_exist():
    ids = [c.id for c in claims.CATALOGUE]
    assert len(ids) == len(set(ids))
    assert {c.source for c in claims.CATALOGUE} == set(claims.SOURCES)
    stems = {nb.stem for nb in pipeline.notebooks()}
    assert {c.chapter for c in claims.CATALOGUE} <= stems
    # every chapter that owns a claim opens its ledger under its own name
    for chapter in {c.chapter for c in claims.CATALOGUE}:
        source = (pipeline.NOTEBOOKS_DIR / f"{chapter}.ipynb").read_text()
        assert f'claims.Ledger(\\"{chapter}\\")' in source, chapter


def test_catalogue_holds_the_headline_numbers():
    by_id = claims.BY_ID
    assert by_id["A.test_error"].published == 0.0095 and by_id["A.parameters"].published == 60000
    assert sum(by_id[f"A.parameters_{n}"].published for n in ("C1", "S2", "C3", "S4", "C5", "F6")) == 60000
    assert by_id["B.mean"].published == 0.98838 and by_id["D.test_accuracy"].published == 0.9837
    assert len([c for c in claims.CATALOGUE if c.id.startswith("A.fig9.")]) == 22
    assert by_id["E.depth_time_4"].published == pytest.approx(735 / 128)


def test_number_rows_decide_all_three_ways(folder):
    ledger = claims.Ledger("02_replication")
    near = ledger.number("B.mean", 0.98838 + np.array([-2e-4, 1e-4, 0, 2e-4, -1e-4, 1e-4]), 0.001)
    far = ledger.number("B.single_f1", [0.980, 0.981, 0.979, 0.980], 0.001)
    vague = ledger.number("B.single_loss", [0.03, 0.08])
    assert (near["verdict"], far["verdict"], vague["verdict"]) == ("reproduced", "differs", "inconclusive")
    assert near["kind"] == "number" and near["n"] == 6 and near["ci_low"] < near["mean"] < near["ci_high"] and "TOST" in near["test"]
    assert vague["test"] == "t-test (no equivalence margin)"
    one = ledger.number("B.gap", [0.005])
    assert one["verdict"] == "inconclusive" and one["n"] == 1 and one["test"] == "one run: no test"
    saved = json.loads((folder / "02_replication.json").read_text())
    assert [r["id"] for r in saved["claims"]] == ["B.mean", "B.single_f1", "B.single_loss", "B.gap"]


def test_exact_spread_compared_and_not_tested_rows(folder):
    ledger = claims.Ledger("05_tuning")
    assert ledger.exact("B.kernel", 5.0, "rule")["verdict"] == "reproduced"
    assert ledger.exact("B.lr_best", 5.0, "rule")["verdict"] == "differs"
    assert ledger.exact("B.tuning_split", "1 / 2 / 3", "split", same=False)["verdict"] == "differs"
    ut = claims.Ledger("11_ut")
    assert ut.compared("E.rnn_equal", "holds", "rule", "numbers")["verdict"] == "reproduced"
    assert ut.compared("E.lstm_worse", "does not hold", "rule", "numbers")["verdict"] == "differs"
    stat = claims.Ledger("03_statistics")
    row = stat.spread("B.lr10_sd", [0.990, 0.991, 0.989, 0.990, 0.990], 10)
    assert row["verdict"] in ("differs", "inconclusive") and "F =" in row["note"]
    emnist = claims.Ledger("07_emnist")
    assert emnist.not_tested("B.emnist_acc", "no data")["verdict"] == "not tested"


def test_rows_are_checked_and_a_rerun_starts_afresh(folder):
    ledger = claims.Ledger("02_replication")
    with pytest.raises(KeyError, match="unknown claim"):
        ledger.number("B.nonsense", [0.9, 0.8], 0.001)
    with pytest.raises(ValueError, match="belongs to chapter 08_lecun1998"):
        ledger.number("A.test_error", [0.01, 0.011], 0.001)
    ledger.number("B.mean", [0.98, 0.99], 0.001)
    ledger.number("B.mean", [0.98, 0.97], 0.001)  # the same claim again replaces its row
    assert len(ledger.rows) == 1
    claims.Ledger("02_replication")
    assert json.loads((folder / "02_replication.json").read_text())["claims"] == []


def test_ledger_names_every_claim_without_a_row(folder):
    claims.Ledger("10_blog").number("D.test_accuracy", [0.98, 0.985], 0.001)
    with pytest.raises(LookupError) as error:
        claims.ledger()
    assert "D.test_accuracy" not in str(error.value).split("They are answered")[0]
    assert "A.test_error" in str(error.value) and "08_lecun1998" in str(error.value)
    # with a row for every claim, the ledger comes back in catalogue order
    by_chapter = {}
    for claim in claims.CATALOGUE:
        by_chapter.setdefault(claim.chapter, []).append(claim.id)
    for chapter, ids in by_chapter.items():
        ledger = claims.Ledger(chapter)
        for claim_id in ids:
            ledger.not_tested(claim_id, "test")
    table = claims.ledger()
    assert list(table.index) == [c.id for c in claims.CATALOGUE] and set(table["verdict"]) == {"not tested"}


def test_runs_are_listed_once(folder):
    class Run:
        def __init__(self, key):
            self.key = key

    ledger = claims.Ledger("09_akioyamen")
    ledger.runs([Run("a"), Run("b"), None])
    ledger.runs([Run("b"), Run("c")])
    assert claims.read()["09_akioyamen"]["runs"] == ["a", "b", "c"]


def test_sd_verdict_is_a_two_sided_f_test():
    x = np.array([0.9850, 0.9862, 0.9841, 0.9855, 0.9848, 0.9860, 0.9838, 0.9851, 0.9857, 0.9846])
    out = stats.sd_verdict(x, 0.0007, 10)
    f = x.var(ddof=1) / 0.0007**2
    assert out["F"] == pytest.approx(f)
    assert out["p"] == pytest.approx(2 * min(sps.f.cdf(f, 9, 9), sps.f.sf(f, 9, 9)))
    assert out["ci_low"] < x.std(ddof=1) < out["ci_high"]
    assert stats.sd_verdict(x, 0.01, 10)["verdict"] == "differs"  # ten times their spread is refuted
    with pytest.raises(ValueError, match="positive published sd"):
        stats.sd_verdict(x, 0.0, 10)


def test_sign_verdict_uses_the_exact_binomial_test():
    assert stats.sign_verdict([0.1] * 10) == "holds"  # p = 2**-10
    assert stats.sign_verdict([-0.1] * 10) == "does not hold"
    assert stats.sign_verdict([0.1, -0.1, 0.2, -0.2]) == "inconclusive"
    assert stats.sign_verdict([0.1] * 4) == "inconclusive"  # 1/16 > 0.05
    assert stats.sign_verdict([0.1] * 5) == "holds"  # 1/32 <= 0.05
