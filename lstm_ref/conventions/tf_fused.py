"""TensorFlow's fused LSTM kernels: ``LSTMBlockCell``, ``BlockLSTM`` and ``BlockLSTMV2``.

``tf.raw_ops.LSTMBlockCell`` (one step) and ``tf.raw_ops.BlockLSTM`` /
``BlockLSTMV2`` (a whole time-major sequence) keep TF 1.x's single kernel
``w`` (D + H, 4H) on ``concat([x, h])``, a bias ``b`` (4H,) and diagonal
peepholes ``wci``, ``wcf``, ``wco`` (H,), and return every intermediate:
``i``, ``cs`` (the cell state, clipped), ``f``, ``o``, ``ci`` (the
candidate, after tanh), ``co`` (``tanh(cs)``) and ``h``.

Their documentation gives the gate order of ``xh * w + b`` as
``[i, f, ci, o]`` for all three. Running them (the book does, and so do the
tests) settles it otherwise:

======================  ===============  ===================================
op                      gate blocks      forget bias at run time
======================  ===============  ===================================
``LSTMBlockCell``       i, ci, f, o      ``forget_bias`` (default 1)
``BlockLSTM``           i, ci, f, o      ``forget_bias`` (default 1)
``BlockLSTMV2``         i, f, ci, o      none (Keras's order and convention)
======================  ===============  ===================================

``cell_clip`` defaults to 3 in the raw ops (0 or a negative value means none).
The kernels exist for float32 and half only.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ..layout import GATE_ORDER, TF1_GATE_ORDER, concat_kernel, reorder_gates, split_concat_kernel
from ..params import LSTMParams, as_float_array

__all__ = ["GATE_ORDERS", "OUTPUT_NAMES", "BlockWeights", "to_block", "from_block",
    "block_outputs"
]

# Settled by execution: see the module docstring.
GATE_ORDERS = {"LSTMBlockCell": TF1_GATE_ORDER, "BlockLSTM": TF1_GATE_ORDER,
               "BlockLSTMV2": GATE_ORDER}
OUTPUT_NAMES = ("i", "cs", "f", "o", "ci", "co", "h")


class BlockWeights(NamedTuple):
    """The weight inputs of the fused ops: ``w`` (D + H, 4H), ``b`` (4H,), ``wci``, ``wcf``, ``wco`` (H,)."""

    w: np.ndarray
    b: np.ndarray
    wci: np.ndarray
    wcf: np.ndarray
    wco: np.ndarray


def _check_op(op: str) -> tuple[str, ...]:
    if op not in GATE_ORDERS:
        raise ValueError(f"op: expected one of {tuple(GATE_ORDERS)}, got {op!r}")
    return GATE_ORDERS[op]


def to_block(params: LSTMParams, op: str = "LSTMBlockCell") -> BlockWeights:
    """The weights of ``op`` for ``params``, in that op's gate order.

    Missing bias or peepholes become zeros (the ops always take them;
    ``use_peephole=False`` ignores the peepholes).

    Raises
    ------
    ValueError
        If ``op`` is unknown, or ``params`` has a projection, layer
        normalization or a full-matrix peephole (the ops have none).
    """
    order = _check_op(op)
    unsupported = [n for n in params.extras() if n not in ("p_i", "p_f", "p_o")]
    if unsupported:
        raise ValueError(
            f"params.{unsupported[0]}: {op} has no such weight; W, U, b and the diagonal "
            "peepholes convert"
        )
    H, dtype = params.hidden_size, params.dtype
    b = params.b if params.b is not None else np.zeros(4 * H, dtype)
    w = reorder_gates(concat_kernel(params.W, params.U), GATE_ORDER, order)
    peepholes = [getattr(params, f"p_{gate}") for gate in "ifo"]
    return BlockWeights(w, reorder_gates(b, GATE_ORDER, order),
                        *(np.zeros(H, dtype) if p is None else p.copy() for p in peepholes))


def from_block(w, b, wci=None, wcf=None, wco=None, *, input_size: int,
               op: str = "LSTMBlockCell") -> LSTMParams:
    """Canonical parameters from the weights of ``op``.

    Parameters
    ----------
    w : ndarray, shape (D + H, 4H)
        On ``concat([x, h])``, blocks in ``op``'s gate order.
    b : ndarray, shape (4H,)
    wci, wcf, wco : ndarray, shape (H,), optional
        Peepholes (pass them only if the op runs with ``use_peephole=True``).
    input_size : int
        D: the rows of ``w`` that multiply ``x``.
    op : {"LSTMBlockCell", "BlockLSTM", "BlockLSTMV2"}
    """
    order = _check_op(op)
    w = as_float_array("w", w)
    if w.ndim != 2 or w.shape[1] % 4 or w.shape[0] != input_size + w.shape[1] // 4:
        raise ValueError(
            f"w: expected shape (D + H, 4H) with D = input_size = {input_size}, got {w.shape}"
        )
    W, U = split_concat_kernel(reorder_gates(w, order, GATE_ORDER), input_size)
    peepholes = {f"p_{gate}": p for gate, p in zip("ifo", (wci, wcf, wco)) if p is not None}
    return LSTMParams(W=W, U=U, b=reorder_gates(as_float_array("b", b), order, GATE_ORDER),
                      **peepholes)


def block_outputs(values) -> dict[str, np.ndarray]:
    """The ops' seven outputs from lstm_ref's per-step values (:class:`lstm_ref.cell.StepValues`).

    ``i``, ``f``, ``o`` are the gates, ``ci`` the candidate g, ``cs`` the
    cell state c, ``co`` is tanh(c) (the φ(c) inside
    :func:`lstm_ref.cell.hidden_state`), ``h`` the hidden state.
    """
    return {"i": values.i, "cs": values.c, "f": values.f, "o": values.o, "ci": values.g,
            "co": np.tanh(values.c), "h": values.h}
