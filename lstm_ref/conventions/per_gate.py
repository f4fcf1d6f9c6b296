"""One weight matrix per gate, as in colah's diagrams and seed 003.

Each gate has its own weights over the concatenation ``[x_t, h_{t-1}]``:

=================  ==========  =============================================
name               shape       gate
=================  ==========  =============================================
``W_f``, ``b_f``   (D+H, H),   forget gate ``f = σ([x, h] W_f + b_f)``
                   (H,)
``W_i``, ``b_i``   same        input gate ``i = σ([x, h] W_i + b_i)``
``W_C``, ``b_C``   same        candidate ``g = tanh([x, h] W_C + b_C)``
                               (colah's ``C̃``)
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
from ..cell import StepValues, cell_update, hidden_state
from ..layout import concat_kernel, named_gates, split_concat_kernel, split_gates
from ..params import LSTMParams, LSTMState, as_float_array, check_shape, check_step_inputs

__all__ = [
    "GATE_NAMES", "PerGateParams", "gate_layer", "per_gate_step", "from_per_gate",
    "to_per_gate"
]


# The canonical gate order in colah's letters: his candidate is C (C̃).
GATE_NAMES = named_gates("C")


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

    With the sigmoid this is the forget gate :eq:`eq-forget-gate`, the input
    gate :eq:`eq-input-gate` and the output gate :eq:`eq-output-gate`; with
    ``np.tanh`` it is the candidate :eq:`eq-candidate` (seed 003's
    ``gateLayer`` and ``tanhLayer``).

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs at this step.
    h : ndarray, shape (N, H)
        The previous hidden state.
    W : ndarray, shape (D+H, H)
        The gate's weights over ``[x, h]``: the first D rows multiply ``x``.
    b : ndarray, shape (H,)
        The gate's bias.
    activation : callable
        σ for a gate, tanh for the candidate.
    """
    return activation(np.concatenate([x, h], axis=1) @ W + b)


def per_gate_step(x: np.ndarray, state: LSTMState, weights: PerGateParams) -> StepValues:
    """One LSTM step computed gate by gate, with four matrix products.

    The gates (:func:`gate_layer`), the cell update
    (:func:`lstm_ref.cell.cell_update`) and the hidden state
    (:func:`lstm_ref.cell.hidden_state`) in the order colah's diagrams draw
    them. The fused form
    (:func:`from_per_gate`, then :func:`lstm_ref.lstm_step`) computes the same
    step with one matrix product.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs at this step.
    state : LSTMState
        ``h`` (N, H) and ``c`` (N, H) from the previous step.
    weights : PerGateParams
        Each gate's (D+H, H) matrix and (H,) bias.

    Returns
    -------
    StepValues
        ``i, f, g, o`` and the new ``c`` and ``h`` (N, H) each; ``m`` is ``h``.

    Raises
    ------
    ValueError, TypeError
        If the weights' shapes disagree, or ``x`` or ``state`` does not fit them.
    """
    x, (h_prev, c_prev) = check_step_inputs(x, state, from_per_gate(weights))
    w = PerGateParams(*(np.asarray(a) for a in weights))
    f = gate_layer(x, h_prev, w.W_f, w.b_f)  # what to keep of c_prev
    i = gate_layer(x, h_prev, w.W_i, w.b_i)  # how much of the candidate to write
    g = gate_layer(x, h_prev, w.W_C, w.b_C, np.tanh)  # what could be written
    c = cell_update(f, c_prev, i, g)
    o = gate_layer(x, h_prev, w.W_o, w.b_o)  # how much of tanh(c) to show
    h = hidden_state(o, c, np.tanh)
    return StepValues(i=i, f=f, g=g, o=o, c=c, m=h, h=h)


def from_per_gate(weights: PerGateParams) -> LSTMParams:
    """Fuse per-gate weights into canonical parameters (blocks i, f, g, o).

    Implements :eq:`eq-stacked-gates`: the four (D+H, H) matrices side by side
    make one (D+H, 4H) matrix over ``[x, h]``, whose first D rows are ``W``
    (D, 4H) and last H rows ``U`` (H, 4H); the biases likewise make ``b``
    (4H,).

    Raises
    ------
    ValueError
        If the eight arrays do not share the shapes (D+H, H) and (H,).
    """
    if not isinstance(weights, PerGateParams):
        raise TypeError(f"weights: expected PerGateParams(W_f, b_f, W_i, b_i, W_C, b_C, W_o, b_o), "
                        f"got {type(weights).__name__}")
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
    kernel = np.concatenate([arrays[f"W_{gate}"] for gate in GATE_NAMES], axis=1)
    bias = np.concatenate([arrays[f"b_{gate}"] for gate in GATE_NAMES])
    W, U = split_concat_kernel(kernel, rows - H)
    return LSTMParams(W=W, U=U, b=bias)


def to_per_gate(params: LSTMParams) -> PerGateParams:
    """Split canonical parameters (no peepholes, projection or layer norm) per gate.

    The inverse of :func:`from_per_gate`, its equation read from right to
    left: ``W_f`` is the f block of ``W`` stacked on that of ``U``, shape
    (D+H, H). A missing bias becomes zeros.
    """
    extras = params.extras()
    if extras:
        raise ValueError(f"params: the per-gate form has no {', '.join(extras)}")
    kernel = concat_kernel(params.W, params.U)
    b = params.b if params.b is not None else np.zeros(4 * params.hidden_size, params.dtype)
    blocks = {f"{kind}_{gate}": block for kind, array in (("W", kernel), ("b", b))
              for gate, block in zip(GATE_NAMES, split_gates(array))}
    return PerGateParams(**blocks)
