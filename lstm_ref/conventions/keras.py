"""The Keras ``LSTM`` layer (Keras 3, and Keras 2 / tf-keras).

Keras stores three weights, in this order in ``layer.get_weights()``:

=====================  ===========  =========================================
name                   shape        multiplies
=====================  ===========  =========================================
``kernel``             (D, 4H)      the input ``x_t``
``recurrent_kernel``   (H, 4H)      the previous hidden state ``h_{t-1}``
``bias``               (4H,)        (added once; absent if ``use_bias=False``)
=====================  ===========  =========================================

with the gate blocks in the order i, f, c, o, where Keras's ``c`` is the
candidate this book calls ``g``. That is exactly the canonical layout of
:class:`lstm_ref.LSTMParams` (``W``, ``U``, ``b``), so converting only checks
shapes and renames; no array is transposed or reordered.

Keras adds no forget bias at run time: ``unit_forget_bias=True`` only
initializes the forget block of ``bias`` to ones.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..params import LSTMParams, check_weights

WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")


def from_keras(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: Optional[np.ndarray] = None,
) -> LSTMParams:
    """Canonical parameters from a Keras LSTM's weights.

    Parameters
    ----------
    kernel : ndarray, shape (D, 4H)
    recurrent_kernel : ndarray, shape (H, 4H)
    bias : ndarray, shape (4H,), optional
        Omit it for a layer built with ``use_bias=False``.

    Returns
    -------
    LSTMParams
        ``W = kernel``, ``U = recurrent_kernel``, ``b = bias`` (the same arrays).

    Examples
    --------
    With a Keras layer, ``from_keras(*layer.get_weights())``. With arrays:

    >>> import numpy as np
    >>> params = from_keras(np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8))
    >>> params.input_size, params.hidden_size
    (3, 2)
    """
    W, U, b = check_weights(kernel, recurrent_kernel, bias, names=WEIGHT_NAMES)
    return LSTMParams(W=W, U=U, b=b)


def to_keras(params: LSTMParams) -> list[np.ndarray]:
    """Keras weights ``[kernel, recurrent_kernel, bias]`` for ``layer.set_weights``.

    The bias is left out when ``params.b`` is ``None`` (a ``use_bias=False``
    layer).
    """
    weights = [params.W, params.U]
    if params.b is not None:
        weights.append(params.b)
    return weights


def count_params(input_size: int, units: int, use_bias: bool = True) -> int:
    """Number of weights of a Keras LSTM layer: ``4 (D H + H H + H)``.

    Implements :eq:`eq-param-count`: four gate blocks, each with a (D, H)
    block of the kernel, an (H, H) block of the recurrent kernel and H biases.
    """
    D, H = input_size, units
    return 4 * (D * H + H * H + (H if use_bias else 0))
