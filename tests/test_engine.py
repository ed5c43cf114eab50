"""lenet.engine: the compiled epoch loop trains like Keras would, the fused Adam is Keras' Adam."""
import numpy as np
import pytest
import tensorflow as tf

import keras

from lenet import engine, models


def _adam_weights(fused: bool):
    rng = np.random.default_rng(0)
    x = rng.random((64, 32, 32, 1)).astype("float32")
    y = rng.integers(0, 10, 64)
    keras.utils.set_random_seed(0)
    model = models.build_preset("seed_keras")
    optimizer = keras.optimizers.Adam(1e-3)
    weights = model.trainable_variables
    apply = engine.fused_adam(optimizer, weights) if fused else optimizer.apply

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
        apply(tape.gradient(loss, weights), weights)

    for _ in range(10):
        step()
    return [w.numpy() for w in weights]


def test_fused_adam_matches_keras_adam():
    keras_w, fused_w = _adam_weights(False), _adam_weights(True)
    changed = max(np.abs(a).max() for a in keras_w)
    assert changed > 0
    for a, b in zip(keras_w, fused_w):
        np.testing.assert_allclose(a, b, atol=2e-6)


@pytest.mark.parametrize("optimizer", [keras.optimizers.AdamW(1e-3), keras.optimizers.Adam(1e-3, amsgrad=True),
                                       keras.optimizers.RMSprop(1e-3)])
def test_fused_adam_only_for_plain_adam(optimizer):
    model = models.build_preset("seed_keras")
    assert engine.fused_adam(optimizer, model.trainable_variables) is None


def test_fit_follows_schedule_and_reports_each_epoch():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 200)
    x = rng.random((200, 32, 32, 1)).astype("float32") * 0.1
    x[np.arange(200), 2 + 2 * y, 4:28, 0] = 1.0  # learnable bars
    keras.utils.set_random_seed(0)
    model = models.build_preset("seed_keras")
    seen = []
    rows = engine.fit(model, keras.optimizers.Adam(1e-3), x[:150], y[:150], x[150:], y[150:], 32, 4,
                      lambda epoch: [3e-3, 3e-3, 1e-3, 1e-4][epoch], 0, lambda e, row: seen.append(e))
    assert seen == [0, 1, 2, 3] and [r["lr"] for r in rows] == [3e-3, 3e-3, 1e-3, 1e-4]
    assert rows[-1]["loss"] < rows[0]["loss"] and rows[-1]["heldout_accuracy"] > 0.5
    loss, accuracy = engine.evaluate(model, x[150:], y[150:])
    assert (loss, accuracy) == pytest.approx((rows[-1]["heldout_loss"], rows[-1]["heldout_accuracy"]))


@pytest.mark.reliability
def test_nan_loss_stops_the_run_with_a_clear_error():
    x = np.full((64, 32, 32, 1), np.nan, np.float32)
    y = np.zeros(64, np.int64)
    model = models.build_preset("seed_keras")
    with pytest.raises(FloatingPointError, match="training loss became nan in epoch 1"):
        engine.fit(model, keras.optimizers.Adam(1e-3), x, y, x, y, 32, 2, lambda e: 1e-3, 0)
