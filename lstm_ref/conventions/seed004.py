"""The LSTM cell of the seed-004 exercise ("Build an LSTM cell").

The exercise's cell carries two states, the c-state ``c`` (H,) and the
m-state ``m`` (H,), and emits an output ``h`` of ``n_output`` units::

    i ← σ(x w_i + m u_i + b_i)
    f ← σ(x w_f + m u_f + b_f)
    c ← f ⊙ c + i ⊙ tanh(x w_c + m u_c + b_c)
    o ← σ(x w_o + m u_o + c v_o + b_o)
    m ← o ⊙ tanh(c)
    h ← tanh(m w_h + b_h)

It differs from TF's ``LSTMCell(use_peepholes=True, num_proj=P)`` in three
ways: the output gate peeks at the new c-state through a full (H, H) matrix
``v_o`` (TF: a diagonal ``w_o_diag``), the input and forget gates do not peek
at all (TF: ``w_i_diag``, ``w_f_diag``), and the output ``h`` is a tanh layer
with a bias that is **not** fed back (TF feeds its linear, bias-free
projection back as the recurrent state). So the recurrence is the canonical
cell with the output peephole ``V_o = v_o`` and recurrent state ``m``; ``h``
is a read-out on top of it.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ..cell import lstm_step
from ..layout import named_gates, split_gates
from ..params import LSTMParams, LSTMState, as_float_array

__all__ = [
    "GATE_NAMES", "ExerciseWeights", "init_weights", "to_params", "from_params", "read_out",
    "MyLSTMCell"
]


# The canonical gate order in the exercise's letters: its candidate is c.
GATE_NAMES = named_gates("c")


class ExerciseWeights(NamedTuple):
    """The exercise's weights by its own names.

    ``w_*`` (D, H) multiply the input, ``u_*`` (H, H) the m-state, ``b_*`` (H,);
    ``v_o`` (H, H) is the output peephole; ``w_h`` (H, n_output) and
    ``b_h`` (n_output,) make the output.
    """

    w_i: np.ndarray
    u_i: np.ndarray
    b_i: np.ndarray
    w_c: np.ndarray
    u_c: np.ndarray
    b_c: np.ndarray
    w_f: np.ndarray
    u_f: np.ndarray
    b_f: np.ndarray
    w_o: np.ndarray
    u_o: np.ndarray
    v_o: np.ndarray
    b_o: np.ndarray
    w_h: np.ndarray
    b_h: np.ndarray


def init_weights(
    n_features: int, n_hidden: int, n_output: int, rng: np.random.Generator
) -> ExerciseWeights:
    """Uniform [0, 1) weights, as the exercise initializes its data (``np.random.random``)."""
    if n_output > n_hidden:
        raise ValueError(f"n_output: expected at most n_hidden = {n_hidden}, got {n_output}")
    D, H = n_features, n_hidden
    shapes = dict(w=(D, H), u=(H, H), b=(H,))
    weights = {}
    for gate in "icfo":  # the exercise's order of drawing, not a gate order
        for kind in "wub":
            weights[f"{kind}_{gate}"] = rng.random(shapes[kind])
    weights["v_o"] = rng.random((H, H))
    weights["w_h"], weights["b_h"] = rng.random((H, n_output)), rng.random(n_output)
    return ExerciseWeights(**weights)


def to_params(weights: ExerciseWeights) -> tuple[LSTMParams, np.ndarray, np.ndarray]:
    """The recurrence as canonical parameters, and the read-out ``(w_h, b_h)``."""
    stack = lambda kind: np.concatenate(  # noqa: E731  gate blocks i, f, g(=c), o
        [getattr(weights, f"{kind}_{gate}") for gate in GATE_NAMES], axis=-1
    )
    params = LSTMParams(W=stack("w"), U=stack("u"), b=stack("b"), V_o=weights.v_o)
    w_h = as_float_array("w_h", weights.w_h)
    b_h = as_float_array("b_h", weights.b_h)
    if w_h.shape[0] != params.hidden_size or b_h.shape != w_h.shape[1:]:
        raise ValueError(
            f"w_h, b_h: expected shapes (H, n_output) and (n_output,) with H = "
            f"{params.hidden_size}, got {w_h.shape} and {b_h.shape}"
        )
    return params, w_h, b_h


def from_params(params: LSTMParams, w_h: np.ndarray, b_h: np.ndarray) -> ExerciseWeights:
    """The exercise's weights from canonical parameters with an output peephole ``V_o``."""
    if params.V_o is None or params.b is None:
        raise ValueError("params: the exercise's cell needs a bias b and an output peephole V_o")
    named = {f"{kind}_{gate}": block
             for kind, a in (("w", params.W), ("u", params.U), ("b", params.b))
             for gate, block in zip(GATE_NAMES, split_gates(a))}
    return ExerciseWeights(**named, v_o=params.V_o, w_h=w_h, b_h=b_h)


def read_out(m: np.ndarray, w_h: np.ndarray, b_h: np.ndarray) -> np.ndarray:
    """The exercise's output ``h = tanh(m w_h + b_h)``, shape (N, n_output).

    Implements :eq:`eq-exercise-readout`. Nothing feeds it back: the next step
    sees ``m``, not ``h``.
    """
    return np.tanh(m @ w_h + b_h)


class MyLSTMCell:
    """The exercise's class, solved: keeps ``c`` and ``m``, returns ``h``.

    ``MyLSTMCell(n_hidden, n_output)``; the first call sees the number of
    features and initializes the weights (uniform [0, 1), from ``seed``) and
    zero states; each call advances one step and returns ``h``.
    """

    def __init__(self, n_hidden: int, n_output: int, seed: Optional[int] = None):
        if n_output > n_hidden:
            raise ValueError(f"n_output: expected at most n_hidden = {n_hidden}, got {n_output}")
        self.n_hidden, self.n_output = n_hidden, n_output
        self._rng = np.random.default_rng(seed)
        self.weights: Optional[ExerciseWeights] = None
        self.c = self.m = self.h = None

    def _init_weights(self, n_features: int) -> None:
        self.weights = init_weights(n_features, self.n_hidden, self.n_output, self._rng)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array("x", x)
        if self.weights is None:
            self._init_weights(x.shape[1])
        if self.c is None:
            self.c = np.zeros((x.shape[0], self.n_hidden), x.dtype)
            self.m = np.zeros((x.shape[0], self.n_hidden), x.dtype)
        params, w_h, b_h = to_params(self.weights)
        state = lstm_step(x, LSTMState(h=self.m, c=self.c), params)
        self.m, self.c = state.h, state.c
        self.h = read_out(self.m, w_h, b_h)
        return self.h
