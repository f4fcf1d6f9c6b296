"""Canonical LSTM weights and state, and the checks that guard them.

Shapes use the book's letters: N batch, T time, D input features, H hidden
units (cells), P the size of h (P = H unless the cell has a projection).
Gate blocks along every ``4H`` axis are in the order **i, f, g, o**: input
gate, forget gate, candidate, output gate.

Every check raises a ``TypeError`` (wrong dtype) or ``ValueError`` (wrong
shape, non-finite value) whose message names the argument and gives the
expected and the actual shape or dtype, before NumPy gets a chance to
broadcast something by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple, Optional, Sequence

import numpy as np

from .layout import GATE_ORDER, gate_hidden_size, split_gates  # noqa: F401  (GATE_ORDER re-exported)

__all__ = [
    "LSTMState", "as_float_array", "check_shape", "check_dtype", "check_list_arg",
    "check_finite", "first_non_finite", "check_no_overflow", "OVERFLOW_QUIET", "check_params",
    "state_pair", "check_units", "built", "checked_array", "check_weights", "LSTMParams",
    "fold_forget_bias", "LAYER_NORM_FIELDS", "OPTIONAL_SHAPES", "check_state", "zero_state",
    "check_step_inputs", "check_sequence_inputs"
]


class LSTMState(NamedTuple):
    """The recurrent state carried from one time step to the next.

    Attributes
    ----------
    h : ndarray, shape (N, P)
        Hidden state, which is also the cell's output.
    c : ndarray, shape (N, H)
        Cell state (the "carry").
    """

    h: np.ndarray
    c: np.ndarray


# ---------------------------------------------------------------------------
# Checks


def as_float_array(name: str, value) -> np.ndarray:
    """``np.asarray(value)``, refusing integer, boolean and object dtypes."""
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{name}: expected a floating-point array (float32 or float64), "
            f"got dtype {array.dtype}"
        )
    return array


def _format_shape(expected: Sequence[Optional[int]], symbols: Sequence[str]) -> str:
    def one(size, symbol):
        return symbol if size is None else str(size)

    symbolic = ", ".join(symbols)
    concrete = ", ".join(one(size, symbol) for size, symbol in zip(expected, symbols))
    if len(symbols) == 1:
        symbolic, concrete = symbolic + ",", concrete + ","
    if symbolic == concrete:
        return f"({symbolic})"
    return f"({symbolic}) = ({concrete})"


def check_shape(
    name: str,
    array: np.ndarray,
    expected: Sequence[Optional[int]],
    symbols: Sequence[str],
) -> None:
    """Raise ``ValueError`` unless ``array.shape`` matches ``expected``.

    ``expected`` holds one size per axis, ``None`` where any size is allowed;
    ``symbols`` names the axes for the message, e.g. ``("N", "D")`` gives
    ``x: expected shape (N, D) = (N, 3), got (2, 4)``.
    """
    matches = array.ndim == len(expected) and all(
        size is None or size == actual for size, actual in zip(expected, array.shape)
    )
    if not matches:
        raise ValueError(
            f"{name}: expected shape {_format_shape(expected, symbols)}, "
            f"got {tuple(array.shape)}"
        )


def check_dtype(name: str, array: np.ndarray, dtype: np.dtype, source: str) -> None:
    """Raise ``TypeError`` unless ``array`` has ``dtype`` (the dtype of ``source``).

    lstm_ref never casts silently: mixing float32 and float64 would compute in
    float64 and hide the rounding a float32 framework really does.
    """
    if array.dtype != dtype:
        raise TypeError(
            f"{name}: expected dtype {np.dtype(dtype)} (the dtype of {source}), "
            f"got {array.dtype}"
        )


def check_list_arg(name: str, value, length: int, expected: str) -> tuple:
    """``value`` as a tuple; ``TypeError`` unless it is a list or tuple of ``length`` items.

    ``expected`` describes what was expected, e.g. ``"a list [h, c] of two arrays"``.
    """
    if not isinstance(value, (list, tuple)) or len(value) != length:
        got = type(value).__name__
        if hasattr(value, "__len__"):
            got += f" of length {len(value)}"
        raise TypeError(f"{name}: expected {expected}, got {got}")
    return tuple(value)


def first_non_finite(array: np.ndarray) -> Optional[tuple[int, ...]]:
    """The index of the first NaN or infinity in ``array``, or None if it has none."""
    finite = np.isfinite(array)
    if finite.all():
        return None
    return tuple(int(k) for k in np.argwhere(~finite)[0])


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise ``ValueError`` naming the first NaN or infinity in ``array``."""
    index = first_non_finite(array)
    if index is not None:
        raise ValueError(
            f"{name}: contains {array[index]} at index {index}; "
            "every value must be finite"
        )


def check_no_overflow(name: str, array: np.ndarray, computation: str) -> np.ndarray:
    """``array``, a result computed from finite inputs; ``ValueError`` if it is not finite.

    Finite inputs can still overflow on the way: weights large enough, or an
    unbounded activation (``linear``, ``relu``, ``softplus`` as a gate) that
    lets the state grow at every step. The message says so, instead of
    returning NaN or blaming an input later. Run the computation under
    ``np.errstate(over="ignore", invalid="ignore")`` (:data:`OVERFLOW_QUIET`)
    so that this error, not a RuntimeWarning, reports it.
    """
    index = first_non_finite(array)
    if index is not None:
        largest = np.finfo(array.dtype).max
        raise ValueError(
            f"{name}: the {computation} overflowed: {array[index]} at index {index}, although "
            f"every input was finite; the weights, or an unbounded activation such as 'linear' "
            f"or 'relu', make values grow beyond {array.dtype}'s range (about {largest:.3g})"
        )
    return array


OVERFLOW_QUIET = dict(over="ignore", invalid="ignore")
"""``np.errstate`` arguments for a computation whose result :func:`check_no_overflow` checks."""


def check_params(params) -> "LSTMParams":
    """``params``; ``TypeError`` unless it is :class:`LSTMParams` (a list of arrays is not)."""
    if not isinstance(params, LSTMParams):
        hint = ""
        if isinstance(params, (list, tuple)):
            hint = ("; convert a framework's weights first, e.g. "
                    "lstm_ref.conventions.keras.from_keras(*layer.get_weights())")
        raise TypeError(f"params: expected LSTMParams, got {type(params).__name__}{hint}")
    return params


def state_pair(name: str, state, order: Sequence[str] = ("h", "c"),
               expected: str = "an LSTMState(h, c) or a pair (h, c)") -> tuple:
    """The two arrays of a state, in ``order``: by field name if it has them, else by position.

    ``lstm_ref.LSTMState`` is ``(h, c)``, TF's ``LSTMStateTuple`` is ``(c, h)``:
    reading named fields by name makes either right wherever a state is
    expected; a plain pair (a tuple or list) is read in ``order``. ``TypeError``
    for anything else, ``expected`` describing what was expected.
    """
    fields = getattr(state, "_fields", None)
    if isinstance(state, tuple) and fields is not None:
        if not set(order) <= set(fields):
            raise TypeError(f"{name}: expected {expected}, got {type(state).__name__} with "
                            f"fields {tuple(fields)}")
        return tuple(getattr(state, field) for field in order)
    return check_list_arg(name, state, 2, expected)


def check_units(name: str, value, optional: bool = False) -> Optional[int]:
    """A layer's size as an ``int``; ``ValueError`` unless it is a positive integer.

    For the mirrors of framework classes (``units``, ``num_units``,
    ``num_proj``); ``optional`` also lets ``None`` through.
    """
    if optional and value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        expected = "a positive integer or None" if optional else "a positive integer"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return int(value)


def built(owner, params: Optional["LSTMParams"]) -> "LSTMParams":
    """``params``, or a ``ValueError`` saying that ``owner`` has no weights yet.

    For the mirrors of framework classes, whose weights come from
    ``set_weights`` (or ``build``) after the object is made.
    """
    if params is None:
        raise ValueError(f"{type(owner).__name__}: no weights yet; call set_weights first")
    return params


def checked_array(
    name: str,
    value,
    expected: Sequence[Optional[int]],
    symbols: Sequence[str],
    dtype: Optional[np.dtype] = None,
    dtype_source: str = "",
) -> np.ndarray:
    """Convert ``value`` to an array and run every check on it."""
    array = as_float_array(name, value)
    check_shape(name, array, expected, symbols)
    if dtype is not None:
        check_dtype(name, array, dtype, dtype_source)
    check_finite(name, array)
    return array


# ---------------------------------------------------------------------------
# Weights


def check_weights(
    W, U, b, names: Sequence[str] = ("W", "U", "b"), output_size: Optional[int] = None
) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Check fused weights ``W`` (D, 4H), ``U`` (P, 4H) and ``b`` (4H,) or ``None``.

    ``output_size`` is P, the size of the recurrent state h (H when omitted).
    ``names`` are used in messages, so that a converter can report the
    framework's own names (``kernel``, ``recurrent_kernel``, ``bias``).
    """
    W_name, U_name, b_name = names
    W = as_float_array(W_name, W)
    H = gate_hidden_size(W_name, W, axis=1, shape="(D, 4H)", ndim=2)
    check_finite(W_name, W)
    P, P_symbol = (H, "H") if output_size is None else (output_size, "P")
    U = checked_array(U_name, U, (P, 4 * H), (P_symbol, "4H"), W.dtype, W_name)
    if b is not None:
        b = checked_array(b_name, b, (4 * H,), ("4H",), W.dtype, W_name)
    return W, U, b


@dataclass(frozen=True, eq=False)
class LSTMParams:
    """Canonical LSTM weights: every framework convention converts to these.

    The gate pre-activations of a batch are ``z = x @ W + h @ U + b`` (batch in
    rows, as in Keras), and the ``4H`` columns of ``W``, ``U``, ``b``,
    ``gamma`` and ``beta`` hold the gate blocks in the order i, f, g, o.
    Everything but ``W`` and ``U`` is optional; a missing part is simply not
    computed (no bias, no peephole, no projection, no layer normalization).

    Parameters
    ----------
    W : ndarray, shape (D, 4H)
        Input weights.
    U : ndarray, shape (P, 4H)
        Recurrent weights (P = H without a projection).
    b : ndarray, shape (4H,), optional
        Bias.
    p_i, p_f, p_o : ndarray, shape (H,), optional
        Diagonal peephole weights: the input and forget gates see
        ``p ⊙ c_{t-1}``, the output gate sees ``p_o ⊙ c_t``.
    V_o : ndarray, shape (H, H), optional
        Full-matrix output peephole, ``c_t @ V_o`` added to the output gate
        (the variant of the seed-004 exercise).
    W_proj : ndarray, shape (H, P), optional
        Projection of the hidden state, ``h_t = m_t @ W_proj`` (+ ``b_proj``).
    gamma, beta : ndarray, shape (4H,), optional
        Layer-normalization gain and shift for each gate block.
    gamma_c, beta_c : ndarray, shape (H,), optional
        Layer-normalization gain and shift for the new cell state. The four
        layer-normalization arrays come together (TF's
        ``LayerNormBasicLSTMCell``), or ``gamma`` comes alone: the TFLite/NNAPI
        layer norm, which normalizes ``W x + U h`` plus the peephole of each
        gate, scales by ``gamma`` and adds the bias ``b`` after normalizing,
        and leaves the cell state alone (:attr:`layer_norm_form`).
    b_proj : ndarray, shape (P,), optional
        Bias of the projection (TFLite's ``projection_bias``); needs ``W_proj``.

    All arrays must share one floating dtype and be finite.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_ref import LSTMParams
    >>> p = LSTMParams(W=np.zeros((3, 8)), U=np.zeros((2, 8)), b=np.zeros(8))
    >>> p.input_size, p.hidden_size, p.output_size
    (3, 2, 2)
    """

    W: np.ndarray
    U: np.ndarray
    b: Optional[np.ndarray] = None
    p_i: Optional[np.ndarray] = None
    p_f: Optional[np.ndarray] = None
    p_o: Optional[np.ndarray] = None
    V_o: Optional[np.ndarray] = None
    W_proj: Optional[np.ndarray] = None
    gamma: Optional[np.ndarray] = None
    beta: Optional[np.ndarray] = None
    gamma_c: Optional[np.ndarray] = None
    beta_c: Optional[np.ndarray] = None
    b_proj: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        # With a projection, h (and so U's first axis) has W_proj's second size.
        W_proj = None if self.W_proj is None else as_float_array("W_proj", self.W_proj)
        P = W_proj.shape[-1] if W_proj is not None and W_proj.ndim else None
        W, U, b = check_weights(self.W, self.U, self.b, output_size=P)
        H = W.shape[1] // 4
        self._set("W", W)
        self._set("U", U)
        self._set("b", b)
        sizes = {"H": H, "4H": 4 * H, "P": P}
        if self.b_proj is not None and P is None:
            raise ValueError("b_proj: a projection bias needs W_proj, the projection; got no W_proj")
        for name, symbols in OPTIONAL_SHAPES.items():
            value = getattr(self, name)
            if value is not None:
                shape = tuple(sizes[symbol] for symbol in symbols)
                self._set(name, checked_array(name, value, shape, symbols, W.dtype, "W"))
        present = [getattr(self, n) is not None for n in LAYER_NORM_FIELDS]
        if any(present) and not all(present) and present != [True, False, False, False]:
            missing = [n for n, p in zip(LAYER_NORM_FIELDS, present) if not p]
            raise ValueError(
                f"{missing[0]}: layer normalization needs all of "
                f"{', '.join(LAYER_NORM_FIELDS)} (TF's LayerNormBasicLSTMCell), or gamma "
                f"alone (TFLite's); missing {', '.join(missing)}"
            )

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    @property
    def input_size(self) -> int:
        """D, the number of input features."""
        return self.W.shape[0]

    @property
    def hidden_size(self) -> int:
        """H, the number of cells."""
        return self.W.shape[1] // 4

    @property
    def output_size(self) -> int:
        """P, the size of the hidden state h (H unless projected)."""
        return self.U.shape[0]

    @property
    def dtype(self) -> np.dtype:
        """The dtype shared by every weight."""
        return self.W.dtype

    @property
    def layer_norm(self) -> bool:
        """Whether the cell normalizes its gate blocks (in either form)."""
        return self.gamma is not None

    @property
    def layer_norm_form(self) -> Optional[str]:
        """``"basic"`` (``LayerNormBasicLSTMCell``: gates and cell state, with
        shifts), ``"tflite"`` (``gamma`` alone: the TFLite/NNAPI form), or ``None``."""
        if self.gamma is None:
            return None
        return "tflite" if self.beta is None else "basic"

    def arrays(self) -> dict[str, np.ndarray]:
        """The weights that are present, by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    def extras(self) -> list[str]:
        """The names of the weights present beyond ``W``, ``U`` and ``b``, in field order.

        Peepholes, the projection, layer normalization: what a plain
        (Keras, PyTorch, per-gate, fast) LSTM does not have.
        """
        return [name for name in self.arrays() if name not in ("W", "U", "b")]

    def astype(self, dtype) -> "LSTMParams":
        """A copy with every weight cast to ``dtype``."""
        return LSTMParams(**{name: a.astype(dtype) for name, a in self.arrays().items()})


def fold_forget_bias(params: LSTMParams, forget_bias: float) -> LSTMParams:
    """Move a run-time forget bias into the bias: for porting a TF 1.x cell to Keras.

    (Also :class:`lstm_ref.fast.FastLSTM`'s way of adding it once, not at
    every step; :mod:`lstm_ref.conventions.tf1` re-exports it.)

    Implements :eq:`eq-fold-forget-bias`: a cell that adds ``forget_bias`` to
    the forget gate at every step computes what a cell without run-time
    forget bias computes with ``b_f + forget_bias`` in the forget block of its
    bias. Keras (and PyTorch) add nothing at run time, so TF 1.x weights must
    be folded this way before they go into a Keras layer. The sum is rounded
    once, so the two cells agree to the last bit or two, not bit for bit.

    Parameters
    ----------
    params : LSTMParams
        Weights of a cell run with ``forget_bias``; ``b`` may be ``None``.
    forget_bias : float
        TF's ``forget_bias`` (1.0 by default in TF).

    Returns
    -------
    LSTMParams
        The same weights with the forget block of ``b`` raised by ``forget_bias``
        (a bias is created if there was none); run it with a forget bias of 0.
    """
    b = np.zeros(4 * params.hidden_size, params.dtype) if params.b is None else params.b.copy()
    _, b_f, _, _ = split_gates(b)  # a view of b's forget block
    b_f += forget_bias
    return LSTMParams(**{**params.arrays(), "b": b})


LAYER_NORM_FIELDS = ("gamma", "beta", "gamma_c", "beta_c")
# The shape of every optional weight, in the book's letters.
OPTIONAL_SHAPES = {
    "p_i": ("H",), "p_f": ("H",), "p_o": ("H",), "V_o": ("H", "H"), "W_proj": ("H", "P"),
    "gamma": ("4H",), "beta": ("4H",), "gamma_c": ("H",), "beta_c": ("H",), "b_proj": ("P",),
}


# ---------------------------------------------------------------------------
# Inputs


def check_state(state, batch_size: int, params: LSTMParams, name: str = "state") -> LSTMState:
    """Validate a state ``(h, c)`` for a batch of ``batch_size`` against ``params``.

    ``name`` is the argument's name in messages (``initial_state.h: ...``).
    A state with named fields (``LSTMState``, TF's ``LSTMStateTuple (c, h)``)
    is read by name, any other pair as ``(h, c)`` (:func:`state_pair`).
    """
    h, c = state_pair(name, state)
    N, H, P, dtype = batch_size, params.hidden_size, params.output_size, params.dtype
    h = checked_array(f"{name}.h", h, (N, P), ("N", "P"), dtype, "the weights")
    c = checked_array(f"{name}.c", c, (N, H), ("N", "H"), dtype, "the weights")
    return LSTMState(h, c)


def zero_state(params: LSTMParams, batch_size: int) -> LSTMState:
    """The state before the first step: ``h`` (N, P) and ``c`` (N, H) of zeros, in ``params.dtype``."""
    return LSTMState(np.zeros((batch_size, params.output_size), params.dtype),
                     np.zeros((batch_size, params.hidden_size), params.dtype))


def check_step_inputs(x, state, params: LSTMParams) -> tuple[np.ndarray, LSTMState]:
    """Validate one time step's input ``x`` (N, D) and ``state`` against ``params``."""
    check_params(params)
    x = checked_array("x", x, (None, params.input_size), ("N", "D"), params.dtype, "the weights")
    return x, check_state(state, x.shape[0], params)


def check_sequence_inputs(
    X, initial_state, params: LSTMParams
) -> tuple[np.ndarray, LSTMState]:
    """Validate sequences ``X`` (N, T, D) and an initial state (zeros when ``None``)."""
    check_params(params)
    X = checked_array(
        "X", X, (None, None, params.input_size), ("N", "T", "D"), params.dtype, "the weights"
    )
    N = X.shape[0]
    if initial_state is None:
        return X, zero_state(params, N)
    return X, check_state(initial_state, N, params, "initial_state")
