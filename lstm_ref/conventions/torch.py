"""PyTorch ``nn.LSTM`` (one layer, one direction), in NumPy only.

PyTorch stores, for layer 0:

=================  ===========  ==============================================
name               shape        multiplies
=================  ===========  ==============================================
``weight_ih_l0``   (4H, D)      the input ``x_t``
``weight_hh_l0``   (4H, H)      the previous hidden state ``h_{t-1}``
``bias_ih_l0``     (4H,)        (added)
``bias_hh_l0``     (4H,)        (added as well)
=================  ===========  ==============================================

with the gate blocks along the 4H axis in the order i, f, g, o, the
canonical order. PyTorch's documentation writes the gates with the weight on
the left, ``W_ii x_t + b_ii + W_hi h_{t-1} + b_hi``, so its matrices are the
canonical ``W`` and ``U`` transposed: ``W = weight_ih.T`` (D, 4H),
``U = weight_hh.T`` (H, 4H). Its two biases only ever appear as a sum, so the
canonical ``b`` is ``bias_ih + bias_hh``; going back, :func:`to_torch` puts
all of ``b`` into ``bias_ih`` and zeros into ``bias_hh``.

No module of lstm_ref imports torch: these functions take and return NumPy
arrays (``tensor.detach().numpy()`` in, ``torch.from_numpy(array)`` out).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..layout import gate_hidden_size
from ..params import LSTMParams, as_float_array, check_finite, checked_array


def from_torch(
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: Optional[np.ndarray] = None,
    bias_hh: Optional[np.ndarray] = None,
) -> LSTMParams:
    """Canonical parameters from an ``nn.LSTM`` layer's weights.

    Parameters
    ----------
    weight_ih : ndarray, shape (4H, D)
        ``weight_ih_l0``; blocks i, f, g, o along the first axis.
    weight_hh : ndarray, shape (4H, H)
        ``weight_hh_l0``.
    bias_ih, bias_hh : ndarray, shape (4H,), optional
        ``bias_ih_l0`` and ``bias_hh_l0``; both or neither (``bias=False``).

    Returns
    -------
    LSTMParams
        ``W = weight_ih.T`` (D, 4H), ``U = weight_hh.T`` (H, 4H),
        ``b = bias_ih + bias_hh`` (4H,), copied into contiguous arrays.

    Examples
    --------
    With a PyTorch layer,
    ``from_torch(*(p.detach().numpy() for p in lstm.parameters()))``. With arrays:

    >>> import numpy as np
    >>> params = from_torch(np.zeros((8, 3)), np.zeros((8, 2)), np.ones(8), np.ones(8))
    >>> params.input_size, params.hidden_size, float(params.b[0])
    (3, 2, 2.0)
    """
    weight_ih = as_float_array("weight_ih", weight_ih)
    H = gate_hidden_size("weight_ih", weight_ih, axis=0, shape="(4H, D)", ndim=2)
    check_finite("weight_ih", weight_ih)
    weight_hh = checked_array(
        "weight_hh", weight_hh, (4 * H, H), ("4H", "H"), weight_ih.dtype, "weight_ih"
    )
    if (bias_ih is None) != (bias_hh is None):
        missing = "bias_hh" if bias_hh is None else "bias_ih"
        raise ValueError(f"{missing}: PyTorch has both biases or neither; got only one")
    b = None
    if bias_ih is not None:
        shape, dtype = ((4 * H,), ("4H",)), weight_ih.dtype
        bias_ih = checked_array("bias_ih", bias_ih, *shape, dtype, "weight_ih")
        bias_hh = checked_array("bias_hh", bias_hh, *shape, dtype, "weight_ih")
        b = bias_ih + bias_hh  # PyTorch adds both at every step; only the sum matters
    # PyTorch multiplies W_ih x (weights on the left); the book multiplies x W.
    return LSTMParams(W=weight_ih.T.copy(), U=weight_hh.T.copy(), b=b)


def to_torch(params: LSTMParams) -> list[np.ndarray]:
    """``nn.LSTM`` weights ``[weight_ih (4H, D), weight_hh (4H, H), bias_ih, bias_hh]``.

    In the order of ``nn.LSTM(D, H).parameters()``, so that
    ``p.data.copy_(torch.from_numpy(a))`` for each pair ``p, a`` of
    ``zip(lstm.parameters(), to_torch(params))`` loads them. ``bias_ih`` is
    all of ``params.b`` and ``bias_hh`` zeros (their sum is what PyTorch
    uses); both are left out when ``params.b`` is ``None``
    (``nn.LSTM(..., bias=False)``).

    Raises
    ------
    ValueError
        If ``params`` has peepholes, a projection or layer normalization,
        which ``nn.LSTM`` does not compute (its ``proj_size`` projects the
        hidden state, but is not converted here).
    """
    extras = params.extras()
    if extras:
        raise ValueError(
            f"params.{extras[0]}: nn.LSTM has no such weight; only W, U and b convert"
        )
    weights = [params.W.T.copy(), params.U.T.copy()]  # (4H, D), (4H, H)
    if params.b is not None:
        weights += [params.b.copy(), np.zeros_like(params.b)]
    return weights
