"""Flax's LSTM cells (``flax.linen`` and ``flax.nnx``), in NumPy only.

``flax.linen.LSTMCell`` keeps **one Dense layer per gate and per input**:
the input kernels ``ii``, ``if``, ``ig``, ``io`` (D, H) have no bias; the
hidden kernels ``hi``, ``hf``, ``hg``, ``ho`` (H, H) each have a bias (H,),
since the two products are summed and one bias is enough:

=======================  ===========  =====================================
Flax parameter           shape        canonical
=======================  ===========  =====================================
``ii/kernel`` ...        (D, H)       block i (f, g, o) of ``W`` (D, 4H)
``hi/kernel`` ...        (H, H)       block i (f, g, o) of ``U`` (H, 4H)
``hi/bias`` ...          (H,)         block i (f, g, o) of ``b`` (4H,)
=======================  ===========  =====================================

``flax.linen.OptimizedLSTMCell`` keeps the same parameters (it concatenates
them at every call) and ``flax.nnx.LSTMCell`` the same again, except that
the forget gate's input layer is called ``if_`` (``if`` is a Python
keyword, and nnx layers are attributes). ``flax.nnx.OptimizedLSTMCell`` is
*not* parameter-compatible with them: it keeps two fused layers,
``dense_i/kernel`` (D, 4H) and ``dense_h/kernel`` (H, 4H) with
``dense_h/bias`` (4H,), gate blocks i, f, g, o: the canonical ``W``, ``U``,
``b`` themselves.

All of them compute ``z = x W + (h U + b)`` (the bias belongs to the hidden
layer) and carry the state as ``(c, h)``, **cell state first**, returning
``((c', h'), h')``. The default initializers are ``lecun_normal`` for the
input kernels, ``orthogonal`` for each (H, H) hidden kernel on its own, and
zeros for the biases. ``nn.RNN(cell)`` nests the cell's parameters under
``cell``.

No module of lstm_ref.conventions imports JAX or Flax: these functions take
and return NumPy arrays in nested dicts (``{"ii": {"kernel": array}, ...}``,
the ``params`` collection of linen, or ``nnx.to_pure_dict(nnx.state(cell,
nnx.Param))``); :mod:`lstm_ref.frameworks.jax` does the rest.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Optional

import numpy as np

from ..cell import lstm_step
from ..layout import GATE_ORDER, split_gates
from ..params import LSTMParams, LSTMState, as_float_array, check_shape
from ..sequence import lstm_sequence
from .torch import lengths_mask

__all__ = [
    "LAYOUTS", "gate_layer_names", "flax_layout", "from_flax", "to_flax", "Carry", "to_carry",
    "from_carry", "LSTMCell", "flip_sequences", "RNN",
]

LAYOUTS = ("linen", "nnx", "nnx_optimized")


def gate_layer_names(layout: str = "linen") -> tuple[list[str], list[str]]:
    """The names of the input layers and of the hidden layers, gates i, f, g, o.

    >>> gate_layer_names("nnx")
    (['ii', 'if_', 'ig', 'io'], ['hi', 'hf', 'hg', 'ho'])
    """
    _check_layout(layout, ("linen", "nnx"))
    inputs = [f"i{gate}" for gate in GATE_ORDER]
    if layout == "nnx":
        inputs[1] = "if_"  # `self.if = ...` is a syntax error
    return inputs, [f"h{gate}" for gate in GATE_ORDER]


def _check_layout(layout, allowed=LAYOUTS) -> None:
    if layout not in allowed:
        raise ValueError(f"layout: expected one of {', '.join(map(repr, allowed))}, "
                         f"got {layout!r}")


def flax_layout(params: Mapping) -> str:
    """Which layout a Flax parameter dict has: ``"linen"``, ``"nnx"`` or ``"nnx_optimized"``.

    Raises ``ValueError`` naming the expected names if it is none of them.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params: expected a mapping of layer names to {{'kernel': ...}}, "
                        f"got {type(params).__name__}")
    names = set(params)
    for layout in ("linen", "nnx"):
        inputs, hidden = gate_layer_names(layout)
        if names == set(inputs + hidden):
            return layout
    if names == {"dense_i", "dense_h"}:
        return "nnx_optimized"
    if names == {"cell"}:
        raise ValueError("params: got the parameters of nn.RNN (one entry 'cell'); pass "
                         "params['cell']")
    linen = sorted(sum(gate_layer_names("linen"), []))
    raise ValueError(
        f"params: expected the layers {linen} (linen; nnx names the forget gate's input "
        f"layer 'if_') or ['dense_h', 'dense_i'] (nnx.OptimizedLSTMCell), got {sorted(names)}"
    )


def from_flax(params: Mapping) -> LSTMParams:
    """Canonical parameters from a Flax LSTM cell's parameters, any of the three layouts.

    Implements :eq:`eq-flax-weights`: the per-gate kernels and biases side by side.

    Parameters
    ----------
    params : mapping
        ``{"ii": {"kernel": (D, H)}, ..., "hi": {"kernel": (H, H), "bias": (H,)}, ...}``
        (linen's ``LSTMCell`` and ``OptimizedLSTMCell``; nnx's ``LSTMCell`` with
        ``"if_"``), or ``{"dense_i": {"kernel": (D, 4H)}, "dense_h": {"kernel":
        (H, 4H), "bias": (4H,)}}`` (nnx's ``OptimizedLSTMCell``).

    Returns
    -------
    LSTMParams
        ``W`` (D, 4H), ``U`` (H, 4H), ``b`` (4H,): the per-gate kernels
        side by side in the order i, f, g, o. Concatenating copies; nothing
        is rounded.

    Examples
    --------
    >>> import numpy as np
    >>> layers = {f"i{g}": {"kernel": np.zeros((3, 2))} for g in "ifgo"}
    >>> layers.update({f"h{g}": {"kernel": np.eye(2), "bias": np.ones(2)} for g in "ifgo"})
    >>> p = from_flax(layers)
    >>> p.W.shape, p.U.shape, p.b.shape
    ((3, 8), (2, 8), (8,))
    """
    layout = flax_layout(params)
    if layout == "nnx_optimized":
        return LSTMParams(W=_array(params, "dense_i", "kernel"),
                          U=_array(params, "dense_h", "kernel"),
                          b=_array(params, "dense_h", "bias"))
    inputs, hidden = gate_layer_names(layout)
    W_k = [_array(params, name, "kernel") for name in inputs]
    U_k = [_array(params, name, "kernel") for name in hidden]
    b_k = [_array(params, name, "bias") for name in hidden]
    D, H = W_k[0].shape
    for name, array in zip(inputs, W_k):
        check_shape(f"params[{name!r}]['kernel']", array, (D, H), ("D", "H"))
    for name, U, b in zip(hidden, U_k, b_k):
        check_shape(f"params[{name!r}]['kernel']", U, (H, H), ("H", "H"))
        check_shape(f"params[{name!r}]['bias']", b, (H,), ("H",))
    # Side by side in the order i, f, g, o: the fused layout of the book.
    return LSTMParams(W=np.concatenate(W_k, axis=1), U=np.concatenate(U_k, axis=1),
                      b=np.concatenate(b_k))


def _array(params: Mapping, layer: str, name: str) -> np.ndarray:
    entry = params[layer]
    if not isinstance(entry, Mapping) or name not in entry:
        got = sorted(entry) if isinstance(entry, Mapping) else type(entry).__name__
        raise ValueError(f"params[{layer!r}]: expected an entry {name!r}, got {got}")
    array = as_float_array(f"params[{layer!r}][{name!r}]", entry[name])
    if array.ndim != (1 if name == "bias" else 2):
        raise ValueError(f"params[{layer!r}][{name!r}]: expected "
                         f"{'a vector' if name == 'bias' else 'a matrix'}, got shape {array.shape}")
    return array


def to_flax(params: LSTMParams, layout: str = "linen") -> dict:
    """A Flax LSTM cell's parameters (nested dicts of NumPy arrays) from canonical ones.

    The inverse of :func:`from_flax`: the gate blocks split apart.

    ``layout`` is ``"linen"`` (``flax.linen.LSTMCell`` and
    ``OptimizedLSTMCell``), ``"nnx"`` (``flax.nnx.LSTMCell``) or
    ``"nnx_optimized"`` (``flax.nnx.OptimizedLSTMCell``). Flax's cells always
    have a bias: without ``params.b`` the biases are zeros, which computes the
    same. ``from_flax(to_flax(params, layout))`` gives ``params`` back bit for bit.

    Raises
    ------
    ValueError
        If ``params`` has peepholes, a projection or layer normalization, which
        Flax's cells do not compute, or ``layout`` is unknown.
    """
    _check_layout(layout)
    if params.extras():
        raise ValueError(f"params.{params.extras()[0]}: Flax's LSTM cells have no such "
                         "weight; only W, U and b convert")
    b = np.zeros(4 * params.hidden_size, params.dtype) if params.b is None else params.b
    if layout == "nnx_optimized":
        return {"dense_i": {"kernel": params.W.copy()},
                "dense_h": {"kernel": params.U.copy(), "bias": b.copy()}}
    inputs, hidden = gate_layer_names(layout)
    result = {name: {"kernel": W_k.copy()} for name, W_k in zip(inputs, split_gates(params.W))}
    for name, U_k, b_k in zip(hidden, split_gates(params.U), split_gates(b)):
        result[name] = {"kernel": U_k.copy(), "bias": b_k.copy()}
    return result


# ---------------------------------------------------------------------------
# The carry, and mirrors of the cell and of nn.RNN


class Carry(NamedTuple):
    """Flax's LSTM carry: the cell state **first**, then the hidden state."""

    c: np.ndarray
    h: np.ndarray


def to_carry(state: LSTMState) -> Carry:
    """``LSTMState(h, c)`` to Flax's ``(c, h)``."""
    return Carry(c=state.c, h=state.h)


def from_carry(carry) -> LSTMState:
    """Flax's carry ``(c, h)`` to ``LSTMState(h, c)``."""
    if not isinstance(carry, tuple) or len(carry) != 2:
        raise TypeError(f"carry: expected Flax's pair (c, h), got {type(carry).__name__}")
    c, h = carry
    return LSTMState(h=h, c=c)


class LSTMCell:
    """``flax.linen.LSTMCell`` in NumPy: ``cell(carry, x)`` returns ``((c', h'), h')``.

    Holds canonical parameters (from :func:`from_flax`); the step is
    :func:`lstm_ref.lstm_step`, the same cell as everywhere in lstm_ref.
    """

    def __init__(self, params: LSTMParams):
        self.params = params

    @classmethod
    def from_flax(cls, params: Mapping) -> "LSTMCell":
        return cls(from_flax(params))

    def __call__(self, carry, x) -> tuple[Carry, np.ndarray]:
        h, c = lstm_step(x, from_carry(carry), self.params)
        return Carry(c=c, h=h), h


def flip_sequences(X: np.ndarray, lengths: Optional[np.ndarray]) -> np.ndarray:
    """Reverse each sequence of ``X`` (N, T, ...) within its length, padding left at the end,
    as ``flax.linen.recurrent.flip_sequences`` does; all of axis 1 without ``lengths``."""
    if lengths is None:
        return X[:, ::-1]
    N, T = X.shape[:2]
    index = (np.arange(T - 1, -1, -1)[None, :] + np.asarray(lengths)[:, None]) % T  # (N, T)
    return np.take_along_axis(X, index.reshape(index.shape + (1,) * (X.ndim - 2)), axis=1)


class RNN:
    """``flax.linen.RNN(LSTMCell(H))`` in NumPy, batch-major (``time_major=False``).

    ``rnn(inputs, initial_carry=None, seq_lengths=None, return_carry=False,
    reverse=False, keep_order=False)`` as in Flax: ``inputs`` (N, T, D),
    ``initial_carry`` ``(c, h)`` (zeros if omitted), ``seq_lengths`` (N,).

    With ``seq_lengths``, Flax does **not** stop at each sequence's end: the
    cell keeps running over the padding and the outputs there are whatever
    it computes (not zeros, not the last output); only the returned carry is
    the state after each sequence's last valid step. ``reverse`` reads each
    sequence backwards from its last valid step (padding stays at the end:
    :func:`flip_sequences`), and ``keep_order`` flips the outputs back.
    """

    def __init__(self, cell: LSTMCell):
        self.cell = cell

    def __call__(self, inputs, *, initial_carry=None, seq_lengths=None, return_carry=False,
                 reverse=False, keep_order=False):
        params = self.cell.params
        X = as_float_array("inputs", inputs)
        state0 = None if initial_carry is None else from_carry(initial_carry)
        if seq_lengths is not None:
            seq_lengths = np.asarray(seq_lengths)
            lengths_mask(seq_lengths, X.shape[0], X.shape[1])  # checks them
        if reverse:
            X = flip_sequences(X, seq_lengths)
        outputs, state = lstm_sequence(X, params, initial_state=state0)  # padding included
        if seq_lengths is not None:
            # The state after each sequence's own last step: a masked run stops there.
            mask = lengths_mask(seq_lengths, X.shape[0], X.shape[1])
            _, state = lstm_sequence(X, params, initial_state=state0, mask=mask)
        if reverse and keep_order:
            outputs = flip_sequences(outputs, seq_lengths)
        return (to_carry(state), outputs) if return_carry else outputs
