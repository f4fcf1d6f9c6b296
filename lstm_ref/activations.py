"""Elementwise activations and layer normalization that never warn.

The textbook sigmoid ``1 / (1 + np.exp(-z))`` overflows, with a RuntimeWarning,
once ``-z`` exceeds about 709 in float64 (88 in float32). Every function here
takes ``exp`` only of non-positive numbers, so no input raises a warning, and
each keeps the dtype it is given (float32 in, float32 out).

Frameworks name activations by strings; :func:`get_activation` maps those names
to the functions below. ``"hard_sigmoid"`` means two different functions:
Keras 3 defines it as ``relu6(z + 3) / 6`` (slope 1/6), Keras 2 and tf-keras as
``clip(0.2 z + 0.5, 0, 1)`` (slope 1/5). Pass ``keras_version=2`` to get the
older one.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = [
    "Activation", "CONTRIB_LAYER_NORM_EPSILON", "sigmoid", "tanh", "hard_sigmoid_keras3",
    "hard_sigmoid_keras2", "relu", "linear", "softsign", "softplus", "swish", "affine",
    "leaky_relu", "thresholded_relu", "scaled_tanh", "hard_sigmoid_onnx", "elu", "layer_norm",
    "activation_names", "get_activation"
]

Activation = Callable[[np.ndarray], np.ndarray]

CONTRIB_LAYER_NORM_EPSILON = 1e-12
"""The epsilon ``tf.contrib.layers.layer_norm`` hard-codes (for float32 and float64),
and so TF's ``LayerNormBasicLSTMCell``: the default of :class:`lstm_ref.LSTMConfig`."""


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, :math:`\\sigma(z) = 1 / (1 + e^{-z})`.

    Implements :eq:`eq-sigmoid`. Written as ``1 / (1 + e)`` for ``z >= 0`` and
    ``e / (1 + e)`` for ``z < 0`` with ``e = exp(-|z|)``, which lies in (0, 1],
    so it cannot overflow; where it underflows to 0 that is the right answer,
    so underflow is not reported even under ``np.seterr(all="raise")``.
    """
    z = np.asarray(z)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (NumPy's, which saturates without overflow)."""
    return np.tanh(z)


def hard_sigmoid_keras3(z: np.ndarray) -> np.ndarray:
    """Keras 3 ``hard_sigmoid``: ``relu6(z + 3) / 6``, i.e. ``clip(z / 6 + 1/2, 0, 1)``.

    Implements :eq:`eq-hard-sigmoid-keras3`.
    """
    z = np.asarray(z)
    return np.clip(z + 3, 0, 6) / 6


def hard_sigmoid_keras2(z: np.ndarray) -> np.ndarray:
    """Keras 2 / tf-keras ``hard_sigmoid``: ``clip(0.2 z + 0.5, 0, 1)``.

    Implements :eq:`eq-hard-sigmoid-keras2`.
    """
    z = np.asarray(z)
    return np.clip(z * 0.2 + 0.5, 0, 1)


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit, ``max(z, 0)``."""
    return np.maximum(z, 0)


def linear(z: np.ndarray) -> np.ndarray:
    """The identity (Keras's ``"linear"`` activation)."""
    return np.asarray(z)


def softsign(z: np.ndarray) -> np.ndarray:
    """``z / (1 + |z|)``."""
    z = np.asarray(z)
    return z / (1 + np.abs(z))


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + e^z)``, computed as ``max(z, 0) + log1p(e^{-|z|})`` so it never overflows."""
    z = np.asarray(z)
    with np.errstate(under="ignore"):
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def swish(z: np.ndarray) -> np.ndarray:
    """``z * sigmoid(z)`` (Keras's ``"swish"`` and ``"silu"``)."""
    z = np.asarray(z)
    return z * sigmoid(z)


# ---------------------------------------------------------------------------
# The optional activations of ONNX's recurrent operators, with their alpha and beta.
# Defaults are the ONNX operators' of the same name.


def affine(z: np.ndarray, alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """ONNX ``Affine``: ``alpha z + beta``."""
    z = np.asarray(z)
    return z * z.dtype.type(alpha) + z.dtype.type(beta)


def leaky_relu(z: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """ONNX ``LeakyRelu``: ``z`` where ``z >= 0``, else ``alpha z``."""
    z = np.asarray(z)
    return np.where(z >= 0, z, z * z.dtype.type(alpha))


def thresholded_relu(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """ONNX ``ThresholdedRelu``: ``z`` where ``z >= alpha``, else 0."""
    z = np.asarray(z)
    return np.where(z >= alpha, z, z.dtype.type(0))


def scaled_tanh(z: np.ndarray, alpha: float = 1.0, beta: float = 1.0) -> np.ndarray:
    """ONNX ``ScaledTanh``: ``alpha tanh(beta z)``."""
    z = np.asarray(z)
    return z.dtype.type(alpha) * np.tanh(z * z.dtype.type(beta))


def hard_sigmoid_onnx(z: np.ndarray, alpha: float = 0.2, beta: float = 0.5) -> np.ndarray:
    """ONNX ``HardSigmoid``: ``min(max(alpha z + beta, 0), 1)``.

    With the defaults it is Keras 2's ``hard_sigmoid``
    (:func:`hard_sigmoid_keras2`); alpha and beta are the ONNX attributes.
    """
    z = np.asarray(z)
    return np.clip(z * z.dtype.type(alpha) + z.dtype.type(beta), 0, 1)


def elu(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """ONNX ``Elu``: ``z`` where ``z >= 0``, else ``alpha (e^z - 1)``; no overflow for large z."""
    z = np.asarray(z)
    return np.where(z >= 0, z, z.dtype.type(alpha) * np.expm1(np.minimum(z, 0)))


def layer_norm(
    z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, epsilon: float
) -> np.ndarray:
    """Normalize the last axis to zero mean and unit variance, then scale and shift.

    Computes ``gamma * (z - mean(z)) / sqrt(var(z) + epsilon) + beta`` with the mean and
    the (biased) variance taken over the last axis of ``z``.

    Implements :eq:`eq-layer-norm`.

    Parameters
    ----------
    z : ndarray, shape (N, K)
    gamma, beta : ndarray, shape (K,)
    epsilon : float
        Added to the variance; TF's ``LayerNormBasicLSTMCell`` uses
        :data:`CONTRIB_LAYER_NORM_EPSILON`.
    """
    mean = z.mean(axis=-1, keepdims=True)
    variance = np.square(z - mean).mean(axis=-1, keepdims=True)
    return (z - mean) / np.sqrt(variance + epsilon) * gamma + beta


_ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "linear": linear,
    "softsign": softsign,
    "softplus": softplus,
    "swish": swish,
    "silu": swish,
}


def activation_names() -> list[str]:
    """The activation names :func:`get_activation` accepts."""
    return sorted([*_ACTIVATIONS, "hard_sigmoid"])


def get_activation(name: str, keras_version: int = 3) -> Activation:
    """Return the activation function a framework means by ``name``.

    Parameters
    ----------
    name : str
        A Keras activation name, e.g. ``"tanh"``, ``"sigmoid"``, ``"hard_sigmoid"``.
    keras_version : {2, 3}
        Only matters for ``"hard_sigmoid"``, which Keras 3 redefined.

    Raises
    ------
    ValueError
        If the name is unknown or ``keras_version`` is not 2 or 3.
    """
    if keras_version not in (2, 3):
        raise ValueError(f"keras_version: expected 2 or 3, got {keras_version!r}")
    if name == "hard_sigmoid":
        return hard_sigmoid_keras3 if keras_version == 3 else hard_sigmoid_keras2
    try:
        return _ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation: expected one of {activation_names()}, got {name!r}"
        ) from None
