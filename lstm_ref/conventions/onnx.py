"""The ONNX ``LSTM`` operator, in NumPy only.

An ONNX ``LSTM`` node holds one layer, read in one or both directions. Its
inputs, for ``num_directions`` = 2 with ``direction="bidirectional"`` and 1
otherwise:

===================  ==========================  ===================================
input                shape                       holds
===================  ==========================  ===================================
``X``                (T, N, D), layout 0         the inputs (time-major by default)
                     (N, T, D), layout 1
``W``                (dirs, 4H, D)               input weights, blocks i, o, f, c
``R``                (dirs, 4H, H)               recurrent weights, blocks i, o, f, c
``B``                (dirs, 8H)                  ``[Wb; Rb]``: two biases, each i, o, f, c
``sequence_lens``    (N,) int32                  the length of each sequence
``initial_h``        (dirs, N, H), layout 0      h before the first step
                     (N, dirs, H), layout 1
``initial_c``        like ``initial_h``          c before the first step
``P``                (dirs, 3H)                  peepholes, blocks i, o, **f**
===================  ==========================  ===================================

ONNX's ``c`` gate is lstm_ref's candidate g. Its matrices multiply from the
left, ``W_i x_t``, so ``W`` of one direction is the canonical ``W``
transposed with its blocks reordered; the two biases only ever appear as a
sum. The peepholes are diagonal, the input and forget ones on ``c_{t-1}``,
the output one on ``c_t``, as in TF's ``LSTMCell``; their blocks come in the
order i, o, f, which is neither the gate order of ``W`` (i, o, f, c) nor the
canonical one.

The outputs are ``Y`` (T, dirs, N, H) with layout 0, (N, T, dirs, H) with
layout 1 (every step's h, zero past a sequence's length), and ``Y_h``,
``Y_c``, shaped like ``initial_h``: the last h and c of each direction.

No module of lstm_ref imports onnx: :func:`to_onnx` and :func:`from_onnx`
convert NumPy arrays, :class:`ONNXLSTM` computes what the operator computes,
and :mod:`lstm_ref.frameworks.onnxruntime` builds and runs real ONNX models.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np

from .. import activations as act
from ..cell import LSTMConfig
from ..layout import GATE_ORDER, reorder_gates
from ..params import (LSTMParams, LSTMState, as_float_array, check_finite, check_shape,
                      checked_array)
from ..sequence import lstm_sequence

__all__ = ["ONNX_GATE_ORDER", "PEEPHOLE_ORDER", "DIRECTIONS", "LAYOUTS", "ONNXWeights",
    "to_onnx", "from_onnx", "ONNX_ACTIVATIONS", "DEFAULT_ACTIVATIONS", "onnx_activations",
    "check_direction", "check_layout", "batch_major", "check_sequence_lens",
    "reverse_within_lengths", "ONNXLSTM"
]

ONNX_GATE_ORDER = ("i", "o", "f", "g")  # ONNX names the candidate c: blocks i, o, f, c
PEEPHOLE_ORDER = ("i", "o", "f")  # the blocks of P
DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}
LAYOUTS = (0, 1)


class ONNXWeights(NamedTuple):
    """The weight inputs of an ONNX ``LSTM`` node, gate blocks i, o, f, c.

    Attributes
    ----------
    W : ndarray, shape (dirs, 4H, D)
    R : ndarray, shape (dirs, 4H, H)
    B : ndarray, shape (dirs, 8H), or None
        ``[Wb; Rb]``.
    P : ndarray, shape (dirs, 3H), or None
        Peepholes, blocks i, o, f.
    """

    W: np.ndarray
    R: np.ndarray
    B: Optional[np.ndarray]
    P: Optional[np.ndarray]


def _rows(array: np.ndarray, source, target) -> np.ndarray:
    """Reorder the gate blocks along the first axis (ONNX's weights are transposed)."""
    return np.ascontiguousarray(reorder_gates(array.T, source, target).T)


def to_onnx(directions: Sequence[LSTMParams]) -> ONNXWeights:
    """The ONNX ``W``, ``R``, ``B``, ``P`` of one layer, one ``LSTMParams`` per direction.

    Parameters
    ----------
    directions : sequence of LSTMParams
        One (``direction="forward"`` or ``"reverse"``) or two
        (``"bidirectional"``: forward first, then backward), same sizes and dtype,
        gate blocks i, f, g, o.

    Returns
    -------
    ONNXWeights
        ``W`` (dirs, 4H, D) and ``R`` (dirs, 4H, H) in blocks i, o, f, c;
        ``B`` (dirs, 8H) with all of ``b`` in ``Wb`` and zeros in ``Rb`` (only
        their sum matters), ``None`` if no direction has a bias; ``P``
        (dirs, 3H) as ``[p_i, p_o, p_f]`` (zeros for a missing one), ``None``
        if no direction has peepholes.

    Raises
    ------
    ValueError
        If a direction has a projection, layer normalization or a full-matrix
        peephole (the ONNX operator has none), or the directions differ in size.
    TypeError
        If ``directions`` is not a list of one or two LSTMParams, or dtypes differ.
    """
    directions = _check_directions(directions)
    first = directions[0]
    H = first.hidden_size
    zeros = np.zeros(H, first.dtype)
    W = np.stack([_rows(p.W.T, GATE_ORDER, ONNX_GATE_ORDER) for p in directions])
    R = np.stack([_rows(p.U.T, GATE_ORDER, ONNX_GATE_ORDER) for p in directions])
    B = P = None
    if any(p.b is not None for p in directions):
        B = np.stack([
            np.concatenate([
                reorder_gates(p.b if p.b is not None else np.zeros(4 * H, p.dtype),
                              GATE_ORDER, ONNX_GATE_ORDER),
                np.zeros(4 * H, p.dtype),  # Rb: ONNX adds it to Wb; all of b sits in Wb
            ])
            for p in directions
        ])
    if any(p.p_i is not None or p.p_f is not None or p.p_o is not None for p in directions):
        P = np.stack([
            np.concatenate([
                zeros if getattr(p, f"p_{gate}") is None else getattr(p, f"p_{gate}")
                for gate in PEEPHOLE_ORDER
            ])
            for p in directions
        ])
    return ONNXWeights(W, R, B, P)


def _check_directions(directions) -> list[LSTMParams]:
    if isinstance(directions, LSTMParams):
        directions = [directions]
    if (not isinstance(directions, (list, tuple)) or len(directions) not in (1, 2)
            or not all(isinstance(p, LSTMParams) for p in directions)):
        raise TypeError(
            "directions: expected a list of one or two LSTMParams (forward, backward), "
            f"got {directions!r:.80}"
        )
    for k, p in enumerate(directions):
        unsupported = [name for name in p.extras() if name not in ("p_i", "p_f", "p_o")]
        if unsupported:
            raise ValueError(
                f"directions[{k}].{unsupported[0]}: the ONNX LSTM operator has no such "
                "weight; W, U, b and the diagonal peepholes p_i, p_f, p_o convert"
            )
    first = directions[0]
    for k, p in enumerate(directions[1:], 1):
        if p.dtype != first.dtype:
            raise TypeError(
                f"directions[{k}]: expected dtype {first.dtype} (the dtype of "
                f"directions[0]), got {p.dtype}"
            )
        if (p.input_size, p.hidden_size) != (first.input_size, first.hidden_size):
            raise ValueError(
                f"directions[{k}]: expected the sizes (D, H) = "
                f"{(first.input_size, first.hidden_size)} of directions[0], "
                f"got {(p.input_size, p.hidden_size)}"
            )
    return list(directions)


def from_onnx(W, R, B=None, P=None) -> list[LSTMParams]:
    """Canonical parameters, one per direction, from an ONNX ``LSTM`` node's weights.

    Parameters
    ----------
    W : ndarray, shape (dirs, 4H, D)
        Blocks i, o, f, c along the second axis.
    R : ndarray, shape (dirs, 4H, H)
    B : ndarray, shape (dirs, 8H), optional
        ``[Wb; Rb]``; ``b = Wb + Rb`` (rounded once, as the sum a runtime adds).
    P : ndarray, shape (dirs, 3H), optional
        Peepholes ``[p_i, p_o, p_f]``.

    Returns
    -------
    list of LSTMParams
        One per direction (forward first), gate blocks i, f, g, o.
    """
    W = as_float_array("W", W)
    if W.ndim != 3 or W.shape[0] not in (1, 2) or W.shape[1] % 4 or W.shape[1] == 0:
        raise ValueError(
            "W: expected shape (dirs, 4H, D) with dirs 1 or 2 and a second axis that is "
            f"a positive multiple of 4 (blocks i, o, f, c), got {W.shape}"
        )
    check_finite("W", W)
    dirs, H = W.shape[0], W.shape[1] // 4
    R = checked_array("R", R, (dirs, 4 * H, H), ("dirs", "4H", "H"), W.dtype, "W")
    if B is not None:
        B = checked_array("B", B, (dirs, 8 * H), ("dirs", "8H"), W.dtype, "W")
    if P is not None:
        P = checked_array("P", P, (dirs, 3 * H), ("dirs", "3H"), W.dtype, "W")
    directions = []
    for d in range(dirs):
        weights = {
            "W": _rows(W[d], ONNX_GATE_ORDER, GATE_ORDER).T.copy(),  # (D, 4H)
            "U": _rows(R[d], ONNX_GATE_ORDER, GATE_ORDER).T.copy(),  # (H, 4H)
        }
        if B is not None:
            Wb, Rb = B[d, :4 * H], B[d, 4 * H:]
            weights["b"] = reorder_gates(Wb + Rb, ONNX_GATE_ORDER, GATE_ORDER)
        if P is not None:
            for gate, p in zip(PEEPHOLE_ORDER, np.split(P[d], 3)):
                weights[f"p_{gate}"] = p.copy()
        directions.append(LSTMParams(**weights))
    return directions


# ---------------------------------------------------------------------------
# Activations

# ONNX's activation names: the function and how many of (alpha, beta) it takes.
ONNX_ACTIVATIONS = {
    "Sigmoid": (act.sigmoid, 0), "Tanh": (act.tanh, 0), "Relu": (act.relu, 0),
    "Affine": (act.affine, 2), "LeakyRelu": (act.leaky_relu, 1),
    "ThresholdedRelu": (act.thresholded_relu, 1), "ScaledTanh": (act.scaled_tanh, 2),
    "HardSigmoid": (act.hard_sigmoid_onnx, 2), "Elu": (act.elu, 1),
    "Softsign": (act.softsign, 0), "Softplus": (act.softplus, 0),
}
DEFAULT_ACTIVATIONS = ("Sigmoid", "Tanh", "Tanh")  # f (the gates), g (the candidate), h


def onnx_activations(activations: Optional[Sequence[str]], activation_alpha=None,
                     activation_beta=None, num_directions: int = 1) -> list[tuple]:
    """The functions (f, g, h) of each direction from the operator's attributes.

    ``activations`` lists three names per direction (forward first).
    ``activation_alpha`` and ``activation_beta`` are consumed in that order,
    one value by each function that takes one (``LeakyRelu`` an alpha,
    ``ScaledTanh`` an alpha and a beta, ``Tanh`` nothing); a function with
    none left uses its ONNX operator's default.

    Returns
    -------
    list of (f, g, h) per direction
        f is applied to the gates i, f, o; g to the candidate; h to the cell
        state for the output.
    """
    names = list(DEFAULT_ACTIVATIONS * num_directions if activations is None else activations)
    if len(names) != 3 * num_directions:
        raise ValueError(
            f"activations: expected {3 * num_directions} names (f, g, h for each of "
            f"{num_directions} direction(s)), got {len(names)}"
        )
    alphas, betas = list(activation_alpha or []), list(activation_beta or [])
    functions = []
    for name in names:
        if name not in ONNX_ACTIVATIONS:
            raise ValueError(f"activations: expected names among {tuple(ONNX_ACTIVATIONS)}, "
                             f"got {name!r}")
        function, takes = ONNX_ACTIVATIONS[name]
        kwargs = {}
        if takes >= 1 and alphas:
            kwargs["alpha"] = float(alphas.pop(0))
        if takes == 2 and betas:
            kwargs["beta"] = float(betas.pop(0))
        functions.append(_bound(function, kwargs) if kwargs else function)
    return [tuple(functions[3 * d:3 * d + 3]) for d in range(num_directions)]


def _bound(function, kwargs):
    def bound(z):
        return function(z, **kwargs)

    bound.__name__ = f"{function.__name__}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    return bound


# ---------------------------------------------------------------------------
# Time-major, per-direction arrays


def check_direction(direction: str) -> int:
    """The number of directions of ``direction``; ``ValueError`` if it is not an ONNX one."""
    if direction not in DIRECTIONS:
        raise ValueError(
            f"direction: expected one of {tuple(DIRECTIONS)}, got {direction!r}"
        )
    return DIRECTIONS[direction]


def check_layout(layout) -> int:
    """``layout`` (0: time-major, 1: batch-major); ``ValueError`` otherwise."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout: expected 0 (time-major) or 1 (batch-major), got {layout!r}")
    return int(layout)


def batch_major(X: np.ndarray, layout: int) -> np.ndarray:
    """Inputs ``X`` as lstm_ref reads them, (N, T, D): layout 0 swaps the first two axes."""
    return X if layout == 1 else np.swapaxes(X, 0, 1)


def check_sequence_lens(sequence_lens, N: int, T: int) -> np.ndarray:
    """``sequence_lens`` (N,) as integers in [1, T]; all T when ``None``."""
    if sequence_lens is None:
        return np.full(N, T, dtype=np.int64)
    lens = np.asarray(sequence_lens)
    if not np.issubdtype(lens.dtype, np.integer):
        raise TypeError(
            f"sequence_lens: expected an integer array of shape (N,), got dtype {lens.dtype}"
        )
    check_shape("sequence_lens", lens, (N,), ("N",))
    if lens.size and (lens.min() < 1 or lens.max() > T):
        raise ValueError(
            f"sequence_lens: expected lengths from 1 to T = {T}, got {lens.tolist()}"
        )
    return lens.astype(np.int64)


def reverse_within_lengths(X: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Each sequence of ``X`` (N, T, ...) read backwards over its own length.

    ``out[n, t] = X[n, lens[n] - 1 - t]`` for ``t < lens[n]``; the padding
    past a sequence's length stays where it is. ONNX's (and cuDNN's) reverse
    direction reads a padded batch this way: every sequence starts from its
    own last step, not from the padding. Applying it twice gives ``X`` back.
    """
    N, T = X.shape[:2]
    t = np.arange(T)[None, :]  # (1, T)
    index = np.where(t < lens[:, None], lens[:, None] - 1 - t, t)  # (N, T)
    index = index.reshape(index.shape + (1,) * (X.ndim - 2))
    return np.take_along_axis(X, index, axis=1)


def _state_of_direction(name: str, state, d: int, dirs: int, N: int, H: int, layout: int,
                        dtype) -> Optional[np.ndarray]:
    """Direction ``d``'s (N, H) slice of ``initial_h`` or ``initial_c``, or ``None``."""
    if state is None:
        return None
    shape, symbols = ((dirs, N, H), ("dirs", "N", "H")) if layout == 0 else \
        ((N, dirs, H), ("N", "dirs", "H"))
    state = checked_array(name, state, shape, symbols, dtype, "W")
    return state[d] if layout == 0 else state[:, d]


# ---------------------------------------------------------------------------
# The operator


class ONNXLSTM:
    """What an ONNX ``LSTM`` node computes, in NumPy through :func:`lstm_ref.lstm_sequence`.

    The attributes are given when it is made, the inputs when it is called,
    as in the operator. It converts the weights with :func:`from_onnx`, puts
    the inputs in lstm_ref's batch-major order, reads each direction with
    :func:`lstm_ref.lstm_sequence` (the reverse direction reading each
    sequence backwards over its own length, :func:`reverse_within_lengths`)
    and puts the results in ONNX's order.

    Parameters
    ----------
    hidden_size : int
        H; must match the weights.
    direction : {"forward", "reverse", "bidirectional"}
    layout : {0, 1}
        0: ``X`` (T, N, D), ``Y`` (T, dirs, N, H), states (dirs, N, H);
        1: ``X`` (N, T, D), ``Y`` (N, T, dirs, H), states (N, dirs, H).
    clip : float, optional
        Bounds the gates' pre-activations to ``[-clip, clip]``, as ONNX
        Runtime does (the cell state is not clipped).
    input_forget : {0, 1}
        1 couples the gates: ``f = 1 - i``.
    activations, activation_alpha, activation_beta
        As the operator's attributes (:func:`onnx_activations`).
    """

    def __init__(self, hidden_size: int, direction: str = "forward", layout: int = 0,
                 clip: Optional[float] = None, input_forget: int = 0,
                 activations: Optional[Sequence[str]] = None, activation_alpha=None,
                 activation_beta=None):
        if not isinstance(hidden_size, (int, np.integer)) or hidden_size < 1:
            raise ValueError(f"hidden_size: expected a positive integer, got {hidden_size!r}")
        if input_forget not in (0, 1):
            raise ValueError(f"input_forget: expected 0 or 1, got {input_forget!r}")
        self.hidden_size = int(hidden_size)
        self.direction = direction
        self.num_directions = check_direction(direction)
        self.layout = check_layout(layout)
        self.functions = onnx_activations(activations, activation_alpha, activation_beta,
                                          self.num_directions)
        options = {}
        if clip is not None:
            options["preactivation_clip"] = float(clip)
        if input_forget:
            options["coupled_gates"] = "forget_from_input"
        self._configs = [
            LSTMConfig(recurrent_activation=f, activation=g,
                       **({} if h is g else {"output_activation": h}), **options)
            for f, g, h in self.functions
        ]

    def config(self, d: int) -> LSTMConfig:
        """The :class:`lstm_ref.LSTMConfig` of direction ``d``."""
        return self._configs[d]

    def __call__(self, X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None,
                 P=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run the operator: returns ``Y``, ``Y_h``, ``Y_c`` in ONNX's shapes.

        Arguments are the node's inputs, in its order, as NumPy arrays
        (``None`` for an input the node leaves out).
        """
        directions = from_onnx(W, R, B, P)
        dirs, H = self.num_directions, self.hidden_size
        if len(directions) != dirs or directions[0].hidden_size != H:
            raise ValueError(
                f"W: expected shape (dirs, 4H, D) = ({dirs}, {4 * H}, D) for direction "
                f"{self.direction!r} and hidden_size {H}, got {np.shape(W)}"
            )
        dtype = directions[0].dtype
        X = checked_array("X", X, (None, None, directions[0].input_size),
                          ("T", "N", "D") if self.layout == 0 else ("N", "T", "D"), dtype, "W")
        X = batch_major(X, self.layout)  # (N, T, D)
        N, T, _ = X.shape
        lens = check_sequence_lens(sequence_lens, N, T)
        mask = None if (lens == T).all() else np.arange(T)[None, :] < lens[:, None]  # (N, T)
        Ys, Y_hs, Y_cs = [], [], []
        for d, params in enumerate(directions):
            h0 = _state_of_direction("initial_h", initial_h, d, dirs, N, H, self.layout, dtype)
            c0 = _state_of_direction("initial_c", initial_c, d, dirs, N, H, self.layout, dtype)
            if h0 is None or c0 is None:  # a missing state is zeros
                zeros = np.zeros((N, H), dtype)
                h0, c0 = (zeros if h0 is None else h0), (zeros if c0 is None else c0)
            backwards = self.direction == "reverse" or d == 1
            X_d = reverse_within_lengths(X, lens) if backwards else X
            y, state = lstm_sequence(X_d, params, self.config(d), LSTMState(h0, c0), mask,
                                     zero_output_for_mask=True)  # zeros past the length
            Ys.append(reverse_within_lengths(y, lens) if backwards else y)
            Y_hs.append(state.h)
            Y_cs.append(state.c)
        Y = np.stack(Ys, axis=2)  # (N, T, dirs, H)
        Y_h, Y_c = np.stack(Y_hs), np.stack(Y_cs)  # (dirs, N, H)
        if self.layout == 0:
            return Y.transpose(1, 2, 0, 3), Y_h, Y_c  # (T, dirs, N, H)
        return Y, Y_h.transpose(1, 0, 2), Y_c.transpose(1, 0, 2)  # (N, dirs, H)
