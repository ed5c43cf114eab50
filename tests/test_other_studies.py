"""Issue 6: the UT report's model, Akioyamen's and the blog's presets, the verdict rules and the study lists."""
import numpy as np
import pytest
from scipy import stats as sps

from lenet import experiments, models, params, stats, study, train
from lenet.experiments import Experiment


# --------------------------------------------------------------------------- the UT model

def test_ut_base_has_the_pytorch_lenets_parameter_count():
    # conv 6*25+6, conv 16*150+16, FC 256*120+120, 120*84+84, 84*10+10 (their model printed by PyTorch)
    assert models.build_ut_lenet().count_params() == 156 + 2416 + 30840 + 10164 + 850 == 44426


@pytest.mark.parametrize("kwargs, flat", [
    ({}, 4 * 4 * 16), ({"conv_layers": 1}, 12 * 12 * 6), ({"conv_layers": 4}, 4 * 4 * 16),
    ({"pool_size": 2, "pool_stride": 1}, 18 * 18 * 16), ({"pool_size": 2, "pool_stride": 3}, 1 * 1 * 16),
    ({"pool_size": 2, "pool_stride": 2, "pool_padding": 1}, 5 * 5 * 16),
    ({"pool_size": 3, "pool_stride": 2, "pool_padding": 1}, 4 * 4 * 16),
])
def test_ut_feature_sizes_follow_pytorch_shape_rules(kwargs, flat):
    model = models.build_ut_lenet(**kwargs)
    assert model.get_layer("F5").kernel.shape == (flat, 120)
    assert model.output_shape == (None, 10)


def test_ut_depth_adds_same_padded_3x3_layers():
    model = models.build_ut_lenet(conv_layers=4)
    extra = [layer for layer in model.layers if layer.name.startswith("C3_")]
    assert [layer.kernel.shape for layer in extra] == [(3, 3, 16, 16)] * 2
    assert models.build_ut_lenet(conv_layers=3).count_params() == 44426 + 3 * 3 * 16 * 16 + 16


@pytest.mark.parametrize("fc, weights", [("rnn", 64 * 120 + 120 * 120 + 120), ("lstm", 4 * (64 * 120 + 120 * 120 + 120))])
def test_ut_recurrent_layer_reads_rows_of_the_feature_map(fc, weights):
    model = models.build_ut_lenet(fc=fc)
    assert model.get_layer("rows").output.shape == (None, 4, 4 * 16)
    assert model.get_layer(f"F5_{fc}").count_params() == weights
    out = model(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)).numpy()
    np.testing.assert_allclose(out.sum(1), 1, rtol=1e-5)


def test_ut_initialisation_is_pytorchs_uniform_fan_in_bound():
    model = models.build_ut_lenet()
    for name, fan_in in (("C1", 25), ("C3", 150), ("F5", 256), ("F6", 120), ("output_act", 84)):
        kernel, bias = model.get_layer(name).get_weights()
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound
        assert np.abs(kernel).max() > 0.8 * bound  # uniform over the whole interval, not a narrower one


def test_padded_max_pool_never_picks_the_padding():
    x = -np.arange(1, 37, dtype=np.float32).reshape(1, 6, 6, 1)  # all negative: zero padding would win
    out = models.PaddedMaxPool(3, 2, 1)(x).numpy()[0, :, :, 0]
    padded = np.pad(x[0, :, :, 0], 1, constant_values=-np.inf)
    expected = np.array([[padded[i:i + 3, j:j + 3].max() for j in range(0, 6, 2)] for i in range(0, 6, 2)])
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="at most half the kernel"):
        models.PaddedMaxPool(2, 2, 2)


@pytest.mark.reliability
def test_ut_bad_options_raise():
    with pytest.raises(ValueError, match="conv_layers must be 1, 2, 3 or 4"):
        models.build_ut_lenet(conv_layers=5)
    with pytest.raises(ValueError, match="unknown fc 'gru'"):
        models.build_ut_lenet(fc="gru")


# --------------------------------------------------------------------------- configs and presets

def test_presets_of_the_three_studies():
    ut = experiments.preset("ut")
    assert (ut.architecture, ut.activation, ut.optimizer, ut.base_lr, ut.batch_size, ut.input_size) == \
        ("ut_lenet", "relu", "sgd", 0.01, 256, 28)
    ak = experiments.preset("akioyamen")
    assert (ak.activation, ak.pooling, ak.optimizer, ak.schedule, ak.batch_size) == \
        ("scaled_tanh", "average", "sgd", "paper", 1)


@pytest.mark.reliability
def test_ut_fields_are_checked_and_keep_old_keys():
    assert Experiment().key() == "a465890cf9287111"  # the seed model's key from before these fields
    with pytest.raises(ValueError, match="apply to architecture='ut_lenet' only"):
        Experiment(conv_layers=3)
    with pytest.raises(ValueError, match="takes 28x28 input and max-pooling"):
        experiments.preset("ut", input_size=32)
    with pytest.raises(ValueError, match="pool_padding=2 must be an integer in 0..pool_size // 2"):
        experiments.preset("ut", pool_padding=2)
    with pytest.raises(ValueError, match="Experiment.fc='gru' is not valid"):
        experiments.preset("ut", fc="gru")
    base = experiments.preset("ut")
    assert len({base.key(), base.replace(pool_stride=1).key(), base.replace(fc="rnn").key(),
                base.replace(conv_layers=3).key()}) == 4


def test_study_lists_share_the_base_and_have_every_setting():
    runs = study.ut(20, 3, [0.1, 0.01], ["relu", "tanh"], [[3, 2, 1]], [1, 2], ["rnn"])
    base = runs["base"][("sgd",)]
    assert len(base) == 3 and [c.seed for c in base] == [0, 1, 2]
    assert runs["nonlinearity"][("relu", 0.01)] == base == runs["pooling"][(2, 2, 0)] == runs["depth"][(2,)]
    assert runs["recurrent"][("linear", 0.1)] == runs["nonlinearity"][("relu", 0.1)]
    assert {c.fc for c in runs["recurrent"][("rnn", 0.1)]} == {"rnn"}
    full = params.load_profile("full")
    configs = study.other_study_configs(full)
    assert len(configs) == len(set(configs))
    assert sum(c.architecture == "ut_lenet" for c in configs) == 3 * (2 + (3 * 3 - 1) + 6 + 3 + 2 * 3)  # base + momentum, grid, pools, depths, recurrent
    assert sum(c.batch_size == 1 for c in configs) == 5 and sum(c.batch_size == 10 for c in configs) == 5


def test_ut_run_keeps_the_trained_conv_kernels(synthetic):
    spec, root = synthetic
    config = experiments.preset("ut", dataset="synthetic", epochs=1, conv_layers=3)
    record = train.run(config, data_dir=root, verbose=False)
    assert record.arrays["kernel_C1"].shape == (5, 5, 1, 6) and record.arrays["bias_C3"].shape == (16,)
    assert record.arrays["kernel_C3_1"].shape == (3, 3, 16, 16)
    again = train.run(config, data_dir=root, verbose=False)  # reloaded from the record: same arrays
    np.testing.assert_array_equal(again.arrays["kernel_C1"], record.arrays["kernel_C1"])


def test_a_short_run_is_the_start_of_a_longer_one(synthetic):
    """What the Akioyamen chapter relies on: 10 epochs of a 20-epoch run are a 10-epoch run."""
    spec, root = synthetic
    short = train.run(experiments.preset("modern", dataset="synthetic", epochs=2), data_dir=root, verbose=False)
    long = train.run(experiments.preset("modern", dataset="synthetic", epochs=3), data_dir=root, verbose=False)
    for column in ("loss", "accuracy", "heldout_loss", "heldout_accuracy"):
        assert short.data["history"][column] == long.data["history"][column][:2], column
    assert short.test["accuracy"] == long.data["history"]["heldout_accuracy"][1]


def test_sgd_momentum_is_torchs_heavy_ball(synthetic):
    optimizer = train.make_optimizer("sgd_momentum", 0.1)
    import keras

    w = keras.Variable(np.array([1.0], np.float32))
    velocity, value = 0.0, 1.0
    for g in (0.5, -0.2, 0.3):  # torch: v = 0.9 v + g; w -= lr v
        optimizer.apply([np.array([g], np.float32)], [w])
        velocity = 0.9 * velocity + g
        value -= 0.1 * velocity
    np.testing.assert_allclose(w.numpy(), [value], rtol=1e-6)


# --------------------------------------------------------------------------- verdict rules

def test_rank_test_is_scipys_exact_mann_whitney():
    a, b = [0.97, 0.98, 0.99], [0.90, 0.91, 0.96]
    out = stats.rank_test(a, b)
    assert out["p_greater"] == pytest.approx(sps.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue)
    assert out["p_greater"] == pytest.approx(0.05) and out["direction"] == "greater"
    assert stats.rank_test(b, a)["direction"] == "less"
    assert stats.rank_test([0.9, 0.95, 0.99], [0.91, 0.96, 0.98])["direction"] == "none"


def test_claim_verdicts_decide_all_three_ways():
    high, low, mixed = [0.97, 0.98, 0.99], [0.90, 0.91, 0.92], [0.89, 0.95, 0.99]
    assert stats.claim_verdict(high, low, "greater") == "holds"
    assert stats.claim_verdict(low, high, "greater") == "does not hold"
    assert stats.claim_verdict(mixed, low, "greater") == "inconclusive"
    assert stats.claim_verdict(low, high, "less") == "holds"
    with pytest.raises(ValueError, match="claim must be"):
        stats.claim_verdict(high, low, "bigger")


def test_equivalence_verdict_uses_statsmodels_ttost_ind():
    from statsmodels.stats.weightstats import ttost_ind

    a, b = [0.950, 0.952, 0.951, 0.953], [0.949, 0.951, 0.950, 0.952]
    out = stats.equivalence_verdict(a, b, 0.01)
    assert out["tost_p"] == pytest.approx(ttost_ind(a, b, -0.01, 0.01, usevar="unequal")[0])
    assert out["verdict"] == "holds"
    assert stats.equivalence_verdict([0.95, 0.96, 0.97], [0.90, 0.91, 0.92], 0.01)["verdict"] == "does not hold"
    assert stats.equivalence_verdict([0.90, 0.95, 0.99], [0.91, 0.96, 0.98], 0.01)["verdict"] == "inconclusive"


def test_spread_and_combined_verdicts():
    tight, wide = [0.950, 0.951, 0.950, 0.951, 0.9505], [0.80, 0.99, 0.85, 0.97, 0.90]
    assert stats.spread_verdict(tight, wide) == "holds" and stats.spread_verdict(wide, tight) == "does not hold"
    assert stats.spread_verdict([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]) == "inconclusive"  # no spread at all: NaN p
    assert stats.combine_verdicts(["holds", "holds"]) == "holds"
    assert stats.combine_verdicts(["holds", "inconclusive"]) == "inconclusive"
    assert stats.combine_verdicts(["holds", "does not hold", "inconclusive"]) == "does not hold"


def test_published_verdict_against_one_number():
    close = [0.9837 + d for d in (-0.0002, 0.0001, 0.0, 0.0002, -0.0001)]
    assert stats.published_verdict(close, 0.9837, 0.001)["verdict"] == "reproduced"
    far = [0.990, 0.991, 0.989, 0.990, 0.992]
    out = stats.published_verdict(far, 0.9837, 0.001)
    assert out["verdict"] == "differs" and out["p"] == pytest.approx(sps.ttest_1samp(far, 0.9837).pvalue)
    assert stats.published_verdict(close, 0.9837, None)["verdict"] == "inconclusive"  # no margin: never reproduced
