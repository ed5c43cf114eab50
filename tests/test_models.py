"""lenet.models: parameter counts of each preset against hand-computed values, shapes, options."""
import numpy as np
import pytest

from lenet import models


def conv(k, c_in, c_out):
    return (k * k * c_in + 1) * c_out


def dense(n_in, n_out):
    return (n_in + 1) * n_out


# 32x32 -> C1 28x28 -> S2 14x14 -> C3 10x10 -> S4 5x5 -> 16*25 = 400 inputs to C5
SEED_KERAS = conv(5, 1, 6) + conv(5, 6, 16) + dense(400, 120) + dense(120, 84) + dense(84, 10)
# 28x28 -> C1 24x24 -> S2 12x12 -> C3 8x8 -> S4 4x4 -> 16*16 = 256 inputs, no F6
BLOG = conv(5, 1, 6) + conv(5, 6, 16) + dense(256, 120) + dense(120, 10)


def test_hand_counts_are_the_well_known_ones():
    assert (SEED_KERAS, BLOG) == (61706, 34622)


@pytest.mark.parametrize("preset, expected", [("seed_keras", SEED_KERAS), ("modern", SEED_KERAS), ("blog", BLOG)])
def test_preset_parameter_counts(preset, expected):
    assert models.build_preset(preset).count_params() == expected


@pytest.mark.parametrize("kernel, flat", [(3, 16 * 6 * 6), (7, 16 * 3 * 3)])
def test_kernel_size_changes_c5_fan_in(kernel, flat):
    model = models.build_lenet5(kernel_size=kernel)
    expected = conv(kernel, 1, 6) + conv(kernel, 6, 16) + dense(flat, 120) + dense(120, 84) + dense(84, 10)
    assert model.count_params() == expected


def test_output_shape_classes_and_softmax():
    model = models.build_lenet5(num_classes=62, f6=False, pooling="max", activation="relu")
    y = model.predict(np.random.default_rng(0).random((3, 32, 32, 1), np.float32), verbose=0)
    assert y.shape == (3, 62)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    assert [layer.name for layer in model.layers if layer.name in ("F6", "C5")] == ["C5"]


def test_scaled_tanh_maps_one_to_one():
    import keras

    values = keras.ops.convert_to_numpy(models.scaled_tanh(np.array([-1.0, 0.0, 1.0], np.float32)))
    np.testing.assert_allclose(values, [-1.0, 0.0, 1.0], atol=2e-4)  # f(+-1) = +-1 (paper, Appendix A)
    seed = models.build_preset("seed_keras")
    assert seed.get_layer("C1").activation is models.scaled_tanh
    assert models.build_preset("seed_keras").get_layer("S2").__class__.__name__ == "AveragePooling2D"
    assert models.build_preset("modern").get_layer("S2").__class__.__name__ == "MaxPooling2D"


@pytest.mark.reliability
@pytest.mark.parametrize("kwargs", [{"activation": "gelu"}, {"pooling": "sum"}, {"kernel_size": 4},
                                    {"input_size": 30}])
def test_bad_options_raise(kwargs):
    with pytest.raises(ValueError, match="unknown"):
        models.build_lenet5(**kwargs)
    with pytest.raises(ValueError, match="unknown model preset"):
        models.build_preset("lenet1")
