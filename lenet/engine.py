"""The training engine: one compiled TensorFlow loop per epoch instead of Keras ``fit``.

Why: LeNet-5's steps are tiny (about 2 ms on one CPU core), so per-step framework overhead
is a large share of ``fit``'s time. Here a whole epoch is one ``tf.function``: batches are
gathered in-graph from a seeded permutation, the step is the same Keras model, loss and
optimizer, and training loss / accuracy are accumulated on the fly as ``fit`` reports them.
The held-out set is scored after each epoch in large batches. bench/engine_speed.py measures
this against a naive ``fit``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

EVAL_BATCH = 1000


class Diverged(FloatingPointError):
    """The training loss became NaN or infinite; ``rows`` holds the epochs finished before."""

    def __init__(self, message: str, rows: list):
        super().__init__(message)
        self.rows = rows


def fit(model, optimizer, x_train: np.ndarray, y_train: np.ndarray, x_heldout: np.ndarray,
        y_heldout: np.ndarray, batch_size: int, epochs: int, lr_for_epoch: Callable[[int], float],
        seed: int, on_epoch_end: Callable[[int, dict], None] | None = None, loss_fn=None,
        argmin: bool = False, before_epoch: Callable | None = None,
        train_set: Callable[[int], tuple] | None = None) -> list[dict]:
    """Train ``model`` for ``epochs``; return one dict per epoch (loss, accuracy, heldout_loss,
    heldout_accuracy, lr). Mini-batches of ``batch_size`` in a fresh order each epoch (the last
    one smaller when the size does not divide), as ``fit(shuffle=True)``.

    Defaults are a softmax model with cross-entropy. For the 1998 model ``loss_fn`` is its RBF
    criterion and ``argmin=True`` (the smallest output wins). ``before_epoch(epoch, x)`` runs before
    each epoch with that epoch's training images (SDLM re-estimates its curvature there); ``train_set(epoch)`` may return a fresh
    ``(x, y)`` of the same size for each epoch (the distortion experiment)."""
    import keras
    import tensorflow as tf

    n = int(len(x_train))
    steps = math.ceil(n / batch_size)
    weights = model.trainable_variables
    loss_fn = loss_fn or keras.losses.SparseCategoricalCrossentropy()
    apply_gradients = fused_adam(optimizer, weights) or optimizer.apply
    choose = tf.argmin if argmin else tf.argmax

    @tf.function
    def train_epoch(order, x_train, y_train):
        loss_sum, correct = tf.constant(0.0), tf.constant(0, tf.int32)
        for step in tf.range(steps):
            idx = order[step * batch_size:(step + 1) * batch_size]
            xb, yb = tf.gather(x_train, idx), tf.gather(y_train, idx)
            with tf.GradientTape() as tape:
                outputs = model(xb, training=True)
                loss = loss_fn(yb, outputs)
            apply_gradients(tape.gradient(loss, weights), weights)
            loss_sum += loss * tf.cast(tf.size(idx), tf.float32)
            correct += tf.reduce_sum(tf.cast(choose(outputs, 1, output_type=tf.int32) == yb, tf.int32))
        return loss_sum / n, tf.cast(correct, tf.float32) / n

    rows = []
    rng = np.random.default_rng(seed)
    if train_set is None:  # otherwise each epoch brings its own
        x_const, y_const = tf.constant(x_train), tf.constant(y_train, tf.int32)
    for epoch in range(epochs):
        lr = lr_for_epoch(epoch)
        optimizer.learning_rate.assign(lr)
        if train_set is not None:
            x_epoch, y_epoch = train_set(epoch)
            if len(x_epoch) != n:
                raise ValueError(f"train_set({epoch}) returned {len(x_epoch)} patterns, expected {n}")
            x_const, y_const = tf.constant(x_epoch), tf.constant(y_epoch, tf.int32)
        if before_epoch is not None:
            before_epoch(epoch, x_const)
        loss, accuracy = train_epoch(tf.constant(rng.permutation(n), tf.int32), x_const, y_const)
        if not np.isfinite(float(loss)):
            raise Diverged(f"training loss became {float(loss)} in epoch {epoch + 1} (lr {lr:g}); "
                           f"the run diverged -- lower the learning rate or its multiplier", rows)
        held_loss, held_accuracy = evaluate(model, x_heldout, y_heldout, loss_fn if argmin else None, argmin)
        row = {"epoch": epoch + 1, "lr": float(lr), "loss": float(loss), "accuracy": float(accuracy),
               "heldout_loss": held_loss, "heldout_accuracy": held_accuracy}
        rows.append(row)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
    return rows


def fused_adam(optimizer, weights):
    """For a plain Keras Adam, an update doing the same arithmetic with TensorFlow's fused
    ``ResourceApplyAdam`` kernel (one op per weight instead of about ten; 14% faster per step
    here). Returns None for any other optimizer, which then applies its own update."""
    import keras
    import tensorflow as tf

    plain = (type(optimizer) is keras.optimizers.Adam and not optimizer.amsgrad and not optimizer.weight_decay
             and optimizer.clipnorm is None and optimizer.clipvalue is None
             and optimizer.global_clipnorm is None and not optimizer.use_ema)
    if not plain:
        return None
    moments = [(tf.Variable(tf.zeros(w.shape, w.dtype)), tf.Variable(tf.zeros(w.shape, w.dtype))) for w in weights]
    step = tf.Variable(0.0)
    beta_1, beta_2, epsilon = float(optimizer.beta_1), float(optimizer.beta_2), float(optimizer.epsilon)

    def apply(grads, weights):
        step.assign_add(1.0)
        lr = tf.cast(optimizer.learning_rate, tf.float32)
        for weight, (m, v), grad in zip(weights, moments, grads):
            tf.raw_ops.ResourceApplyAdam(var=weight.value.handle, m=m.handle, v=v.handle,
                                         beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
                                         lr=lr, beta1=beta_1, beta2=beta_2, epsilon=epsilon, grad=grad)

    return apply


def predict(model, x, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """The model's outputs (class probabilities, or the 1998 model's RBF penalties), in large batches."""
    import tensorflow as tf

    return np.concatenate([_forward(model, tf.constant(x[i:i + batch_size]))
                           for i in range(0, len(x), batch_size)])


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean categorical cross-entropy of predicted probabilities, clipped as Keras clips them."""
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return float(-np.log(p_true).mean())


def score(outputs: np.ndarray, y: np.ndarray, loss_fn=None, argmin: bool = False) -> tuple[float, np.ndarray]:
    """(mean loss, predicted classes) of a model's outputs: cross-entropy of softmax outputs by
    default, else ``loss_fn(y, outputs)``; the predicted class is the argmax (argmin for RBF penalties)."""
    loss = cross_entropy(outputs, y) if loss_fn is None else float(loss_fn(y, outputs))
    return loss, outputs.argmin(1) if argmin else outputs.argmax(1)


def evaluate(model, x, y, loss_fn=None, argmin: bool = False) -> tuple[float, float]:
    """(mean loss, accuracy) on a held-out set, as ``score`` computes them."""
    y = np.asarray(y)
    loss, predicted = score(predict(model, np.asarray(x)), y, loss_fn, argmin)
    return loss, float((predicted == y).mean())


def _forward(model, xb):
    fn = getattr(model, "_lenet_forward", None)
    if fn is None:
        import tensorflow as tf

        fn = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
        model._lenet_forward = fn
    return fn(xb).numpy()
