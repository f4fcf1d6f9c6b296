"""Backpropagation through time: the gradients of a scalar loss through an LSTM.

:func:`forward` runs the cell over a batch of sequences, exactly as
:func:`lstm_ref.lstm_sequence` does, and keeps every intermediate of every
step (:class:`lstm_ref.cell.StepValues`) in a :class:`ForwardCache`.
:func:`backward` takes the gradient of a loss ``L`` with respect to the
outputs (and, optionally, the final state) and returns the gradient with
respect to everything the forward pass read: the inputs, the initial state
and every weight (:class:`Gradients`).

A bar denotes the gradient of ``L``: ``d_c`` is :math:`\\bar c_t = \\partial L /
\\partial c_t`. Going backwards from t = T to 1, each step applies the chain rule
to the forward equations in reverse order::

    d_h   = d_y + d_z(t+1) U^T                           total gradient of h_t
    d_m   = d_h (or d_h W_proj^T with a projection)
    d_z_o = d_m ⊙ φ(c) ⊙ σ'(o)                           output gate
    d_c   = d_m ⊙ o ⊙ φ'(c) + d_c(t+1) ⊙ f(t+1)          cell state
    d_z_i = d_c ⊙ g ⊙ σ'(i),  d_z_f = d_c ⊙ c_{t-1} ⊙ σ'(f),  d_z_g = d_c ⊙ i ⊙ φ'(g)
    d_x   = d_z W^T                                      (N, D)

and the weight gradients sum each step's contribution:
``d_W = Σ_t x_t^T d_z_t``, ``d_U = Σ_t h_{t-1}^T d_z_t``, ``d_b = Σ_t Σ_n d_z_t``.

Supported: the canonical cell (``W``, ``U``, optional ``b``), diagonal
peepholes ``p_i``, ``p_f``, ``p_o``, the full-matrix output peephole ``V_o``,
the projection ``W_proj``, ``forget_bias``, ``cell_clip`` and ``proj_clip``;
the activations whose derivative is a function of their output (see
:func:`derivative`). Not supported, refused with a ``ValueError``: layer
normalization, dropout masks, other activations.

Shapes use N batch, T time, D input, H hidden, P the size of h; gate blocks
along every 4H axis are ordered i, f, g, o.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

import numpy as np

from . import activations
from .cell import (DEFAULT_CONFIG, LSTMConfig, StepValues, cell_update, check_config,
                   step_values)
from .layout import split_gates
from .params import (OVERFLOW_QUIET, LSTMParams, LSTMState, check_no_overflow,
                     check_sequence_inputs, check_state, checked_array, zero_state)

__all__ = [
    "Derivative", "derivative", "check_supported", "ForwardCache", "forward", "hidden_grad",
    "projection_grad", "cell_grad", "previous_cell_grad", "preactivation_input_grads",
    "weight_grads", "peephole_weight_grads", "projection_weight_grad", "StepGradients",
    "backward_step", "Gradients", "checked_gradients", "backward"
]

Derivative = Callable[[np.ndarray], np.ndarray]


# ---------------------------------------------------------------------------
# Derivatives of the activations, as functions of the activation's output


def _hard_sigmoid_derivative(slope: float) -> Derivative:
    def d(y):
        return np.where((y > 0) & (y < 1), y.dtype.type(slope), y.dtype.type(0))
    return d


_DERIVATIVES: dict[Callable, Derivative] = {
    activations.sigmoid: lambda y: y * (1 - y),
    activations.tanh: lambda y: 1 - y * y,
    activations.linear: np.ones_like,
    activations.relu: lambda y: (y > 0).astype(y.dtype),
    activations.softsign: lambda y: np.square(1 - np.abs(y)),
    activations.softplus: lambda y: -np.expm1(-y),  # σ(z) = 1 - e^{-y}; y >= 0
    activations.hard_sigmoid_keras3: _hard_sigmoid_derivative(1 / 6),
    activations.hard_sigmoid_keras2: _hard_sigmoid_derivative(0.2),
}


def derivative(activation: Callable, name: str = "activation") -> Derivative:
    """The derivative of ``activation``, as a function of the activation's *output*.

    Implements :eq:`eq-activation-derivatives`: ``σ' = σ (1 - σ)`` and
    ``tanh' = 1 - tanh²``. Backpropagation then needs only what the forward
    pass kept (the gates, not their pre-activations). The same holds for
    ``linear`` (1), ``relu`` (1 where the output is positive), ``softsign``
    (``(1 - |y|)²``), ``softplus`` (``1 - e^{-y}``) and both hard sigmoids
    (their slope where the output is strictly between 0 and 1).

    Parameters
    ----------
    activation : callable
        One of the functions of :mod:`lstm_ref.activations` listed above.
    name : str
        The argument's name, for the error message.

    Raises
    ------
    ValueError
        For any other function (``swish``, a function of your own): its
        derivative cannot be written in terms of its output.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_ref.activations import sigmoid
    >>> float(derivative(sigmoid)(sigmoid(np.array(0.0))))
    0.25
    """
    try:
        return _DERIVATIVES[activation]
    except (KeyError, TypeError):
        supported = ", ".join(f.__name__ for f in _DERIVATIVES)
        raise ValueError(
            f"{name}: backpropagation supports the activations {supported}; "
            f"got {getattr(activation, '__name__', activation)!r}"
        ) from None


def check_supported(params: LSTMParams, config: LSTMConfig) -> None:
    """Raise ``ValueError`` if :func:`backward` cannot differentiate this cell.

    Layer normalization is refused; so is an activation without a
    :func:`derivative`. Peepholes, ``V_o``, the projection, the forget bias
    and both clips are supported.
    """
    if params.layer_norm:
        raise ValueError(
            "params: backpropagation through layer normalization (gamma, beta, "
            "gamma_c, beta_c) is not implemented; supported: W, U, b, p_i, p_f, p_o, "
            "V_o, W_proj"
        )
    if params.b_proj is not None:
        raise ValueError(
            "params.b_proj: backpropagation through a projection bias is not implemented; "
            "supported: W, U, b, p_i, p_f, p_o, V_o, W_proj"
        )
    for name in ("coupled_gates", "preactivation_clip", "output_activation"):
        if getattr(config, name) is not None:
            raise ValueError(
                f"config.{name}: backpropagation with this option is not implemented "
                f"(got {getattr(config, name)!r}); supported: the activations, "
                "forget_bias, cell_clip and proj_clip"
            )
    derivative(config.activation_fn, "config.activation")
    derivative(config.recurrent_activation_fn, "config.recurrent_activation")


# ---------------------------------------------------------------------------
# The forward pass, with a cache


@dataclass(frozen=True, eq=False)
class ForwardCache:
    """What :func:`forward` keeps for :func:`backward`.

    Attributes
    ----------
    X : ndarray, shape (N, T, D)
        The inputs.
    initial_state : LSTMState
        ``h_0`` (N, P) and ``c_0`` (N, H).
    steps : tuple of StepValues
        For every step t = 1 ... T, every intermediate of the step
        (gates i, f, g, o, cell state c, m and h), from
        :func:`lstm_ref.cell.step_values`.
    params : LSTMParams
    config : LSTMConfig
    """

    X: np.ndarray
    initial_state: LSTMState
    steps: tuple[StepValues, ...]
    params: LSTMParams
    config: LSTMConfig

    def previous_state(self, t: int) -> LSTMState:
        """``(h_{t-1}, c_{t-1})``, the state step ``t`` (0-based) started from."""
        if t == 0:
            return self.initial_state
        return self.steps[t - 1].state

    def stacked(self, name: str) -> np.ndarray:
        """One intermediate over all steps, e.g. ``stacked("f")``, shape (N, T, ·)."""
        N = self.X.shape[0]
        if not self.steps:
            size = self.params.output_size if name == "h" else self.params.hidden_size
            return np.empty((N, 0, size), self.params.dtype)
        return np.stack([getattr(values, name) for values in self.steps], axis=1)


def forward(
    X: np.ndarray,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    initial_state: Optional[LSTMState] = None,
) -> tuple[np.ndarray, LSTMState, ForwardCache]:
    """Run the LSTM over ``X`` like :func:`lstm_ref.lstm_sequence`, keeping a cache.

    Each step is :func:`lstm_ref.cell.step_values`, so the outputs equal
    :func:`lstm_ref.lstm_sequence`'s exactly.

    Parameters
    ----------
    X : ndarray, shape (N, T, D)
    params : LSTMParams
        Gate blocks i, f, g, o; no layer normalization.
    config : LSTMConfig
    initial_state : LSTMState, optional
        ``h_0`` (N, P) and ``c_0`` (N, H); zeros if omitted.

    Returns
    -------
    outputs : ndarray, shape (N, T, P)
        The hidden state after every step.
    final_state : LSTMState
        ``h_T`` (N, P) and ``c_T`` (N, H).
    cache : ForwardCache
        For :func:`backward`.

    Raises
    ------
    ValueError, TypeError
        On a wrong shape, dtype or non-finite value, and for options
        :func:`backward` cannot differentiate (see :func:`check_supported`).

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_ref import LSTMParams
    >>> params = LSTMParams(W=np.full((3, 8), 0.5), U=np.full((2, 8), 0.5), b=np.zeros(8))
    >>> outputs, state, cache = forward(np.ones((1, 4, 3)), params)
    >>> grads = backward(np.ones_like(outputs), cache)
    >>> grads.d_X.shape, grads.d_params.W.shape
    ((1, 4, 3), (3, 8))
    """
    X, state = check_sequence_inputs(X, initial_state, params)
    check_config(config)
    check_supported(params, config)
    initial, steps = state, []
    with np.errstate(**OVERFLOW_QUIET):  # reported below, by name
        for t in range(X.shape[1]):
            values = step_values(X[:, t], state, params, config)
            steps.append(values)
            state = values.state
    cache = ForwardCache(X=X, initial_state=initial, steps=tuple(steps), params=params,
                         config=config)
    outputs = check_no_overflow("outputs", cache.stacked("h"), "forward pass")
    check_no_overflow("c", state.c, "forward pass")
    return outputs, state, cache


# ---------------------------------------------------------------------------
# The gradient equations, one function each


def hidden_grad(d_y: np.ndarray, d_h_next: np.ndarray) -> np.ndarray:
    """Total gradient of the hidden state, ``d_y + d_z(t+1) U^T``, shape (N, P).

    Implements :eq:`eq-bptt-hidden`: ``h_t`` reaches the loss directly, as
    the output ``y_t`` (gradient ``d_y``), and through the next step's
    pre-activations (``d_h_next``, from :func:`preactivation_input_grads`).
    """
    return d_y + d_h_next


def projection_grad(
    d_h: np.ndarray, m: np.ndarray, params: LSTMParams, config: LSTMConfig
) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Gradient of ``m`` (N, H) from that of ``h = clip(m W_proj)`` (N, P).

    Implements :eq:`eq-bptt-projection`: ``d_m = d_r W_proj^T``; the
    equation's weight term, summed over the steps, is
    :func:`projection_weight_grad`. Returns ``(d_m, d_r)``, ``d_r`` being the
    gradient of the projection before clipping, ``r = m W_proj``. Clipping passes the gradient where
    ``|r| <= proj_clip``, as TensorFlow's ``clip_by_value`` does (the
    boundary included). Without a projection ``h = m``: ``(d_h, None)``.
    """
    if params.W_proj is None:
        return d_h, None
    d_r = d_h
    if config.proj_clip is not None:
        r = m @ params.W_proj  # the projection before clipping
        d_r = d_h * (np.abs(r) <= config.proj_clip)
    return d_r @ params.W_proj.T, d_r


def cell_grad(
    d_m: np.ndarray, o: np.ndarray, phi_c: np.ndarray, phi_prime: Derivative,
    d_c_next: np.ndarray,
) -> np.ndarray:
    """Total gradient of the cell state, ``d_m ⊙ o_t ⊙ φ'(c_t) + d_c_next`` (N, H).

    Implements :eq:`eq-bptt-cell`: ``c_t`` reaches the loss through this
    step's hidden state and through the next step's cell update;
    ``d_c_next`` is what the next step passed back
    (:func:`previous_cell_grad`: ``d_c(t+1) ⊙ f(t+1)``, plus peephole terms).
    :func:`backward_step` adds the output peepholes' terms.
    """
    return d_m * o * phi_prime(phi_c) + d_c_next


def previous_cell_grad(
    d_c: np.ndarray, f: np.ndarray, d_z_i: np.ndarray, d_z_f: np.ndarray,
    params: LSTMParams,
) -> np.ndarray:
    """What step t passes back to ``c_{t-1}``: ``d_c ⊙ f_t`` (N, H), plus peepholes.

    The second term of :func:`cell_grad`'s sum, computed by the step that
    reads ``c_{t-1}``; with peepholes also ``d_z_i ⊙ p_i + d_z_f ⊙ p_f``
    (the input and forget gates read ``c_{t-1}``), terms of the peepholes'
    gradient (:func:`peephole_weight_grads`).
    """
    d_c_prev = d_c * f
    if params.p_i is not None:
        d_c_prev = d_c_prev + d_z_i * params.p_i
    if params.p_f is not None:
        d_c_prev = d_c_prev + d_z_f * params.p_f
    return d_c_prev


def preactivation_input_grads(
    d_z: np.ndarray, params: LSTMParams
) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``x_t`` and ``h_{t-1}`` from that of ``z_t = x_t W + h_{t-1} U + b``.

    Implements :eq:`eq-bptt-input`: ``(d_z W^T, d_z U^T)``, shapes (N, D) and
    (N, P), for ``d_z`` (N, 4H) with gate blocks i, f, g, o.
    """
    return d_z @ params.W.T, d_z @ params.U.T


def weight_grads(
    X: np.ndarray, H_prev: np.ndarray, d_Z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``W`` (D, 4H), ``U`` (P, 4H) and ``b`` (4H,), summed over n and t.

    Implements :eq:`eq-bptt-weights`: ``Σ_t x_t^T d_z_t``,
    ``Σ_t h_{t-1}^T d_z_t`` and ``Σ_t Σ_n d_z_t``, from the inputs ``X``
    (N, T, D), the states the steps started from ``H_prev`` (N, T, P) and the
    pre-activation gradients ``d_Z`` (N, T, 4H).
    """
    both = ([0, 1], [0, 1])  # contract over n and t: a sum of matrix products
    d_W = np.tensordot(X, d_Z, axes=both)
    d_U = np.tensordot(H_prev, d_Z, axes=both)
    d_b = d_Z.sum(axis=(0, 1))
    return d_W, d_U, d_b


def peephole_weight_grads(
    d_Z: np.ndarray, C_prev: np.ndarray, C: np.ndarray, params: LSTMParams
) -> dict[str, np.ndarray]:
    """Gradients of the peepholes present in ``params``, by field name.

    Implements :eq:`eq-bptt-peepholes`, its weight terms:
    ``d_p_i = Σ d_z_i ⊙ c_{t-1}``, ``d_p_f = Σ d_z_f ⊙ c_{t-1}``,
    ``d_p_o = Σ d_z_o ⊙ c_t`` (each (H,), summed over n and t) and
    ``d_V_o = Σ_t c_t^T d_z_o`` (H, H). ``C_prev`` and ``C`` are the cell
    states before and after every step, (N, T, H). The terms the peepholes
    add to the cell state's gradient are added where the step computes it:
    ``d_z_o ⊙ p_o`` (and ``d_z_o V_o^T``) by :func:`backward_step`,
    ``d_z_i ⊙ p_i + d_z_f ⊙ p_f`` by :func:`previous_cell_grad`.
    """
    d_Z_i, d_Z_f, _, d_Z_o = split_gates(d_Z)
    sources = {"p_i": (d_Z_i, C_prev), "p_f": (d_Z_f, C_prev), "p_o": (d_Z_o, C)}
    grads = {name: (d_z * c).sum(axis=(0, 1)) for name, (d_z, c) in sources.items()
             if getattr(params, name) is not None}
    if params.V_o is not None:
        grads["V_o"] = np.tensordot(C, d_Z_o, axes=([0, 1], [0, 1]))
    return grads


def projection_weight_grad(M: np.ndarray, d_R: np.ndarray) -> np.ndarray:
    """Gradient of ``W_proj`` (H, P): ``Σ_t m_t^T d_r_t``.

    The weight term of the projection's gradient (:func:`projection_grad`),
    from ``m`` (N, T, H) and the gradient of the projection before clipping
    (N, T, P), summed over the steps once the loop is done.
    """
    return np.tensordot(M, d_R, axes=([0, 1], [0, 1]))


# ---------------------------------------------------------------------------
# The backward pass


class StepGradients(NamedTuple):
    """What :func:`backward_step` computes for one step.

    Attributes
    ----------
    d_z : ndarray, shape (N, 4H)
        Gradient of the pre-activations, gate blocks i, f, g, o.
    d_c : ndarray, shape (N, H)
        Total gradient of the cell state ``c_t``.
    d_c_prev : ndarray, shape (N, H)
        What this step passes back to ``c_{t-1}``.
    d_r : ndarray, shape (N, P), or None
        Gradient of the projection before clipping (None without one).
    """

    d_z: np.ndarray
    d_c: np.ndarray
    d_c_prev: np.ndarray
    d_r: Optional[np.ndarray]


def backward_step(
    d_h: np.ndarray,
    d_c_next: np.ndarray,
    c_prev: np.ndarray,
    values: StepValues,
    params: LSTMParams,
    config: LSTMConfig,
) -> StepGradients:
    """Backpropagate through one step: the forward equations in reverse order.

    ``d_h`` (N, P) is the total gradient of ``h_t`` (:func:`hidden_grad`),
    ``d_c_next`` (N, H) what step t+1 passed back to ``c_t``, ``c_prev``
    (N, H) is ``c_{t-1}`` and ``values`` the step's intermediates.

    Computes the gradients of the four pre-activations, :eq:`eq-bptt-gates`:
    the output gate's from ``m_t = o_t ⊙ φ(c_t)``, the other three from the
    cell update ``c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t``, each gate's gradient
    being ``d_c`` times what it multiplies, times its activation's
    derivative. With ``cell_clip``, ``d_c`` passes only where the cell
    update was not clipped.
    """
    sigma_prime = derivative(config.recurrent_activation_fn,
                             "config.recurrent_activation")
    phi_prime = derivative(config.activation_fn, "config.activation")
    i, f, g, o = values.i, values.f, values.g, values.o
    phi_c = config.activation_fn(values.c)  # φ(c_t)

    d_m, d_r = projection_grad(d_h, values.m, params, config)
    d_z_o = d_m * phi_c * sigma_prime(o)
    d_c = cell_grad(d_m, o, phi_c, phi_prime, d_c_next)
    if params.p_o is not None:
        d_c = d_c + d_z_o * params.p_o  # the output peephole reads c_t
    if params.V_o is not None:
        d_c = d_c + d_z_o @ params.V_o.T

    d_c_update = d_c  # gradient of f ⊙ c_prev + i ⊙ g, before any clipping
    if config.cell_clip is not None:
        c_update = cell_update(f, c_prev, i, g)
        d_c_update = d_c * (np.abs(c_update) <= config.cell_clip)
    d_z_i = d_c_update * g * sigma_prime(i)
    d_z_f = d_c_update * c_prev * sigma_prime(f)
    d_z_g = d_c_update * i * phi_prime(g)
    d_c_prev = previous_cell_grad(d_c_update, f, d_z_i, d_z_f, params)
    d_z = np.concatenate([d_z_i, d_z_f, d_z_g, d_z_o], axis=-1)  # (N, 4H)
    return StepGradients(d_z=d_z, d_c=d_c, d_c_prev=d_c_prev, d_r=d_r)


class Gradients(NamedTuple):
    r"""Gradients of a scalar loss with respect to everything an LSTM read.

    Attributes
    ----------
    d_X : ndarray, shape (N, T, D)
        With respect to the inputs.
    d_initial_state : LSTMState
        With respect to ``h_0`` (N, P) and ``c_0`` (N, H).
    d_params : LSTMParams
        With respect to every weight present in the parameters (same fields,
        shapes and gate order i, f, g, o).
    d_states : LSTMState, optional
        The gradients with respect to ``h_t`` (N, T, P) and ``c_t`` (N, T, H)
        at every step t = 1 ... T, counting every path from them to the loss:
        :math:`\bar h_t` and :math:`\bar c_t` of the book's chapter
        "Backpropagation through time" (the latter includes the path
        through ``h_t``). They show
        how far back the loss reaches. ``None`` where a framework computed
        the gradients.
    """

    d_X: np.ndarray
    d_initial_state: LSTMState
    d_params: LSTMParams
    d_states: Optional[LSTMState] = None

    def arrays(self) -> dict[str, np.ndarray]:
        """Every gradient but ``d_states``, by name: ``d_X``, ``d_h0``, ``d_c0``, then
        ``d_`` and the field name of each weight present (``d_W``, ``d_U``, ``d_b`` ...)."""
        named = {"d_X": self.d_X, "d_h0": self.d_initial_state.h,
                 "d_c0": self.d_initial_state.c}
        named.update({f"d_{name}": g for name, g in self.d_params.arrays().items()})
        return named


def backward(
    d_outputs: np.ndarray,
    cache: ForwardCache,
    d_final_state: Optional[LSTMState] = None,
) -> Gradients:
    """Backpropagation through time.

    Runs :func:`backward_step` for t = T, ..., 1, carrying the gradients of
    ``h`` and ``c`` from each step to the one before, then sums the weight
    gradients over all steps (:func:`weight_grads`,
    :func:`peephole_weight_grads`, :func:`projection_weight_grad`).

    Parameters
    ----------
    d_outputs : ndarray, shape (N, T, P)
        Gradient of the loss with respect to the outputs of :func:`forward`
        (zeros where the loss does not read an output).
    cache : ForwardCache
        From :func:`forward`.
    d_final_state : LSTMState, optional
        Gradient with respect to the final ``h_T`` (N, P) and ``c_T`` (N, H),
        if the loss reads them (truncated BPTT passes zeros); zeros if
        omitted. ``h_T`` is also the last output: the two gradients add.

    Returns
    -------
    Gradients
        ``d_X`` (N, T, D), ``d_initial_state``, ``d_params`` and ``d_states``.

    Raises
    ------
    ValueError, TypeError
        If a gradient's shape or dtype does not match the forward pass.
    """
    if not isinstance(cache, ForwardCache):
        raise TypeError(f"cache: expected the ForwardCache of lstm_ref.grad.forward, got "
                        f"{type(cache).__name__}")
    params, config, X = cache.params, cache.config, cache.X
    N, T, _ = X.shape
    H, P, dtype = params.hidden_size, params.output_size, params.dtype
    d_outputs = checked_array("d_outputs", d_outputs, (N, T, P),
                              ("N", "T", "P"), dtype, "the weights")
    d_h_next, d_c_next = (zero_state(params, N) if d_final_state is None
                          else check_state(d_final_state, N, params, "d_final_state"))

    d_X = np.empty_like(X)                    # (N, T, D)
    d_Z = np.empty((N, T, 4 * H), dtype)      # pre-activations, i f g o
    d_H = np.empty((N, T, P), dtype)
    d_C = np.empty((N, T, H), dtype)
    d_R = np.empty((N, T, P), dtype)          # projections, if any
    with np.errstate(**OVERFLOW_QUIET):  # reported below, by name
        for t in reversed(range(T)):
            c_prev = cache.previous_state(t).c
            d_H[:, t] = hidden_grad(d_outputs[:, t], d_h_next)
            step = backward_step(d_H[:, t], d_c_next, c_prev, cache.steps[t],
                                 params, config)
            d_X[:, t], d_h_next = preactivation_input_grads(step.d_z, params)
            d_Z[:, t], d_C[:, t], d_c_next = step.d_z, step.d_c, step.d_c_prev
            if step.d_r is not None:
                d_R[:, t] = step.d_r
        d_params = _parameter_grads(cache, d_Z, d_R)
    return checked_gradients(d_X, LSTMState(h=d_h_next, c=d_c_next), d_params,
                             d_states=LSTMState(h=d_H, c=d_C))


def checked_gradients(
    d_X: np.ndarray, d_initial_state: LSTMState, d_params: dict[str, Optional[np.ndarray]],
    d_states: Optional[LSTMState] = None,
) -> "Gradients":
    """:class:`Gradients` from the arrays, each checked first: ``ValueError`` if one overflowed.

    The forward pass was finite (:func:`forward` checks it), so a gradient
    with a NaN or infinity comes from the backward pass itself: the message
    says so and names the gradient (``d_W``), rather than let
    :class:`lstm_ref.LSTMParams` blame the weight ``W`` for it. ``d_params``
    holds the weights' gradients by field name (None where a weight is absent).
    """
    d_params = {name: g for name, g in d_params.items() if g is not None}
    named = {"d_X": d_X, "d_h0": d_initial_state.h, "d_c0": d_initial_state.c,
             **{f"d_{name}": g for name, g in d_params.items()}}
    for name, array in named.items():
        check_no_overflow(name, array, "backward pass")
    return Gradients(d_X=d_X, d_initial_state=d_initial_state, d_params=LSTMParams(**d_params),
                     d_states=d_states)


def _parameter_grads(cache: ForwardCache, d_Z: np.ndarray, d_R: np.ndarray
                     ) -> dict[str, Optional[np.ndarray]]:
    params = cache.params
    C, H = cache.stacked("c"), cache.stacked("h")
    h0, c0 = cache.initial_state
    H_prev = np.concatenate([h0[:, None], H], axis=1)[:, :-1]  # (N, T, P)
    C_prev = np.concatenate([c0[:, None], C], axis=1)[:, :-1]  # (N, T, H)
    d_W, d_U, d_b = weight_grads(cache.X, H_prev, d_Z)
    grads = {"W": d_W, "U": d_U, "b": None if params.b is None else d_b}
    grads.update(peephole_weight_grads(d_Z, C_prev, C, params))
    if params.W_proj is not None:
        grads["W_proj"] = projection_weight_grad(cache.stacked("m"), d_R)
    return grads
