"""The faithful 1998 LeNet-5: parameters per layer, the C3 table, the RBF codes, initialisation, losses."""
import numpy as np
import pytest

import keras

from lenet import models


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return models.build_lecun1998()


def test_parameters_per_layer_are_the_papers(model):
    counts = {layer.name: layer.count_params() for layer in model.layers if layer.count_params()}
    assert counts == {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164}
    assert model.count_params() == 60000  # "only 60,000 trainable free parameters"
    assert model.get_layer("RBF").trainable_weights == []


def test_c3_table_is_table_one():
    t = models.C3_TABLE
    assert t.shape == (6, 16) and t.sum() == 60
    for j in range(6):  # maps 0-5: contiguous triples (cyclic)
        assert set(np.flatnonzero(t[:, j])) == {(j + i) % 6 for i in range(3)}
    for j in range(6, 12):  # maps 6-11: contiguous quadruples
        assert set(np.flatnonzero(t[:, j])) == {(j - 6 + i) % 6 for i in range(4)}
    assert [set(np.flatnonzero(t[:, j])) for j in (12, 13, 14)] == [{0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5}]
    assert t[:, 15].all()


def test_sparse_c3_only_reads_connected_maps(model):
    c3 = model.get_layer("C3")
    x = np.zeros((1, 14, 14, 6), np.float32)
    x[..., 2] = 1.0  # only S2 map 2 active
    out = keras.ops.convert_to_numpy(c3(x))[0, 5, 5]  # bias is 0 and tanh(0) = 0
    assert np.all(out[~models.C3_TABLE[2]] == 0) and np.all(out[models.C3_TABLE[2]] != 0)


def test_digit_codes():
    codes = models.digit_codes()
    assert codes.shape == (10, 84) and set(np.unique(codes)) == {-1.0, 1.0}
    one = codes[1].reshape(12, 7)
    assert "".join("#" if v > 0 else "." for v in one[0]) == "...##.."
    assert "".join("#" if v > 0 else "." for v in one[9]) == ".######"
    assert len({c.tobytes() for c in codes}) == 10


def test_rbf_output_is_squared_distance_and_argmin_is_nearest_code():
    codes = models.digit_codes()
    rbf = models.EuclideanRBF(codes)
    x = codes[[3, 7]] * 0.9  # near the codes of 3 and 7
    y = keras.ops.convert_to_numpy(rbf(x))
    np.testing.assert_allclose(y, ((x[:, None, :] - codes[None]) ** 2).sum(-1), rtol=1e-5)
    assert y.argmin(axis=1).tolist() == [3, 7]


def test_initialisation_ranges(model):
    for name, fan_in in (("C1", 25), ("C5", 400), ("F6", 120)):
        w = keras.ops.convert_to_numpy(model.get_layer(name).kernel)
        assert np.abs(w).max() <= 2.4 / fan_in and np.abs(w).max() > 0.8 * 2.4 / fan_in
    kernels = keras.ops.convert_to_numpy(model.get_layer("C3").kernels)
    pairs = np.argwhere(models.C3_TABLE)
    fan = 25 * models.C3_TABLE.sum(axis=0)[pairs[:, 1]]
    assert np.all(np.abs(kernels).max(axis=(0, 1)) <= 2.4 / fan)
    assert np.abs(keras.ops.convert_to_numpy(model.get_layer("S2").coefficient)).max() <= 0.6


def test_subsampling_sum_is_four_times_average():
    x = np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32) * 0.1
    s, a = models.Subsampling("sum"), models.Subsampling("average")
    s.build(x.shape), a.build(x.shape)
    s.coefficient.assign(np.full(3, 0.5, np.float32)), a.coefficient.assign(np.full(3, 0.5, np.float32))
    blocks = x.reshape(2, 2, 2, 2, 2, 3).sum(axis=(2, 4))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(s(x)), 1.7159 * np.tanh(2 / 3 * 0.5 * blocks), rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(a(x)), 1.7159 * np.tanh(2 / 3 * 0.5 * blocks / 4), rtol=1e-5)


def test_losses_eq8_and_eq9_against_numpy():
    rng = np.random.default_rng(1)
    d = rng.random((5, 10)).astype(np.float32) * 20
    y = np.array([0, 3, 9, 3, 1])
    eq8 = d[np.arange(5), y].mean()
    assert float(models.rbf_loss(y, d)) == pytest.approx(eq8, rel=1e-5)
    for j in (0.1, 1.0, 5.0):
        eq9 = (d[np.arange(5), y] + np.log(np.exp(-j) + np.exp(-d).sum(axis=1))).mean()
        assert float(models.map_loss(j)(y, d)) == pytest.approx(eq9, rel=1e-5)


def test_full_c3_table_for_the_ablation():
    full = models.build_lecun1998(c3_table=np.ones((6, 16), bool))
    assert full.get_layer("C3").count_params() == 6 * 16 * 25 + 16


def test_lecun1998_preset_builds_the_faithful_model():
    model = models.build_preset("lecun1998")
    assert model.count_params() == 60000 and model.layers[-1].name == "RBF"
    assert models.build_preset("lecun1998", output="softmax").layers[-1].name == "output"
    with pytest.raises(ValueError, match="num_classes"):
        models.build_preset("lecun1998", num_classes=47)
