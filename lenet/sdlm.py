"""Stochastic diagonal Levenberg-Marquardt (SDLM), LeCun et al. (1998) Appendix C.

Each parameter k gets its own step ``eta / (mu + h_kk)`` (Eq. 21, mu = 0.02), where h_kk is a
Gauss-Newton estimate of the diagonal second derivative of the loss, averaged over a few hundred
training patterns before each pass and held for the pass. h is back-propagated layer by layer
like the gradient, with squared quantities (Eq. 23-27):

    h(pre-activation a)  = f'(a)^2 * h(output of the unit)           (the f'' term dropped)
    h(input x_j)         = sum_i w_ij^2 h(a_i)                        (off-diagonal terms dropped)
    h(weight w_ij)       = sum over the connections sharing it of x_j^2 h(a_i)

Every layer of the 1998 model is bilinear in (input, weights) before its squashing, so both
sums are the vector-Jacobian products of the same layer evaluated at (x^2, w^2): that is how
``gauss_newton_diagonal`` computes them, with one rule per layer type. The curvature that
starts the recursion is that of the loss with respect to the network's last layer:

- RBF output (Eq. 8 and Eq. 9): the correct class's penalty sum_j (x_j - w_cj)^2 has second
  derivative 2 in every F6 output. The MAP competition term of Eq. 9 has an indefinite second
  derivative; like the other non-Gauss-Newton terms it is dropped (our reading; the paper is silent).
- softmax + cross-entropy (ablation): the Gauss-Newton diagonal p_i (1 - p_i) of the logits.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from . import models

MU = 0.02  # Eq. 21
PATTERNS = 500  # patterns per estimate (Appendix C)


def _activation(layer):
    """The squashing a layer applies after its bilinear part (SparseConv2D and Subsampling always squash)."""
    if isinstance(layer, (models.SparseConv2D, models.Subsampling)):
        return models.scaled_tanh
    act = getattr(layer, "activation", None)
    if act is None or act is keras.activations.linear:
        return None
    if act is models.scaled_tanh:
        return act
    raise ValueError(f"SDLM: layer {layer.name} has activation {act!r}; only scaled_tanh or none is supported")


def _squash_derivative_sq(layer, a):
    """f'(a)^2 for the layer's squashing (1 when it has none)."""
    if _activation(layer) is None:
        return tf.ones_like(a)
    t = tf.tanh(models.LECUN_S * a)
    return tf.square(models.LECUN_A * models.LECUN_S * (1.0 - t * t))


def _values(weights):
    """Current tensors of Keras variables (traced, not captured, inside a tf.function)."""
    return [w.value if hasattr(w, "value") else w for w in weights]


def _linear_part(layer):
    """(pre-activation function f(x, [weights]), [weights]) of a layer; f is bilinear in (x, weights)."""
    if isinstance(layer, keras.layers.Conv2D):
        return (lambda x, w: tf.nn.conv2d(x, w[0], 1, "VALID") + w[1]), [layer.kernel, layer.bias]
    if isinstance(layer, keras.layers.Dense):
        return (lambda x, w: tf.matmul(x, w[0]) + w[1]), [layer.kernel, layer.bias]
    if isinstance(layer, models.SparseConv2D):
        return (lambda x, w: layer.preactivation(x, w[0], w[1])), [layer.kernels, layer.bias]
    raise ValueError(f"SDLM: no Gauss-Newton rule for layer {layer.name} ({type(layer).__name__})")


def gauss_newton_diagonal(model, x):
    """Per-parameter Gauss-Newton diagonal h_kk, averaged over the patterns ``x`` (one tensor per
    trainable weight, in ``model.trainable_variables`` order). No labels: the Gauss-Newton
    curvature of these losses does not depend on them."""
    x = tf.convert_to_tensor(x, tf.float32)
    n = tf.cast(tf.shape(x)[0], tf.float32)
    # forward pass, keeping each layer's input and pre-activation
    trace = []
    out = x
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, (models.EuclideanRBF, keras.layers.Flatten, keras.layers.AveragePooling2D)):
            trace.append((layer, out, None))  # nothing trained, nothing squashed
            out = layer(out)
            continue
        if isinstance(layer, models.Subsampling):
            block = layer.block_sum(out)
            a = block * layer.coefficient + layer.bias
            trace.append((layer, out, (block, a)))
            out = models.scaled_tanh(a)
            continue
        fn, weights = _linear_part(layer)
        a = fn(out, _values(weights))
        trace.append((layer, out, a))
        if layer is not model.layers[-1]:  # the output layer's own output is not needed
            squash = _activation(layer)
            out = a if squash is None else squash(a)

    # curvature of the loss with respect to the last layer's output
    last, softmax_output = trace[-1][0], None
    if isinstance(last, models.EuclideanRBF):
        h = tf.fill(tf.shape(trace[-1][1]), 2.0)
        trace = trace[:-1]
    elif isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax:
        p = tf.nn.softmax(trace[-1][2])
        h = p * (1.0 - p)  # at the logits: the softmax's own derivative is skipped below
        softmax_output = last
    else:
        raise ValueError("SDLM needs an EuclideanRBF or a softmax Dense output layer")

    result = {}
    for layer, x_in, a in reversed(trace):
        if isinstance(layer, keras.layers.Flatten):
            h = tf.reshape(h, tf.shape(x_in))
            continue
        if isinstance(layer, keras.layers.AveragePooling2D):  # plain 2x2 mean: d a / d x = 1/4
            h = tf.repeat(tf.repeat(h / 16.0, 2, axis=1), 2, axis=2)
            continue
        if isinstance(layer, models.Subsampling):
            block, a = a
            h_a = h * _squash_derivative_sq(layer, a)
            result[id(layer.coefficient)] = tf.reduce_sum(tf.square(block) * h_a, axis=[0, 1, 2]) / n
            result[id(layer.bias)] = tf.reduce_sum(h_a, axis=[0, 1, 2]) / n
            scale = layer.coefficient * (1.0 if layer.reduce == "sum" else 0.25)
            h = tf.repeat(tf.repeat(h_a * tf.square(scale), 2, axis=1), 2, axis=2)
            continue
        fn, weights = _linear_part(layer)
        h_a = h if layer is softmax_output else h * _squash_derivative_sq(layer, a)
        x_sq = tf.square(x_in)
        w_sq = [tf.square(w) for w in _values(weights)]
        with tf.GradientTape() as tape:
            tape.watch([x_sq, *w_sq])
            a_sq = fn(x_sq, w_sq)
        grads = tape.gradient(a_sq, [x_sq, *w_sq], output_gradients=h_a)
        h, w_grads = grads[0], grads[1:]
        # the bias enters linearly: its "input" is 1, so the rule gives sum h(a) -- as the VJP does
        for w, g in zip(weights, w_grads):
            result[id(w)] = g / n
    return [result[id(w)] for w in model.trainable_variables]


class SDLM:
    """Per-parameter steps eta / (mu + h_kk). Call ``estimate(x)`` before each pass (on ``PATTERNS``
    training patterns) and set ``learning_rate`` to the pass's global eta; ``apply(grads, weights)``
    is a plain gradient step with those per-parameter rates and can run inside a ``tf.function``."""

    def __init__(self, model, learning_rate: float = 5e-4, mu: float = MU):
        self.model = model
        self.mu = float(mu)
        self.weights = list(model.trainable_variables)
        self.learning_rate = tf.Variable(float(learning_rate), trainable=False, name="sdlm_eta")
        self.inverse = [tf.Variable(tf.zeros(w.shape), trainable=False, name=f"sdlm_inv_{i}")
                        for i, w in enumerate(self.weights)]  # 1 / (mu + h_kk)

    def estimate(self, x):
        """Re-estimate h_kk on the patterns ``x``, hold it until the next call, and return it."""
        h = gauss_newton_diagonal(self.model, x)
        for var, hk in zip(self.inverse, h):
            var.assign(1.0 / (self.mu + hk))
        return [hk.numpy() for hk in h]

    def step_sizes(self):
        """Current per-parameter steps eta / (mu + h_kk), as NumPy arrays."""
        eta = float(self.learning_rate.numpy())
        return [eta * v.numpy() for v in self.inverse]

    def apply(self, grads, weights=None):
        """w -= eta / (mu + h_kk) * g for every weight (``weights`` is accepted for the engine's
        call signature; the model's own weights are updated)."""
        eta = self.learning_rate
        for w, inv, g in zip(self.weights, self.inverse, grads):
            w.assign_sub(eta * inv * g)
