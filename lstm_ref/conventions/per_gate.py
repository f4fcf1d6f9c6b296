"""One weight matrix per gate, as in colah's diagrams and seed 003.

Each gate has its own weights over the concatenation ``[x_t, h_{t-1}]``:

=================  ==========  =============================================
name               shape       gate
=================  ==========  =============================================
``W_f``, ``b_f``   (D+H, H),   forget gate ``f = σ([x, h] W_f + b_f)``
                   (H,)
``W_i``, ``b_i``   same        input gate ``i = σ([x, h] W_i + b_i)``
``W_C``, ``b_C``   same        candidate ``C̃ = tanh([x, h] W_C + b_C)``
``W_o``, ``b_o``   same        output gate ``o = σ([x, h] W_o + b_o)``
=================  ==========  =============================================

Stacking the four matrices side by side gives one (D+H, 4H) matrix, whose
top D rows are the canonical ``W`` and bottom H rows ``U``: the fused form
computes all four gates with one matrix product instead of four.
(colah writes the concatenation as ``[h_{t-1}, x_t]``; seed 003 and this
module put ``x`` first, which is also TF's order.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..activations import Activation, sigmoid
from ..layout import concat_kernel, split_concat_kernel, split_gates
from ..params import LSTMParams, as_float_array, check_shape


class PerGateParams(NamedTuple):
    """Weights (D+H, H) and biases (H,) of each gate, in colah's order f, i, C, o."""

    W_f: np.ndarray
    b_f: np.ndarray
    W_i: np.ndarray
    b_i: np.ndarray
    W_C: np.ndarray
    b_C: np.ndarray
    W_o: np.ndarray
    b_o: np.ndarray


def gate_layer(
    x: np.ndarray, h: np.ndarray, W: np.ndarray, b: np.ndarray, activation: Activation = sigmoid
) -> np.ndarray:
    """One gate in the per-gate form: ``activation([x, h] W + b)``, shape (N, H).

    With the sigmoid this is each of the forget, input and output gates; with
    ``np.tanh`` it is the candidate (seed 003's ``gateLayer`` and ``tanhLayer``).
    """
    return activation(np.concatenate([x, h], axis=1) @ W + b)


def from_per_gate(weights: PerGateParams) -> LSTMParams:
    """Fuse per-gate weights into canonical parameters (blocks i, f, g, o).

    Raises
    ------
    ValueError
        If the eight arrays do not share the shapes (D+H, H) and (H,).
    """
    arrays = {name: as_float_array(name, value) for name, value in weights._asdict().items()}
    W_f = arrays["W_f"]
    if W_f.ndim != 2 or W_f.shape[0] <= W_f.shape[1]:
        raise ValueError(f"W_f: expected shape (D+H, H) with D >= 1, got {W_f.shape}")
    rows, H = W_f.shape
    for name, value in arrays.items():
        if name.startswith("W"):
            check_shape(name, value, (rows, H), ("D+H", "H"))
        else:
            check_shape(name, value, (H,), ("H",))
    kernel = np.concatenate([arrays[n] for n in ("W_i", "W_f", "W_C", "W_o")], axis=1)
    bias = np.concatenate([arrays[n] for n in ("b_i", "b_f", "b_C", "b_o")])
    W, U = split_concat_kernel(kernel, rows - H)
    return LSTMParams(W=W, U=U, b=bias)


def to_per_gate(params: LSTMParams) -> PerGateParams:
    """Split canonical parameters (no peepholes, projection or layer norm) per gate."""
    extras = [n for n in params.arrays() if n not in ("W", "U", "b")]
    if extras:
        raise ValueError(f"params: the per-gate form has no {', '.join(extras)}")
    kernel = concat_kernel(params.W, params.U)
    b = params.b if params.b is not None else np.zeros(4 * params.hidden_size, params.dtype)
    W_i, W_f, W_C, W_o = split_gates(kernel)
    b_i, b_f, b_C, b_o = split_gates(b)
    return PerGateParams(W_f=W_f, b_f=b_f, W_i=W_i, b_i=b_i, W_C=W_C, b_C=b_C, W_o=W_o, b_o=b_o)
