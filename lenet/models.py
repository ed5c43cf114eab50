"""LeNet-5 builders (Keras functional API).

``build_lenet5`` covers the softmax reproductions: C1 conv(6) -> S2 pool -> C3 conv(16) -> S4 pool
-> C5 (120) -> F6 (84) -> softmax. ``PRESETS`` names the published variants (CLAIMS.md §B-§D).
``build_lecun1998`` is the faithful 1998 model (sparse C3, trainable subsampling, RBF output),
with switches for the ablations.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

LECUN_A, LECUN_S = 1.7159, 2.0 / 3.0  # squashing f(a) = A tanh(S a), Eq. 6 / Appendix A: f(+-1) = +-1


@keras.saving.register_keras_serializable(package="lenet")
def scaled_tanh(x):
    """LeCun's squashing function 1.7159 * tanh(2x/3)."""
    return LECUN_A * ops.tanh(LECUN_S * x)


ACTIVATIONS = {"scaled_tanh": scaled_tanh, "tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid"}
POOLINGS = {"average": layers.AveragePooling2D, "max": layers.MaxPooling2D}
KERNEL_SIZES = (3, 5, 7)
INPUT_SIZES = (28, 32)

# Architecture options of each published variant.
PRESETS = {
    # UCL group (Johnston et al. 2024), CLAIMS.md §B: scaled tanh, average pooling, 32x32 input.
    "seed_keras": dict(activation="scaled_tanh", pooling="average", kernel_size=5, input_size=32, f6=True),
    # Akioyamen's reproduction, §C: the same architecture as the UCL seed model.
    "akioyamen": dict(activation="scaled_tanh", pooling="average", kernel_size=5, input_size=32, f6=True),
    # Akioyamen's modern variant, §C: ReLU and max-pooling.
    "modern": dict(activation="relu", pooling="max", kernel_size=5, input_size=32, f6=True),
    # Kharbanda's blog, §D: 28x28 input, tanh, no F6.
    "blog": dict(activation="tanh", pooling="average", kernel_size=5, input_size=28, f6=False),
}


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {list(allowed)}")


def build_lenet5(activation: str = "scaled_tanh", pooling: str = "average", kernel_size: int = 5,
                 input_size: int = 32, f6: bool = True, num_classes: int = 10,
                 name: str = "lenet5") -> keras.Model:
    """LeNet-5 with a softmax output; every layer fully connected to the previous one."""
    _choice("activation", activation, ACTIVATIONS)
    _choice("pooling", pooling, POOLINGS)
    _choice("kernel_size", kernel_size, KERNEL_SIZES)
    _choice("input_size", input_size, INPUT_SIZES)
    act, pool = ACTIVATIONS[activation], POOLINGS[pooling]

    inputs = keras.Input(shape=(input_size, input_size, 1), name="image")
    x = layers.Conv2D(6, kernel_size, activation=act, name="C1")(inputs)
    x = pool(2, name="S2")(x)
    x = layers.Conv2D(16, kernel_size, activation=act, name="C3")(x)
    x = pool(2, name="S4")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=act, name="C5")(x)  # = a 5x5 conv over S4 when the map is 5x5
    if f6:
        x = layers.Dense(84, activation=act, name="F6")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_preset(preset: str, num_classes: int = 10, **overrides) -> keras.Model:
    """Build a named variant, e.g. ``build_preset("seed_keras")`` or ``build_preset("lecun1998")``
    (the faithful model, defined further down); keyword overrides win."""
    if preset == "lecun1998":
        if num_classes != 10:
            raise ValueError("the lecun1998 model's outputs are the ten digit codes; num_classes must be 10")
        return build_lecun1998(**overrides)
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose one of {sorted(PRESETS)}")
    return build_lenet5(**{**PRESETS[preset], **overrides}, num_classes=num_classes, name=preset)


# --------------------------------------------------------------------------- the 1998 model
# LeCun, Bottou, Bengio, Haffner (1998), §II-B/C and Appendix A; ../shared/docs/LENET5_1998.md.

# Table I: which S2 maps (rows) feed which C3 maps (columns). X = connected.
C3_TABLE_TEXT = """
X . . . X X X . . X X X X . X X
X X . . . X X X . . X X X X . X
X X X . . . X X X . . X . X X X
. X X X . . X X X X . . X . X X
. . X X X . . X X X X . X X . X
. . . X X X . . X X X X . X X X
"""
C3_TABLE = np.array([[c == "X" for c in row.split()] for row in C3_TABLE_TEXT.strip().splitlines()])

# Fig. 3: the fixed 7x12 output codes of the ten digits, row-major ('#' = +1, '.' = -1).
DIGIT_BITMAPS = """
.#####. ...##.. .#####. ####### .#####. .#####. ..####. ####### .#####. .#####.
....... ..###.. ....... .....## ....... ....... .##.... .....## ##...## ##..###
..###.. .####.. .#####. ....##. ....... ####### ##..... .....## ##...## ##...##
.##.##. ...##.. ##...## ...##.. .##..## ##..... ##..... ....##. ##...## ##...##
##...## ...##.. #....## ..####. .##..## ##..... ######. ...##.. .#####. ##..###
##...## ...##.. ....##. .....## ###..## .####.. ###..## ...##.. ##...## .######
##...## ...##.. ..###.. .....## ##...## ..####. ##...## ..##... ##...## .....##
##...## ...##.. .##.... .....## ##...## .....## ##...## ..##... ##...## .....##
.##.##. ...##.. ##..... ##...## ##..### ##...## ###..## ..##... ##...## ....##.
..###.. .###### ####### .#####. .###### .#####. .#####. ..##... .#####. .####..
....... ....... ....... ....... .....## ....... ....... ....... ....... .......
....... ....... ....... ....... .....## ....... ....... ....... ....... .......
"""


def digit_codes() -> np.ndarray:
    """The RBF centres: (10, 84) array of +-1, digit d's 12x7 bitmap flattened row by row."""
    rows = [line.split() for line in DIGIT_BITMAPS.strip().splitlines()]
    return np.array([[1.0 if ch == "#" else -1.0 for row in rows for ch in row[d]] for d in range(10)],
                    dtype=np.float32)


def lecun_uniform(fan_in):
    """Appendix A: weights uniform in [-2.4/F, +2.4/F], F the fan-in of the receiving unit."""
    return keras.initializers.RandomUniform(-2.4 / fan_in, 2.4 / fan_in)


@keras.saving.register_keras_serializable(package="lenet")
class Subsampling(layers.Layer):
    """S2 / S4: each 2x2 block summed (or averaged), times one trainable coefficient per map,
    plus one trainable bias per map, then squashed. The paper says "added" in §II-B and
    "averaged" in §II-A; ``reduce`` picks the reading (it rescales the coefficient by 4)."""

    def __init__(self, reduce: str = "sum", **kwargs):
        super().__init__(**kwargs)
        _choice("reduce", reduce, ("sum", "average"))
        self.reduce = reduce

    def build(self, input_shape):
        maps = input_shape[-1]
        self.coefficient = self.add_weight(shape=(maps,), initializer=lecun_uniform(4), name="coefficient")
        self.bias = self.add_weight(shape=(maps,), initializer="zeros", name="bias")

    def block_sum(self, x):
        """Each 2x2 block's sum (or mean, for ``reduce="average"``)."""
        pooled = ops.average_pool(x, 2, 2)
        return pooled * 4.0 if self.reduce == "sum" else pooled

    def call(self, x):
        return scaled_tanh(self.block_sum(x) * self.coefficient + self.bias)

    def get_config(self):
        return {**super().get_config(), "reduce": self.reduce}


@keras.saving.register_keras_serializable(package="lenet")
class SparseConv2D(layers.Layer):
    """C3: a 5x5 convolution in which output map j sees only the input maps that ``table[:, j]``
    marks. Only connected kernels are weights (60 x 25 + 16 = 1,516 for Table I); they are placed
    into a full kernel through a fixed 0/1 selection tensor, so the convolution stays one op."""

    def __init__(self, table, kernel_size: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.table = np.asarray(table, dtype=bool)
        self.kernel_size = kernel_size

    def build(self, input_shape):
        n_in, n_out = self.table.shape
        pairs = np.argwhere(self.table)  # (connections, 2): (input map, output map)
        select = np.zeros((len(pairs), n_in, n_out), np.float32)
        select[np.arange(len(pairs)), pairs[:, 0], pairs[:, 1]] = 1.0
        self.select = select
        k = self.kernel_size
        fan_in = k * k * self.table.sum(axis=0)  # 75, 100 or 150 per output map
        # each connection's kernel is initialised with the fan-in of the output map it feeds
        limits = (2.4 / fan_in[pairs[:, 1]]).astype(np.float32)
        self.kernels = self.add_weight(shape=(k, k, len(pairs)), name="kernels",
                                       initializer=lambda shape, dtype=None: keras.random.uniform(shape, -1.0, 1.0) * limits)
        self.bias = self.add_weight(shape=(n_out,), initializer="zeros", name="bias")

    def preactivation(self, x, kernels, bias):
        """The convolution before squashing, for given connected ``kernels`` and ``bias``."""
        kernel = ops.einsum("hwc,cio->hwio", kernels, self.select)
        return ops.conv(x, kernel) + bias

    def call(self, x):
        return scaled_tanh(self.preactivation(x, self.kernels, self.bias))

    def get_config(self):
        return {**super().get_config(), "table": self.table.tolist(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="lenet")
class EuclideanRBF(layers.Layer):
    """Output: y_i = sum_j (x_j - w_ij)^2 with fixed centres w (the digit codes); smallest wins."""

    def __init__(self, centres, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.centres = np.asarray(centres, dtype=np.float32)

    def call(self, x):
        diff = ops.expand_dims(x, 1) - self.centres[None, :, :]
        return ops.sum(diff * diff, axis=-1)

    def get_config(self):
        return {**super().get_config(), "centres": self.centres.tolist()}


SUBSAMPLINGS = ("sum", "average", "pool")  # trainable (two readings of the paper) | plain average pooling
C3_TABLES = {"table1": C3_TABLE, "full": np.ones((6, 16), dtype=bool)}
OUTPUTS = ("rbf", "softmax")


def build_lecun1998(subsampling: str = "sum", c3_table="table1", output: str = "rbf",
                    name: str = "lecun1998") -> keras.Model:
    """LeNet-5 as published: 32x32 input, C1, trainable S2, sparse C3, S4, C5 (5x5 over all S4
    maps), F6 (84), squashing up to F6, and fixed-code Euclidean RBF outputs (predict the argmin).

    Ablation switches: ``subsampling`` "pool" = plain 2x2 average pooling (nothing trained, no
    squashing); ``c3_table`` "full" (or any 6x16 boolean array) = C3 connected to every S2 map;
    ``output`` "softmax" = a trainable 10-unit softmax layer in place of the RBF codes."""
    _choice("subsampling", subsampling, SUBSAMPLINGS)
    _choice("output", output, OUTPUTS)
    if isinstance(c3_table, str):
        _choice("c3_table", c3_table, C3_TABLES)
        c3_table = C3_TABLES[c3_table]

    def subsample(label):
        if subsampling == "pool":
            return layers.AveragePooling2D(2, name=label)
        return Subsampling(subsampling, name=label)

    inputs = keras.Input(shape=(32, 32, 1), name="image")
    x = layers.Conv2D(6, 5, activation=scaled_tanh, kernel_initializer=lecun_uniform(25), name="C1")(inputs)
    x = subsample("S2")(x)
    x = SparseConv2D(c3_table, name="C3")(x)
    x = subsample("S4")(x)
    x = layers.Conv2D(120, 5, activation=scaled_tanh, kernel_initializer=lecun_uniform(400), name="C5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=scaled_tanh, kernel_initializer=lecun_uniform(120), name="F6")(x)
    if output == "rbf":
        outputs = EuclideanRBF(digit_codes(), name="RBF")(x)
    else:
        outputs = layers.Dense(10, activation="softmax", kernel_initializer=lecun_uniform(84), name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def rbf_loss(y_true, distances):
    """Eq. 8: the mean penalty (RBF output) of the correct class."""
    y_true = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    return ops.mean(ops.take_along_axis(distances, y_true[:, None], axis=1))


def map_loss(j: float = 1.0):
    """Eq. 9, the discriminative MAP criterion: mean[y_correct + log(e^-j + sum_i e^-y_i)].
    The paper does not give j (LENET5_1998.md); it is a parameter here."""
    def loss(y_true, distances):
        y_true = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        correct = ops.take_along_axis(distances, y_true[:, None], axis=1)[:, 0]
        floor = ops.full((ops.shape(distances)[0], 1), -float(j))
        competition = ops.logsumexp(ops.concatenate([floor, -distances], axis=1), axis=1)
        return ops.mean(correct + competition)

    return loss


# --------------------------------------------------------------------------- the UT Austin model
# Landry & Cabrera's PyTorch LeNet (CLAIMS.md §E), rebuilt in Keras with PyTorch's default
# initialisation, so that plain SGD at their rate starts where theirs did.

UT_FC = ("linear", "rnn", "lstm")  # what maps the conv features to the 120 units
UT_EXTRA_CHANNELS = 16  # conv layers 3 and 4 of the depth experiment: 16 -> 16, 3x3, 'same'


def torch_uniform(fan_in: int):
    """PyTorch's default for Conv2d / Linear weights and biases: uniform in +-1/sqrt(fan_in)."""
    bound = 1.0 / float(np.sqrt(fan_in))
    return keras.initializers.RandomUniform(-bound, bound)


@keras.saving.register_keras_serializable(package="lenet")
class PaddedMaxPool(layers.Layer):
    """``torch.nn.MaxPool2d(kernel, stride, padding)``: the border is padded with -inf, so a
    padded cell never wins a window (Keras' pooling has only 'valid' and 'same')."""

    def __init__(self, pool_size: int, strides: int, padding: int = 0, **kwargs):
        super().__init__(**kwargs)
        if padding > pool_size // 2:
            raise ValueError(f"pool padding {padding} must be at most half the kernel {pool_size} (as PyTorch)")
        self.pool_size, self.strides, self.padding = pool_size, strides, padding
        self.pool = layers.MaxPooling2D(pool_size, strides, padding="valid")

    def call(self, x):
        if self.padding:
            p = self.padding
            x = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], constant_values=float("-inf"))
        return self.pool(x)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


def _ut_conv(filters: int, kernel: int, fan_in_channels: int, act, name: str, padding: str = "valid"):
    init = torch_uniform(fan_in_channels * kernel * kernel)
    return layers.Conv2D(filters, kernel, padding=padding, activation=act, kernel_initializer=init,
                         bias_initializer=init, name=name)


def _ut_dense(units: int, fan_in: int, act, name: str):
    init = torch_uniform(fan_in)
    return layers.Dense(units, activation=act, kernel_initializer=init, bias_initializer=init, name=name)


def build_ut_lenet(activation: str = "relu", pool_size: int = 2, pool_stride: int = 2, pool_padding: int = 0,
                   conv_layers: int = 2, fc: str = "linear", num_classes: int = 10,
                   name: str = "ut_lenet") -> keras.Model:
    """The UT report's base model on 28x28 input: Conv(1->6, 5) act MaxPool -> Conv(6->16, 5) act
    MaxPool -> FC 256->120 act -> FC 120->84 act -> FC 84->10 act (their activation on the output
    too) -> softmax inside the cross-entropy (here: a softmax layer, so the model gives probabilities).

    Experiment switches: ``activation``; the two max-pools' ``pool_size`` / ``pool_stride`` /
    ``pool_padding``; ``conv_layers`` 1-4 (1: C1 only; 3 and 4 add 16->16 3x3 'same' convolutions
    after C3, before its pooling, so the classifier keeps its 256 inputs: our reading, the report
    does not give them); ``fc`` replaces the first linear layer by a recurrent one that reads the
    final feature map row by row (a sequence of rows, each row's pixels x channels as one step)
    and passes its last 120-unit state on (our reading: the report does not say how).
    """
    _choice("activation", activation, ACTIVATIONS)
    _choice("fc", fc, UT_FC)
    if conv_layers not in (1, 2, 3, 4):
        raise ValueError(f"conv_layers must be 1, 2, 3 or 4, got {conv_layers!r}")
    act = ACTIVATIONS[activation]

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = _ut_conv(6, 5, 1, act, "C1")(inputs)
    x = PaddedMaxPool(pool_size, pool_stride, pool_padding, name="S2")(x)
    if conv_layers >= 2:
        x = _ut_conv(16, 5, 6, act, "C3")(x)
        for i in range(3, conv_layers + 1):
            x = _ut_conv(UT_EXTRA_CHANNELS, 3, 16, act, f"C3_{i - 2}", padding="same")(x)
        x = PaddedMaxPool(pool_size, pool_stride, pool_padding, name="S4")(x)
    if min(x.shape[1], x.shape[2]) < 1:
        raise ValueError(f"pooling {pool_size}/{pool_stride}/{pool_padding} leaves no feature map")
    if fc == "linear":
        x = layers.Flatten(name="flatten")(x)
        x = _ut_dense(120, x.shape[-1], act, "F5")(x)
    else:
        rows, cols, channels = x.shape[1:]
        x = layers.Reshape((rows, cols * channels), name="rows")(x)
        # PyTorch's RNN / LSTM: every weight and bias uniform in +-1/sqrt(hidden) (PyTorch has two
        # bias vectors, b_ih + b_hh, where Keras has one: its initial bias spread is narrower here)
        init = torch_uniform(120)
        recurrent = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM}[fc]
        extra = {"unit_forget_bias": False} if fc == "lstm" else {}
        x = recurrent(120, kernel_initializer=init, recurrent_initializer=init, bias_initializer=init,
                      name=f"F5_{fc}", **extra)(x)
    x = _ut_dense(84, 120, act, "F6")(x)
    x = _ut_dense(num_classes, 84, act, "output_act")(x)
    outputs = layers.Softmax(name="output")(x)
    return keras.Model(inputs, outputs, name=name)
