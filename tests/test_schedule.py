"""lenet.schedule: the paper's per-pass rates, the modern Adam steps, and the Keras adapter."""
import numpy as np
import pytest

from lenet import schedule

PAPER = [5e-4, 5e-4, 2e-4, 2e-4, 2e-4, 1e-4, 1e-4, 1e-4, 5e-5, 5e-5, 5e-5, 5e-5] + [1e-5] * 8


def test_paper_schedule_every_epoch():
    assert [schedule.paper_lr(e) for e in range(20)] == PAPER
    assert schedule.paper_lr(40) == 1e-5


def test_multiplier_scales_every_rate():
    assert [schedule.paper_lr(e, 10) for e in range(20)] == pytest.approx([10 * r for r in PAPER])


def test_modern_schedule():
    rates = [schedule.modern_lr(e) for e in range(20)]
    assert rates == [1e-3] * 10 + [1e-4] * 5 + [1e-5] * 5


@pytest.mark.reliability
def test_bad_inputs():
    with pytest.raises(ValueError, match="0-based"):
        schedule.paper_lr(-1)
    with pytest.raises(ValueError, match="unknown schedule 'cosine'"):
        schedule.learning_rate("cosine", 0)
    assert schedule.learning_rate("constant", 7, 2.0, base=0.01) == 0.02


def test_keras_callback_sets_the_rate_each_epoch():
    import keras

    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    x = np.zeros((8, 3), np.float32)
    model.fit(x, x[:, :1], epochs=13, verbose=0, callbacks=[schedule.keras_callback("paper", 10), Spy()])
    assert seen == pytest.approx([10 * r for r in PAPER[:13]])
