"""A fast forward pass over whole sequences, with the readable path's parameters.

:func:`lstm_ref.lstm_sequence` applies :func:`lstm_ref.lstm_step` T times,
and each step allocates a dozen temporary arrays. This module computes the
same outputs from the same :class:`lstm_ref.LSTMParams` and
:class:`lstm_ref.LSTMConfig`, and is verified equal to it (to 1e-12 in
float64, 1e-6 in float32). Four things make it fast:

1. **The input projection of every step in one multiply.** ``x_t W`` does
   not depend on the recurrence, so it is computed for all T steps at once,
   as an (N T, D) by (D, 4H) product; the bias rides along as one more row
   of ``W``, multiplied by a column of ones appended to ``X``. Inside the
   loop only ``h_{t-1} U`` remains.
2. **No allocation in the loop.** Every step writes into buffers made before
   the loop, with ``np.matmul(..., out=...)`` and ufuncs with ``out=``; the
   hidden state goes straight into the output array, and the next step's
   recurrent multiply reads it from there.
3. **Gate-major storage.** In an (N, 4H) array each gate block is a view
   with N separate rows, and NumPy runs an elementwise operation on such a
   view one row at a time. Here the weights are stored as one matrix per
   gate, ``W`` as (4, D, H) and ``U`` as (4, H, H), so that one batched
   multiply writes the pre-activations as (4, N, H): every gate is one
   contiguous block, and every elementwise operation one pass over memory.
4. **One tanh for all four gates.** The blocks are ordered i, f, o, g, so
   that the three gates that share σ are one contiguous block. With σ the
   logistic sigmoid their weights are also halved, because
   ``σ(z) = (1 + tanh(z / 2)) / 2``: one ``tanh`` over all four blocks, then
   a multiply and an add over the first three. Halving is exact in binary
   floating point, so ``z / 2`` is rounded exactly as ``z`` would be.

The splitting, reordering and scaling happen once, in :class:`FastLSTM`; the
public parameters stay canonical (i, f, g, o, unscaled), as Flax's fused
cell keeps the parameter names of its readable one.

Supported: ``W``, ``U``, an optional ``b``, every activation that
:class:`lstm_ref.LSTMConfig` accepts (sigmoid and tanh in place; any other
through the function itself, correct but slower), ``forget_bias`` and
``cell_clip``. Refused with a ``ValueError``: peepholes (``p_i``, ``p_f``,
``p_o``, ``V_o``), the projection ``W_proj`` and layer normalization; use
:func:`lstm_ref.lstm_sequence` for those.

:meth:`FastLSTM.forward` also keeps every step's activated gates and cell
state (:class:`FastCache`), the values backpropagation through time reads:
a fast backward pass belongs next to it.

Shapes use N batch, T time, D input, H hidden; gate blocks of the public
parameters along every 4H axis are ordered i, f, g, o.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import cycle
from typing import Optional

import numpy as np

from . import activations
from .cell import DEFAULT_CONFIG, LSTMConfig
from .layout import GATE_ORDER, reorder_gates
from .params import LSTMParams, LSTMState, check_sequence_inputs

FAST_GATE_ORDER = ("i", "f", "o", "g")
"""Internal order of the gate blocks: the three σ gates first, contiguous."""

# Parts of LSTMParams the fast path does not compute, and what they are.
_UNSUPPORTED = {
    "p_i": "a peephole", "p_f": "a peephole", "p_o": "a peephole",
    "V_o": "a full-matrix output peephole", "W_proj": "a projection",
    "gamma": "layer normalization",
}


def check_fast_supported(params: LSTMParams, config: LSTMConfig) -> None:
    """Raise ``ValueError`` if the fast path cannot compute this cell.

    Peepholes (``p_i``, ``p_f``, ``p_o``, ``V_o``), a projection (``W_proj``)
    and layer normalization are refused; every activation, ``forget_bias``
    and ``cell_clip`` are supported. ``proj_clip`` only acts on a projection,
    so without one it is ignored, as :func:`lstm_ref.lstm_sequence` ignores it.
    """
    if not isinstance(params, LSTMParams):
        raise TypeError(f"params: expected LSTMParams, got {type(params).__name__}")
    if not isinstance(config, LSTMConfig):
        raise TypeError(f"config: expected LSTMConfig, got {type(config).__name__}")
    for name, what in _UNSUPPORTED.items():
        if getattr(params, name) is not None:
            raise ValueError(
                f"params.{name}: the fast path does not compute {what}; it supports "
                "W, U and b only. Use lstm_ref.lstm_sequence for this cell"
            )


@dataclass(frozen=True, eq=False)
class FastCache:
    """What :meth:`FastLSTM.forward` keeps: every step's gates and cell state.

    Attributes
    ----------
    X : ndarray, shape (N, T, D)
        The inputs.
    initial_state : LSTMState
        ``h_0`` (N, H) and ``c_0`` (N, H).
    gates : ndarray, shape (T, 4, N, H)
        The activated gates of every step, gate-major, in the internal order
        i, f, o, g (:data:`FAST_GATE_ORDER`); :meth:`stacked` gives them by name.
    cells : ndarray, shape (T, N, H)
        The cell state ``c_t`` after every step.
    outputs : ndarray, shape (N, T, H)
        The hidden state ``h_t`` after every step.
    """

    X: np.ndarray
    initial_state: LSTMState
    gates: np.ndarray
    cells: np.ndarray
    outputs: np.ndarray

    def stacked(self, name: str) -> np.ndarray:
        """One quantity over all steps, batch-major, shape (N, T, H).

        ``name`` is one of ``"i"``, ``"f"``, ``"g"``, ``"o"`` (the activated
        gates), ``"c"`` (cell state) or ``"h"`` (hidden state), as in
        :class:`lstm_ref.cell.StepValues`.
        """
        if name == "h":
            return self.outputs
        if name == "c":
            return self.cells.transpose(1, 0, 2)
        if name not in FAST_GATE_ORDER:
            raise ValueError(f"name: expected one of i, f, g, o, c, h, got {name!r}")
        return self.gates[:, FAST_GATE_ORDER.index(name)].transpose(1, 0, 2)


class FastLSTM:
    """The LSTM over whole sequences, fast: the readable path's parameters and results.

    Prepares the weights once (split into one matrix per gate, reordered to
    i, f, o, g, the σ gates' weights halved when σ is the sigmoid,
    ``forget_bias`` folded into the bias); calling it runs
    :func:`lstm_ref.lstm_sequence`'s computation with the input projection
    of all steps in one multiply and in-place elementwise work on contiguous
    gate blocks (see :mod:`lstm_ref.fast`). Computes :eq:`eq-preactivation`,
    :eq:`eq-gates`, :eq:`eq-cell-update` and :eq:`eq-hidden` for t = 1, ..., T.

    Parameters
    ----------
    params : LSTMParams
        ``W`` (D, 4H), ``U`` (H, 4H) and optionally ``b`` (4H,), gate blocks
        i, f, g, o. No peepholes, projection or layer normalization.
    config : LSTMConfig
        Activations, ``forget_bias`` and ``cell_clip``.

    Attributes
    ----------
    W : ndarray, shape (4, D, H)
        Input weights, one matrix per gate in the order i, f, o, g; the
        first three halved if σ is the sigmoid.
    U : ndarray, shape (4, H, H)
        Recurrent weights, the same way.
    b : ndarray, shape (4, 1, H), or None
        Bias (with ``forget_bias`` added to the f block), the same way.

    Raises
    ------
    ValueError, TypeError
        For parameters the fast path does not compute (:func:`check_fast_supported`).

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_ref import LSTMParams, lstm_sequence
    >>> rng = np.random.default_rng(0)
    >>> params = LSTMParams(W=rng.normal(size=(3, 8)), U=rng.normal(size=(2, 8)),
    ...                     b=rng.normal(size=8))
    >>> X = rng.normal(size=(4, 5, 3))                       # (N, T, D)
    >>> outputs, (h, c) = FastLSTM(params)(X)
    >>> bool(np.abs(outputs - lstm_sequence(X, params)[0]).max() < 1e-12)
    True
    """

    def __init__(self, params: LSTMParams, config: LSTMConfig = DEFAULT_CONFIG):
        check_fast_supported(params, config)
        self.params, self.config = params, config
        sigma, phi = config.recurrent_activation_fn, config.activation_fn
        self._sigma, self._phi = sigma, phi
        # σ(z) = (1 + tanh(z/2)) / 2: with the σ gates' weights halved, tanh does all.
        self._sigmoid_by_tanh = sigma is activations.sigmoid
        self._phi_is_tanh = phi is activations.tanh
        dtype, H = params.dtype, params.hidden_size
        self._half = dtype.type(0.5)
        # Halving is exact (a power of two): z/2 is rounded exactly as z is.
        self._scale = np.array([0.5, 0.5, 0.5, 1] if self._sigmoid_by_tanh else [1] * 4,
                               dtype)[:, None, None]  # (4, 1, 1), gates i, f, o, g
        b = params.b
        if config.forget_bias:  # folded into the bias once, not added at every step
            b = np.zeros(4 * H, dtype) if b is None else b.copy()
            b[H : 2 * H] += dtype.type(config.forget_bias)
        self.W = self.to_internal(params.W)  # (4, D, H)
        self.U = self.to_internal(params.U)  # (4, H, H)
        self.b = None if b is None else self.to_internal(b[None, :])  # (4, 1, H)
        # The bias as one more row of W, for inputs with a column of ones appended.
        self._W_b = self.W if b is None else np.concatenate([self.W, self.b], axis=1)

    def to_internal(self, array: np.ndarray) -> np.ndarray:
        """From (K, 4H), blocks i, f, g, o, to the internal (4, K, H), i, f, o, g.

        The σ gates' blocks are halved when σ is the sigmoid.
        """
        K, H = array.shape[0], self.params.hidden_size
        reordered = reorder_gates(array, GATE_ORDER, FAST_GATE_ORDER)  # (K, 4H)
        gate_major = reordered.reshape(K, 4, H).transpose(1, 0, 2)  # (4, K, H), a view
        internal = np.empty((4, K, H), array.dtype)  # contiguous
        return np.multiply(gate_major, self._scale, out=internal)

    def to_canonical(self, array: np.ndarray) -> np.ndarray:
        """From the internal (4, ..., H), blocks i, f, o, g, to (..., 4H), i, f, g, o.

        The inverse of :meth:`to_internal`, for weights, pre-activations or
        their gradients; the halving of the σ gates is undone (exactly), so
        ``to_canonical(self.W)`` is ``params.W``.
        """
        array = np.array(array)  # a copy, in the caller's layout
        if self._sigmoid_by_tanh:
            array[:3] *= 2
        blocks = np.concatenate(list(array), axis=-1)  # (..., 4H), blocks i, f, o, g
        return reorder_gates(blocks, FAST_GATE_ORDER, GATE_ORDER)

    def __call__(
        self, X: np.ndarray, initial_state: Optional[LSTMState] = None
    ) -> tuple[np.ndarray, LSTMState]:
        """Run over ``X`` (N, T, D); returns ``outputs`` (N, T, H) and the final state.

        The same contract as :func:`lstm_ref.lstm_sequence`: ``initial_state``
        is ``h_0`` (N, H) and ``c_0`` (N, H), zeros if omitted; inputs are
        checked the same way and keep their dtype.
        """
        X, state = check_sequence_inputs(X, initial_state, self.params)
        outputs, final, _, _ = self._run(X, state, keep=False)
        return outputs, final

    def forward(
        self, X: np.ndarray, initial_state: Optional[LSTMState] = None
    ) -> tuple[np.ndarray, LSTMState, FastCache]:
        """Like calling the object, and also return every step's gates and cell state.

        Returns
        -------
        outputs : ndarray, shape (N, T, H)
        final_state : LSTMState
            ``h_T`` (N, H) and ``c_T`` (N, H).
        cache : FastCache
            The activated gates (T, 4, N, H) and cell states (T, N, H) of
            every step, for backpropagation through time.
        """
        X, state = check_sequence_inputs(X, initial_state, self.params)
        outputs, final, gates, cells = self._run(X, state, keep=True)
        return outputs, final, FastCache(X, state, gates, cells, outputs)

    # -----------------------------------------------------------------------
    # The two multiplies, and the loop

    def input_projection(self, X: np.ndarray) -> np.ndarray:
        """``x_t W + b`` for every step at once, shape (4, T, N, H), gates i, f, o, g.

        One multiply of all T N rows instead of T multiplies of N rows: the
        same operations, in a shape BLAS runs at full speed. ``X`` (N, T, D)
        is copied time-major, so that each step's slice of the result is
        contiguous, with a column of ones appended that multiplies the bias,
        a last row of the weights: ``[x, 1] [W; b] = x W + b``, so the bias
        costs no pass of its own. Input unchecked; :meth:`__call__` checks it.
        """
        N, T, D = X.shape
        K = self._W_b.shape[1]  # D + 1 with a bias, D without
        X_ones = np.empty((T, N, K), X.dtype)
        X_ones[..., :D] = X.transpose(1, 0, 2)
        X_ones[..., D:] = 1
        Z_x = np.matmul(X_ones.reshape(T * N, K), self._W_b)  # (4, T N, H)
        return Z_x.reshape(4, T, N, self.params.hidden_size)

    def recurrent_projection(self, h: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``h U`` into ``out`` (4, N, H), gates i, f, o, g, for ``h`` (N, H)."""
        return np.matmul(h, self.U, out=out)

    def _run(self, X, state, keep):
        """The loop over t. ``keep``: gate and cell buffers for every step."""
        N, T, _ = X.shape
        H, dtype = self.params.hidden_size, self.params.dtype
        Z_x = self.input_projection(X)  # (4, T, N, H)
        outputs = np.empty((N, T, H), dtype)  # h_t goes here; step t+1 reads it
        slots = T if keep else 1
        gates = np.empty((slots, 4, N, H), dtype)  # activated i, f, o, g
        cells = np.empty((slots, N, H), dtype)
        scratch = np.empty((N, H), dtype)
        clip = self.config.cell_clip
        # Every view the loop needs, made before it: for each buffer (reused
        # in turn) z, its σ block, i, f, o, g and c_t; x_t W + b and h_t come
        # from iterating over the time axis.
        buffers = cycle([(z, z[:3], *z, c_t) for z, c_t in zip(gates, cells)])
        by_time = Z_x.transpose(1, 0, 2, 3), outputs.transpose(1, 0, 2)
        steps = zip(*by_time, buffers)
        h, c = state.h, state.c
        for z_x, h_t, (z, s, i, f, o, g, c_t) in steps:
            self.recurrent_projection(h, out=z)  # h_{t-1} U
            np.add(z, z_x, out=z)  # + x_t W + b
            self._activate(z, s, g)
            np.multiply(f, c, out=c_t)  # c_t = f ⊙ c_{t-1} ...
            np.multiply(i, g, out=scratch)
            np.add(c_t, scratch, out=c_t)  # ... + i ⊙ g
            if clip is not None:
                np.clip(c_t, -clip, clip, out=c_t)
            self._apply_phi(c_t, out=scratch)
            np.multiply(o, scratch, out=h_t)  # h_t = o ⊙ φ(c_t)
            h, c = h_t, c_t
        final = LSTMState(h.copy(), c.copy()) if T else state
        return outputs, final, gates[:T], cells[:T]

    def _activate(self, z, s, g):
        """The gates in place: σ on ``s = z[:3]`` (i, f, o), φ on ``g = z[3]``."""
        if self._sigmoid_by_tanh:
            # The σ blocks hold z/2, and σ(z) = tanh(z/2) / 2 + 1/2.
            if self._phi_is_tanh:
                np.tanh(z, out=z)  # one call for all four blocks
            else:
                np.tanh(s, out=s)
                self._apply_phi(g, out=g)
            np.multiply(s, self._half, out=s)
            np.add(s, self._half, out=s)
        else:
            s[...] = self._sigma(s)
            self._apply_phi(g, out=g)

    def _apply_phi(self, x, out):
        if self._phi_is_tanh:
            np.tanh(x, out=out)
        else:
            out[...] = self._phi(x)


def lstm_sequence_fast(
    X: np.ndarray,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    initial_state: Optional[LSTMState] = None,
) -> tuple[np.ndarray, LSTMState]:
    """:func:`lstm_ref.lstm_sequence`, fast: same arguments, same results.

    Prepares a :class:`FastLSTM` and runs it. To run the same weights many
    times, make the :class:`FastLSTM` once and call it.

    Parameters
    ----------
    X : ndarray, shape (N, T, D)
    params : LSTMParams
        ``W`` (D, 4H), ``U`` (H, 4H), optional ``b`` (4H,); gate blocks i, f, g, o.
    config : LSTMConfig
    initial_state : LSTMState, optional
        ``h_0`` (N, H) and ``c_0`` (N, H); zeros if omitted.

    Returns
    -------
    outputs : ndarray, shape (N, T, H)
        The hidden state after every step.
    state : LSTMState
        The state after the last step.

    Raises
    ------
    ValueError, TypeError
        For bad input, as :func:`lstm_ref.lstm_sequence`; ``ValueError`` for
        peepholes, a projection or layer normalization.
    """
    return FastLSTM(params, config)(X, initial_state)
