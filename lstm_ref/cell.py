"""One LSTM time step, one line per equation of the book.

For a batch of N inputs ``x`` (N, D), the previous hidden state ``h`` (N, P)
and cell state ``c`` (N, H)::

    z = x W + h U + b                                  (N, 4H)  eq-preactivation
    z_i, z_f, z_g, z_o = the four H-column blocks of z
    i = σ(z_i)   f = σ(z_f + forget_bias)   g = φ(z_g)   o = σ(z_o)   eq-gates
    c' = f ⊙ c + i ⊙ g                                 (N, H)   eq-cell-update
    h' = o ⊙ φ(c')                                     (N, H)   eq-hidden

σ is the recurrent activation (sigmoid unless configured), φ the activation
(tanh unless configured).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from .activations import Activation, activation_names, get_activation
from .params import LSTMParams, LSTMState, check_step_inputs

ActivationSpec = Union[str, Callable[[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class LSTMConfig:
    """Options of the cell that are not weights.

    Parameters
    ----------
    activation : str or callable
        φ, applied to the candidate and to the new cell state. Default ``"tanh"``.
    recurrent_activation : str or callable
        σ, applied to the three gates. Default ``"sigmoid"``. Names follow Keras 3
        (see :func:`lstm_ref.activations.get_activation`); pass a function such as
        :func:`lstm_ref.activations.hard_sigmoid_keras2` for another meaning.
    forget_bias : float
        Added to the forget gate's pre-activation at every step, as TF 1.x cells
        do (they default to 1.0). Keras instead folds it into the bias at
        initialization and adds nothing at run time: 0.0 here.
    """

    activation: ActivationSpec = "tanh"
    recurrent_activation: ActivationSpec = "sigmoid"
    forget_bias: float = 0.0

    def __post_init__(self) -> None:
        # Resolve names now, so that a typo fails when the config is made.
        self.activation_fn
        self.recurrent_activation_fn

    @property
    def activation_fn(self) -> Activation:
        """φ as a function."""
        return _resolve("activation", self.activation)

    @property
    def recurrent_activation_fn(self) -> Activation:
        """σ as a function."""
        return _resolve("recurrent_activation", self.recurrent_activation)


def _resolve(name: str, spec: ActivationSpec) -> Activation:
    if callable(spec):
        return spec
    if spec in activation_names():
        return get_activation(spec)
    raise ValueError(
        f"{name}: expected a function or one of {activation_names()}, got {spec!r}"
    )


DEFAULT_CONFIG = LSTMConfig()


def split_gates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the last axis (4H) into the gate blocks ``(z_i, z_f, z_g, z_o)``.

    Works on anything whose last axis holds the four blocks in the order
    i, f, g, o: pre-activations (N, 4H), a bias (4H,), or weights (D, 4H).
    """
    if z.shape[-1] % 4:
        raise ValueError(
            f"z: expected a last axis of 4H (four gate blocks), got shape {z.shape}"
        )
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    return z_i, z_f, z_g, z_o


def preactivations(x: np.ndarray, h_prev: np.ndarray, params: LSTMParams) -> np.ndarray:
    """Gate pre-activations ``z = x W + h_prev U + b``, shape (N, 4H).

    Implements :eq:`eq-preactivation`. Adding the two products before the bias
    follows Keras's order of operations, so float32 results round the same way.
    """
    z = x @ params.W + h_prev @ params.U  # (N, 4H)
    if params.b is not None:
        z = z + params.b
    return z


def cell_update(
    f: np.ndarray, c_prev: np.ndarray, i: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """New cell state ``f ⊙ c_prev + i ⊙ g`` (N, H): keep some memory, write some.

    Implements :eq:`eq-cell-update`.
    """
    return f * c_prev + i * g


def hidden_state(o: np.ndarray, c: np.ndarray, activation: Activation) -> np.ndarray:
    """New hidden state ``o ⊙ φ(c)`` (N, H): a gated view of the cell state.

    Implements :eq:`eq-hidden`.
    """
    return o * activation(c)


def lstm_step(
    x: np.ndarray,
    state: LSTMState,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
) -> LSTMState:
    """Advance the LSTM by one time step.

    Implements :eq:`eq-preactivation`, :eq:`eq-gates`, :eq:`eq-cell-update`
    and :eq:`eq-hidden`.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs at this step.
    state : LSTMState or (h, c)
        ``h`` (N, P) and ``c`` (N, H) from the previous step.
    params : LSTMParams
        Weights, gate blocks in the order i, f, g, o.
    config : LSTMConfig
        Activations and forget bias.

    Returns
    -------
    LSTMState
        The new ``h`` (N, P), which is also the step's output, and ``c`` (N, H).

    Raises
    ------
    ValueError, TypeError
        If a shape or dtype does not match ``params``, or a value is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_ref import LSTMParams, LSTMState, lstm_step
    >>> params = LSTMParams(W=np.full((3, 8), 0.5), U=np.full((2, 8), 0.5),
    ...                     b=np.zeros(8))
    >>> state = LSTMState(h=np.zeros((1, 2)), c=np.zeros((1, 2)))
    >>> lstm_step(np.ones((1, 3)), state, params).c.round(6)
    array([[0.740026, 0.740026]])
    """
    x, state = check_step_inputs(x, state, params)
    return step(x, state, params, config)


def step(x: np.ndarray, state: LSTMState, params: LSTMParams, config: LSTMConfig) -> LSTMState:
    """:func:`lstm_step` without the input checks, for loops that checked once."""
    sigma, phi = config.recurrent_activation_fn, config.activation_fn
    z_i, z_f, z_g, z_o = split_gates(preactivations(x, state.h, params))
    i = sigma(z_i)  # input gate  (N, H)
    f = sigma(z_f + config.forget_bias)  # forget gate (N, H)
    g = phi(z_g)  # candidate   (N, H)
    o = sigma(z_o)  # output gate (N, H)
    c = cell_update(f, state.c, i, g)
    h = hidden_state(o, c, phi)
    return LSTMState(h, c)
