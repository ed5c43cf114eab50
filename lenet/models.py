"""LeNet-5 builders (Keras functional API).

``build_lenet5`` covers the softmax reproductions: C1 conv(6) -> S2 pool -> C3 conv(16) -> S4 pool
-> C5 (120) -> F6 (84) -> softmax. ``PRESETS`` names the published variants (CLAIMS.md §B-§D).
The faithful 1998 model (RBF output, sparse C3, trainable subsampling) will be the
``lecun1998`` architecture, built beside this one.
"""
from __future__ import annotations

import keras
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
    """Build a named variant, e.g. ``build_preset("seed_keras")``; keyword overrides win."""
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose one of {sorted(PRESETS)}")
    return build_lenet5(**{**PRESETS[preset], **overrides}, num_classes=num_classes, name=preset)
