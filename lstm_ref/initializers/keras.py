"""Keras 3's default LSTM initial weights, reproduced from an explicit seed.

A ``keras.layers.LSTM`` built with seeded initializers,

.. code-block:: python

    keras.layers.LSTM(H,
        kernel_initializer=keras.initializers.GlorotUniform(seed=s),
        recurrent_initializer=keras.initializers.Orthogonal(seed=s),
        bias_initializer="zeros", unit_forget_bias=True, dtype=dtype)

gets the weights :func:`keras_lstm_init` returns. What Keras 3.15 on
TensorFlow 2.21 does, read from its sources and checked against it:

* **Seed.** An initializer keeps its int seed and, on every call, draws the
  stateless seed ``[seed, 0]`` as int64, which ``_cast_seed``
  (``keras/src/backend/tensorflow/random.py``) reduces with
  ``floormod(seed, 2**31 - 2)`` to fit int32 (:func:`keras_seed`). Seeds that
  differ by 2147483646 therefore give the same weights, a negative seed
  wraps to a positive one, and seeds outside the int64 range are refused.
* **Same int, same stream.** Nothing derives a per-initializer seed: the
  Glorot kernel and the orthogonal recurrent kernel given the same ``s``
  read the *same* Philox words (one as uniforms, the other through
  Box-Muller), and calling an initializer twice repeats its values.
* **Glorot uniform** (``VarianceScaling(1.0, "fan_avg", "uniform")``):
  ``limit = sqrt(3 / max(1, (fan_in + fan_out) / 2))``, then
  ``stateless_uniform`` on ``[-limit, limit)``. Keras passes the bounds
  through ``tf.cast(limit, dtype)``, which turns the Python float into a
  float32 tensor first, so **even in float64 the bound is rounded to
  float32** (a relative change of up to 6e-8).
* **Orthogonal**: a standard normal matrix of shape ``(max(rows, cols),
  min(rows, cols))`` (rows = product of all but the last axis), its reduced
  QR decomposition, the columns of ``Q`` multiplied by ``sign(diag(R))`` so
  that the result does not depend on the QR routine's sign convention,
  transposed when ``rows < cols``, times ``gain``.
* **Bias**: zeros, except ``unit_forget_bias`` sets the forget block (the
  second of i, f, g, o) to ones.

The random numbers are bit for bit TensorFlow's (:mod:`lstm_ref.initializers.philox`).
The QR decomposition is not: TensorFlow uses Eigen's Householder QR, NumPy
LAPACK's (OpenBLAS), which block and sum in different orders and so round
differently. Here the QR is computed in float64, also for float32 (NumPy
would do so anyway), and rounded to the dtype, so the orthogonal matrix
agrees with Keras's to a few units in the last place, not bit for bit (the
tests and the book measure by how much). The kernel and the bias are
identical, and TensorFlow's QR applied to our normal matrix gives Keras's
recurrent kernel exactly.
"""

from __future__ import annotations

import math

import numpy as np

from ..layout import GATE_ORDER, split_gates
from ..params import LSTMParams
from .philox import (
    Shape,
    check_float_dtype,
    check_int64,
    check_shape_arg,
    standard_normal,
    stateless_uniform,
)

__all__ = [
    "KERAS_SEED_MODULUS", "keras_seed", "compute_fans", "glorot_limit", "glorot_uniform",
    "orthogonal", "zeros", "keras_lstm_bias", "keras_lstm_init"
]

# _cast_seed in keras/src/backend/tensorflow/random.py: floormod by int32.max - 1.
KERAS_SEED_MODULUS = 2**31 - 2


def keras_seed(seed: int) -> tuple[int, int]:
    """The stateless seed pair Keras 3 (TensorFlow backend) uses for an int seed.

    ``draw_seed`` makes ``[seed, 0]`` an int64 tensor and ``_cast_seed``
    reduces it to int32 with ``floormod(seed, 2**31 - 2)``.

    Parameters
    ----------
    seed : int
        The ``seed`` given to a Keras initializer; it must fit an int64.

    Returns
    -------
    tuple of two ints
        ``(seed mod 2147483646, 0)``.

    Examples
    --------
    >>> keras_seed(42), keras_seed(-1), keras_seed(2**31)
    ((42, 0), (2147483645, 0), (2, 0))
    """
    seed = check_int64("seed", seed)
    # Python's % is a floor modulo, like tf.math.floormod: the result is >= 0.
    return seed % KERAS_SEED_MODULUS, 0


def compute_fans(shape: Shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras's ``compute_fans``.

    A matrix ``(D, K)`` has fans ``(D, K)``; a vector ``(n,)`` has ``(n, n)``;
    a scalar ``(1, 1)``; a convolution kernel ``(..., in, out)`` multiplies
    both by its receptive field size.
    """
    shape = check_shape_arg(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def glorot_limit(shape: Shape) -> float:
    """Bound of ``GlorotUniform``: ``sqrt(3 / max(1, (fan_in + fan_out) / 2))``.

    Evaluated with the same Python float operations as
    ``VarianceScaling.__call__`` (scale 1, mode ``fan_avg``), so the double
    is the one Keras computes before rounding it to float32.
    """
    fan_in, fan_out = compute_fans(shape)
    scale = 1.0
    scale /= max(1.0, (fan_in + fan_out) / 2.0)
    return math.sqrt(3.0 * scale)


def glorot_uniform(shape: Shape, seed: int, dtype=np.float32) -> np.ndarray:
    """``keras.initializers.GlorotUniform(seed=seed)(shape, dtype)``, bit for bit.

    Parameters
    ----------
    shape : tuple of ints
        For an LSTM kernel ``(D, 4H)``.
    seed : int
    dtype : float32 or float64

    Returns
    -------
    ndarray of ``dtype``, shape ``shape``
        Uniform on ``[-limit, limit)``, ``limit`` from :func:`glorot_limit`
        rounded to float32 (Keras's ``tf.cast`` of a Python float).
    """
    shape, dtype = check_shape_arg(shape), check_float_dtype(dtype)
    limit = float(np.float32(glorot_limit(shape)))
    return stateless_uniform(shape, keras_seed(seed), -limit, limit, dtype)


def orthogonal(shape: Shape, seed: int, dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """``keras.initializers.Orthogonal(gain, seed)(shape, dtype)``, up to QR rounding.

    Parameters
    ----------
    shape : tuple of ints, at least two
        For an LSTM recurrent kernel ``(H, 4H)``: its rows are orthonormal.
    seed : int
    dtype : float32 or float64
    gain : float
        Multiplies the result.

    Returns
    -------
    ndarray of ``dtype``, shape ``shape``
        Keras's to a few units in the last place: the normal matrix is
        TensorFlow's exactly, the QR decomposition is LAPACK's (in float64)
        instead of Eigen's.
    """
    shape, dtype = check_shape_arg(shape), check_float_dtype(dtype)
    if len(shape) < 2:
        raise ValueError(f"shape: expected at least two dimensions for Orthogonal, got {shape}")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = standard_normal((max(rows, cols), min(rows, cols)), keras_seed(seed), dtype)
    # np.linalg.qr works in float64 for a float32 matrix anyway; say so.
    q, r = np.linalg.qr(a.astype(np.float64))
    # Householder QR leaves the signs of R's diagonal to the routine; fixing
    # them makes Q a function of the matrix alone (and Haar distributed).
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return dtype.type(gain) * q.astype(dtype).reshape(shape)


def zeros(shape: Shape, dtype=np.float32) -> np.ndarray:
    """``keras.initializers.Zeros()(shape, dtype)``."""
    return np.zeros(check_shape_arg(shape), check_float_dtype(dtype))


def _check_size(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected a positive int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value}")
    return int(value)


def keras_lstm_bias(units: int, dtype=np.float32, unit_forget_bias: bool = True) -> np.ndarray:
    """The initial Keras LSTM bias, shape (4H,), gate blocks i, f, g, o.

    Zeros; with ``unit_forget_bias`` the forget block is ones (Keras
    concatenates ``zeros(H)``, ``ones(H)``, ``zeros(2H)``).
    """
    H = _check_size("units", units)
    b = zeros((4 * H,), dtype)
    if unit_forget_bias:
        split_gates(b)[GATE_ORDER.index("f")][...] = 1  # a view of the forget block
    return b


def keras_lstm_init(
    input_size: int,
    units: int,
    seed: int,
    dtype=np.float32,
    unit_forget_bias: bool = True,
    use_bias: bool = True,
) -> LSTMParams:
    """The initial weights of a seeded ``keras.layers.LSTM``.

    Equals ``from_keras(*layer.get_weights())`` for

    .. code-block:: python

        layer = keras.layers.LSTM(units,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
            bias_initializer="zeros", unit_forget_bias=unit_forget_bias,
            use_bias=use_bias, dtype=dtype)
        layer.build((None, None, input_size))

    ``W`` and ``b`` bit for bit; ``U`` to the QR rounding stated in
    :func:`orthogonal`.

    Parameters
    ----------
    input_size : int
        D, the number of input features.
    units : int
        H, the number of cells.
    seed : int
        Given to both initializers, as above.
    dtype : float32 or float64
    unit_forget_bias : bool
        Initialize the forget-gate block of ``b`` to ones.
    use_bias : bool
        ``False`` gives ``b = None``.

    Returns
    -------
    LSTMParams
        ``W`` (D, 4H) Glorot uniform, ``U`` (H, 4H) with orthonormal rows,
        ``b`` (4H,) or ``None``; gate blocks i, f, g, o.

    Examples
    --------
    >>> p = keras_lstm_init(3, 2, seed=0)
    >>> p.W.shape, p.U.shape, p.b.tolist()
    ((3, 8), (2, 8), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    >>> bool(np.allclose(p.U @ p.U.T, np.eye(2), atol=1e-6))
    True
    """
    D, H = _check_size("input_size", input_size), _check_size("units", units)
    keras_seed(seed)  # validate before any work
    dtype = check_float_dtype(dtype)
    return LSTMParams(
        W=glorot_uniform((D, 4 * H), seed, dtype),
        U=orthogonal((H, 4 * H), seed, dtype),
        b=keras_lstm_bias(H, dtype, unit_forget_bias) if use_bias else None,
    )
