"""A plain (Elman) recurrent network with a tanh, to compare with the LSTM.

One step is ``h_t = tanh(x_t W + h_{t-1} U + b)``: the whole state passes
through the matrix ``U`` and the tanh at every step. The book uses it to show
how gradients fade over time without the LSTM's additive cell state. Weights
are stored as Keras's ``SimpleRNN`` stores them: ``kernel`` = ``W`` (D, H),
``recurrent_kernel`` = ``U`` (H, H), ``bias`` = ``b`` (H,).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ..grad import weight_grads
from ..params import as_float_array, check_finite, checked_array

__all__ = ["RNNParams", "RNNGradients", "check_rnn_params", "rnn_sequence", "rnn_backward"]


class RNNParams(NamedTuple):
    """Weights of a plain RNN: ``W`` (D, H), ``U`` (H, H), ``b`` (H,) or None."""

    W: np.ndarray
    U: np.ndarray
    b: Optional[np.ndarray] = None


class RNNGradients(NamedTuple):
    """Gradients of a scalar loss through a plain RNN.

    Attributes
    ----------
    d_X : ndarray, shape (N, T, D)
    d_h0 : ndarray, shape (N, H)
    d_params : RNNParams
        ``d_W`` (D, H), ``d_U`` (H, H), ``d_b`` (H,) or None.
    d_H : ndarray, shape (N, T, H), optional
        Total gradient with respect to every hidden state ``h_t``; ``None``
        where a framework computed the gradients.
    """

    d_X: np.ndarray
    d_h0: np.ndarray
    d_params: RNNParams
    d_H: Optional[np.ndarray] = None


def check_rnn_params(params: RNNParams) -> RNNParams:
    """Validate ``W`` (D, H), ``U`` (H, H) and ``b`` (H,): shapes, one dtype, finite."""
    W = as_float_array("W", params.W)
    if W.ndim != 2:
        raise ValueError(f"W: expected shape (D, H), got {W.shape}")
    check_finite("W", W)
    H = W.shape[1]
    U = checked_array("U", params.U, (H, H), ("H", "H"), W.dtype, "W")
    b = None if params.b is None else checked_array("b", params.b, (H,), ("H",), W.dtype, "W")
    return RNNParams(W, U, b)


def _check_inputs(X, params: RNNParams, h0) -> tuple[np.ndarray, RNNParams, np.ndarray]:
    params = check_rnn_params(params)
    D, H = params.W.shape
    X = checked_array("X", X, (None, None, D), ("N", "T", "D"), params.W.dtype, "W")
    if h0 is None:
        return X, params, np.zeros((X.shape[0], H), params.W.dtype)
    h0 = checked_array("h0", h0, (X.shape[0], H), ("N", "H"), params.W.dtype, "W")
    return X, params, h0


def rnn_sequence(X: np.ndarray, params: RNNParams, h0: Optional[np.ndarray] = None) -> np.ndarray:
    """Run the plain RNN over ``X`` (N, T, D); return every hidden state (N, T, H).

    Implements :eq:`eq-rnn`, ``h_t = tanh(x_t W + h_{t-1} U + b)``, from
    ``h0`` (N, H), zeros if omitted.
    """
    X, params, h = _check_inputs(X, params, h0)
    N, T, _ = X.shape
    outputs = np.empty((N, T, params.W.shape[1]), params.W.dtype)
    for t in range(T):
        a = X[:, t] @ params.W + h @ params.U
        if params.b is not None:
            a = a + params.b
        h = outputs[:, t] = np.tanh(a)
    return outputs


def rnn_backward(
    d_outputs: np.ndarray,
    X: np.ndarray,
    outputs: np.ndarray,
    params: RNNParams,
    h0: Optional[np.ndarray] = None,
) -> RNNGradients:
    """Backpropagation through time for the plain RNN.

    Implements :eq:`eq-rnn-bptt`: going back from t = T,
    ``d_h_t = d_y_t + d_a_{t+1} U^T`` and ``d_a_t = d_h_t ⊙ (1 - h_t²)``, the
    gradient of the pre-activation ``a_t = x_t W + h_{t-1} U + b``; then
    ``d_x_t = d_a_t W^T``, ``d_W = Σ x_t^T d_a_t``, ``d_U = Σ h_{t-1}^T d_a_t``,
    ``d_b = Σ d_a_t``.

    Parameters
    ----------
    d_outputs : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every output of :func:`rnn_sequence`.
    X : ndarray, shape (N, T, D)
    outputs : ndarray, shape (N, T, H)
        What :func:`rnn_sequence` returned for ``X``.
    params : RNNParams
    h0 : ndarray, shape (N, H), optional

    Returns
    -------
    RNNGradients
    """
    X, params, h0 = _check_inputs(X, params, h0)
    N, T, _ = X.shape
    H = params.W.shape[1]
    dtype = params.W.dtype
    outputs = checked_array("outputs", outputs, (N, T, H), ("N", "T", "H"), dtype, "W")
    d_outputs = checked_array("d_outputs", d_outputs, (N, T, H), ("N", "T", "H"), dtype, "W")
    H_prev = np.concatenate([h0[:, None], outputs], axis=1)[:, :-1]  # (N, T, H)
    d_A = np.empty_like(outputs)  # gradients of the pre-activations
    d_H = np.empty_like(outputs)
    d_h_next = np.zeros((N, H), dtype)
    for t in reversed(range(T)):
        d_H[:, t] = d_outputs[:, t] + d_h_next
        d_A[:, t] = d_H[:, t] * (1 - outputs[:, t] ** 2)
        d_h_next = d_A[:, t] @ params.U.T
    d_W, d_U, d_b = weight_grads(X, H_prev, d_A)  # the LSTM's sums, with H for 4H
    d_params = RNNParams(W=d_W, U=d_U, b=None if params.b is None else d_b)
    return RNNGradients(d_X=d_A @ params.W.T, d_h0=d_h_next, d_params=d_params, d_H=d_H)
