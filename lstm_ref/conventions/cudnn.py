"""The cuDNN canonical LSTM layout, as PyTorch and Keras 2's ``CuDNNLSTM`` store it.

cuDNN describes one LSTM layer by eight matrices and eight bias vectors,
gate order **i, f, c, o** (its c is lstm_ref's candidate g):

* ``W_i, W_f, W_c, W_o``, shape (H, D) each, multiplying the input
  (``W_k x``, weight on the left);
* ``R_i, R_f, R_c, R_o``, shape (H, H) each, multiplying ``h_{t-1}``;
* ``b_Wi ... b_Wo`` and ``b_Ri ... b_Ro``, shape (H,) each: **two** biases
  per gate, both added at every step; only their sum matters.

The flat parameter buffer that cuDNN takes is these sixteen arrays, each
flattened row-major, in that order: the eight matrices, then the eight
biases (:func:`to_flat`).

* PyTorch's ``nn.LSTM`` keeps exactly these: ``weight_ih_l0`` (4H, D) is
  ``W_i; W_f; W_c; W_o`` stacked, ``weight_hh_l0`` the R's, ``bias_ih_l0``
  the b_W's and ``bias_hh_l0`` the b_R's (:func:`from_torch_canonical`).
* Keras 2's ``CuDNNLSTM`` keeps a ``kernel`` (D, 4H), ``recurrent_kernel``
  (H, 4H) and ``bias`` (8H,) = ``[b_W; b_R]``, and hands each gate block
  of the kernels to cuDNN *without transposing it*: the (D, H) block of
  ``kernel`` is cuDNN's (H, D) matrix ``W_k`` in row-major order, reshaped,
  and the (H, H) block of ``recurrent_kernel`` is ``R_k`` itself, not its
  transpose. The same arrays in a Keras ``LSTM`` mean something else:
  :func:`from_keras_cudnn` converts.

No module of lstm_ref imports a framework here; all of this is NumPy.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ..layout import split_gates
from ..params import LSTMParams, as_float_array, check_finite, checked_array

__all__ = ["CUDNN_GATE_ORDER", "CudnnWeights", "to_cudnn", "from_cudnn", "to_flat",
    "from_flat", "from_torch_canonical", "from_keras_cudnn", "to_keras_cudnn"
]

CUDNN_GATE_ORDER = ("i", "f", "g", "o")  # cuDNN names them i, f, c, o: lstm_ref's order


class CudnnWeights(NamedTuple):
    """One layer in cuDNN's canonical form, gate order i, f, c, o.

    Attributes
    ----------
    W : list of 4 ndarrays, shape (H, D)
    R : list of 4 ndarrays, shape (H, H)
    b_W, b_R : list of 4 ndarrays, shape (H,)
    """

    W: list
    R: list
    b_W: list
    b_R: list


def to_cudnn(params: LSTMParams) -> CudnnWeights:
    """cuDNN's canonical weights for ``params``: all of ``b`` in ``b_W``, zeros in ``b_R``.

    Raises
    ------
    ValueError
        If ``params`` has peepholes, a projection or layer normalization
        (cuDNN's LSTM has none of them).
    """
    extras = params.extras()
    if extras:
        raise ValueError(f"params.{extras[0]}: cuDNN's LSTM has no such weight; "
                         "only W, U and b convert")
    b = params.b if params.b is not None else np.zeros(4 * params.hidden_size, params.dtype)
    return CudnnWeights(
        W=[W_k.T.copy() for W_k in split_gates(params.W)],  # (H, D): cuDNN multiplies W_k x
        R=[U_k.T.copy() for U_k in split_gates(params.U)],  # (H, H)
        b_W=[b_k.copy() for b_k in split_gates(b)],
        b_R=[np.zeros_like(b_k) for b_k in split_gates(b)],
    )


def from_cudnn(W: Sequence[np.ndarray], R: Sequence[np.ndarray], b_W: Sequence[np.ndarray],
               b_R: Sequence[np.ndarray]) -> LSTMParams:
    """Canonical parameters from cuDNN's eight matrices and eight biases.

    ``b = b_W + b_R`` (rounded once, as the sum is what the kernel adds).
    """
    for name, value in (("W", W), ("R", R), ("b_W", b_W), ("b_R", b_R)):
        if not isinstance(value, (list, tuple)) or len(value) != 4:
            raise TypeError(
                f"{name}: expected a list of 4 arrays (gates i, f, c, o), got "
                f"{type(value).__name__}" + (f" of length {len(value)}"
                                            if hasattr(value, "__len__") else "")
            )
    W_i = as_float_array("W[0]", W[0])
    if W_i.ndim != 2:
        raise ValueError(f"W[0]: expected shape (H, D), got {W_i.shape}")
    check_finite("W[0]", W_i)
    (H, D), dtype = W_i.shape, W_i.dtype

    groups = {"W": (W, (H, D), ("H", "D")), "R": (R, (H, H), ("H", "H")),
              "b_W": (b_W, (H,), ("H",)), "b_R": (b_R, (H,), ("H",))}
    checked = {name: [checked_array(f"{name}[{k}]", arrays[k], shape, symbols, dtype, "W[0]")
                      for k in range(4)]
               for name, (arrays, shape, symbols) in groups.items()}
    return LSTMParams(W=np.concatenate([w.T for w in checked["W"]], axis=1),  # (D, 4H)
                      U=np.concatenate([r.T for r in checked["R"]], axis=1),  # (H, 4H)
                      b=np.concatenate([b_W_k + b_R_k for b_W_k, b_R_k in
                                        zip(checked["b_W"], checked["b_R"])]))


def to_flat(weights: CudnnWeights) -> np.ndarray:
    """cuDNN's flat parameter buffer: the 8 matrices row-major, then the 8 biases."""
    return np.concatenate([np.ravel(a) for a in (*weights.W, *weights.R, *weights.b_W,
                                                  *weights.b_R)])


def from_flat(flat: np.ndarray, input_size: int, hidden_size: int) -> CudnnWeights:
    """The sixteen arrays of a flat parameter buffer of one layer (D, H given)."""
    flat = as_float_array("flat", flat)
    D, H = input_size, hidden_size
    size = 4 * H * D + 4 * H * H + 8 * H
    if flat.shape != (size,):
        raise ValueError(
            f"flat: expected shape (4HD + 4HH + 8H,) = ({size},) for D = {D}, H = {H}, "
            f"got {flat.shape}"
        )
    shapes = [(H, D)] * 4 + [(H, H)] * 4 + [(H,)] * 8
    arrays, start = [], 0
    for shape in shapes:
        count = int(np.prod(shape))
        arrays.append(flat[start:start + count].reshape(shape).copy())
        start += count
    return CudnnWeights(arrays[0:4], arrays[4:8], arrays[8:12], arrays[12:16])


def from_torch_canonical(weight_ih, weight_hh, bias_ih, bias_hh) -> CudnnWeights:
    """cuDNN's canonical weights from an ``nn.LSTM`` layer's four arrays (they are the same).

    ``weight_ih`` (4H, D) is ``W_i; W_f; W_c; W_o``, ``weight_hh`` (4H, H)
    the R's, ``bias_ih`` the b_W's, ``bias_hh`` the b_R's.
    """
    arrays = [as_float_array(name, a) for name, a in
              (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih),
               ("bias_hh", bias_hh))]
    if arrays[0].ndim != 2 or arrays[0].shape[0] % 4:
        raise ValueError(f"weight_ih: expected shape (4H, D), got {arrays[0].shape}")
    return CudnnWeights(*(list(np.split(a, 4)) for a in arrays))


def from_keras_cudnn(kernel, recurrent_kernel, bias) -> CudnnWeights:
    """cuDNN's canonical weights from Keras 2's ``CuDNNLSTM`` weights.

    Parameters
    ----------
    kernel : ndarray, shape (D, 4H)
        Gate block k, (D, H), holds cuDNN's ``W_k`` (H, D) in row-major order:
        ``W_k = block.reshape(H, D)``, a reshape, not a transpose.
    recurrent_kernel : ndarray, shape (H, 4H)
        Gate block k is ``R_k`` itself.
    bias : ndarray, shape (8H,)
        ``[b_Wi, b_Wf, b_Wc, b_Wo, b_Ri, b_Rf, b_Rc, b_Ro]``.
    """
    kernel = as_float_array("kernel", kernel)
    if kernel.ndim != 2 or kernel.shape[1] % 4:
        raise ValueError(f"kernel: expected shape (D, 4H), got {kernel.shape}")
    D, H = kernel.shape[0], kernel.shape[1] // 4
    recurrent_kernel = checked_array("recurrent_kernel", recurrent_kernel, (H, 4 * H),
                                     ("H", "4H"), kernel.dtype, "kernel")
    bias = checked_array("bias", bias, (8 * H,), ("8H",), kernel.dtype, "kernel")
    biases = np.split(bias, 8)
    return CudnnWeights(
        W=[block.reshape(H, D) for block in split_gates(kernel)],  # the buffer cuDNN reads
        R=[block.copy() for block in split_gates(recurrent_kernel)],
        b_W=biases[:4], b_R=biases[4:],
    )


def to_keras_cudnn(weights: CudnnWeights) -> list[np.ndarray]:
    """Keras 2 ``CuDNNLSTM`` weights ``[kernel (D, 4H), recurrent_kernel (H, 4H), bias (8H,)]``."""
    H, D = weights.W[0].shape
    return [np.concatenate([W_k.reshape(D, H) for W_k in weights.W], axis=1),
            np.concatenate(weights.R, axis=1),
            np.concatenate([*weights.b_W, *weights.b_R])]
