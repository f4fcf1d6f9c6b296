"""One LSTM time step: one function per equation of the book.

For a batch of N inputs ``x`` (N, D), the previous hidden state ``h`` (N, P)
and cell state ``c`` (N, H), the plain cell computes::

    z = x W + h U + b                                  (N, 4H)
    z_i, z_f, z_g, z_o = the four H-column blocks of z
    i = σ(z_i)   f = σ(z_f + forget_bias)   g = φ(z_g)   o = σ(z_o)
    c' = f ⊙ c + i ⊙ g                                 (N, H)
    h' = o ⊙ φ(c')                                     (N, H)

σ is the recurrent activation (sigmoid unless configured), φ the activation
(tanh unless configured). Every variant the frameworks offer is an optional
extra on this skeleton, applied where the framework applies it:

* layer normalization of each gate block and of ``c'`` (TF's
  ``LayerNormBasicLSTMCell``), when the parameters hold ``gamma``...;
* diagonal peepholes ``p_i ⊙ c`` and ``p_f ⊙ c`` into the input and forget
  gates and ``p_o ⊙ c'`` into the output gate (TF's ``LSTMCell``), or a full
  matrix ``c' V_o`` into the output gate (seed 004);
* dropout of the candidate ``g`` with an explicit mask;
* clipping of ``c'`` to ``[-cell_clip, cell_clip]``;
* a projection ``h' = m W_proj`` of ``m = o ⊙ φ(c')``, clipped to
  ``[-proj_clip, proj_clip]``.

Each equation is one function below, whose docstring cites the equation's
label; :func:`step_values` applies them in order (and itself computes the
gates, ``i = σ(z_i)`` ...), and :func:`lstm_step`, the entry point, checks
its inputs and returns the new state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional, Union

import numpy as np

from .activations import (CONTRIB_LAYER_NORM_EPSILON, Activation, activation_names,
                          get_activation, layer_norm)
from .layout import split_gates
from .params import (OVERFLOW_QUIET, LSTMParams, LSTMState, check_no_overflow, check_step_inputs,
                     checked_array)

__all__ = [
    "ActivationSpec", "LSTMConfig", "DEFAULT_CONFIG", "check_config", "preactivations", "normalize_gates",
    "add_forget_bias", "input_forget_peepholes", "normalize_gate_tflite", "clip_preactivation",
    "coupled_input_gate", "coupled_forget_gate", "COUPLINGS", "candidate_dropout", "cell_update",
    "normalize_cell", "clip_cell", "output_peephole", "output_peephole_matrix", "hidden_state",
    "project", "StepValues", "step_values", "lstm_step"
]

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
    cell_clip : float, optional
        Clip the new cell state to ``[-cell_clip, cell_clip]`` (TF ``LSTMCell``).
    proj_clip : float, optional
        Clip the projected hidden state to ``[-proj_clip, proj_clip]``.
    layer_norm_epsilon : float
        Added to the variance in layer normalization. The default is
        :data:`lstm_ref.activations.CONTRIB_LAYER_NORM_EPSILON`, what TF's
        ``LayerNormBasicLSTMCell`` (through ``tf.contrib.layers.layer_norm``) uses.
    dropout_keep_prob : float
        Probability of keeping a candidate unit when a dropout mask is passed
        to the step; kept units are divided by it (TF's ``dropout``).
    output_activation : str or callable, optional
        ψ, applied to the cell state for the hidden state, ``h = o ⊙ ψ(c)``
        (ONNX's third activation, h). ``None``: the same as ``activation``.
    preactivation_clip : float, optional
        Clip the four gates' pre-activations to ``[-clip, clip]`` before their
        activations (ONNX's ``clip``, as ONNX Runtime applies it); the cell
        state is not clipped.
    coupled_gates : {None, "input_from_forget", "forget_from_input"}
        Couple the input and forget gates: ``"input_from_forget"`` computes
        ``i = 1 - f`` (TFLite's and NNAPI's CIFG), ``"forget_from_input"``
        computes ``f = 1 - i`` (ONNX's ``input_forget``). The other gate's
        weights are then not read.
    """

    activation: ActivationSpec = "tanh"
    recurrent_activation: ActivationSpec = "sigmoid"
    forget_bias: float = 0.0
    cell_clip: Optional[float] = None
    proj_clip: Optional[float] = None
    layer_norm_epsilon: float = CONTRIB_LAYER_NORM_EPSILON
    dropout_keep_prob: float = 1.0
    output_activation: Optional[ActivationSpec] = None
    preactivation_clip: Optional[float] = None
    coupled_gates: Optional[str] = None

    def __post_init__(self) -> None:
        # Resolve names now, so that a typo fails when the config is made.
        self.activation_fn
        self.recurrent_activation_fn
        self.output_activation_fn
        if self.coupled_gates not in COUPLINGS:
            raise ValueError(
                "coupled_gates: expected None, 'input_from_forget' or 'forget_from_input', "
                f"got {self.coupled_gates!r}"
            )
        # Each number is kept as a Python float: a NumPy scalar (np.float64(1.0))
        # would make every float32 array it touches float64.
        for name, (expected, valid) in _NUMBERS.items():
            value = getattr(self, name)
            if value is None and name in ("cell_clip", "proj_clip", "preactivation_clip"):
                continue
            number = _real_number(name, value, expected)
            if not valid(number):
                raise ValueError(f"{name}: expected {expected}, got {value!r}")
            object.__setattr__(self, name, number)

    @property
    def activation_fn(self) -> Activation:
        """φ as a function."""
        return _resolve("activation", self.activation)

    @property
    def recurrent_activation_fn(self) -> Activation:
        """σ as a function."""
        return _resolve("recurrent_activation", self.recurrent_activation)

    @property
    def output_activation_fn(self) -> Activation:
        """ψ as a function: ``output_activation``, or φ when it is ``None``."""
        if self.output_activation is None:
            return self.activation_fn
        return _resolve("output_activation", self.output_activation)


COUPLINGS = (None, "input_from_forget", "forget_from_input")


# The numeric options: what each must be, and the test of it (NaN fails every one).
_NUMBERS = {
    "forget_bias": ("a finite number", np.isfinite),
    "cell_clip": ("a positive number or None", lambda v: v > 0),
    "proj_clip": ("a positive number or None", lambda v: v > 0),
    "preactivation_clip": ("a positive number or None", lambda v: v > 0),
    # A one-unit layer norm has zero variance: epsilon = 0 would divide 0 by 0.
    "layer_norm_epsilon": ("a finite number > 0", lambda v: 0 < v < np.inf),
    "dropout_keep_prob": ("a probability in (0, 1]", lambda v: 0 < v <= 1),
}


def _real_number(name: str, value, expected: str) -> float:
    """``value`` as a Python float; ``TypeError`` unless it is a real number (not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                        np.floating)):
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__} {value!r}")
    return float(value)


def _resolve(name: str, spec: ActivationSpec) -> Activation:
    if callable(spec):
        return spec
    if spec in activation_names():
        return get_activation(spec)
    raise ValueError(
        f"{name}: expected a function or one of {activation_names()}, got {spec!r}"
    )


DEFAULT_CONFIG = LSTMConfig()


def check_config(config) -> LSTMConfig:
    """``config``; ``TypeError`` unless it is an :class:`LSTMConfig` (``None`` is not)."""
    if not isinstance(config, LSTMConfig):
        raise TypeError(f"config: expected LSTMConfig, got {type(config).__name__}")
    return config


# ---------------------------------------------------------------------------
# The equations, one function each, in the order a step applies them


def preactivations(x: np.ndarray, h_prev: np.ndarray, params: LSTMParams,
                   bias: bool = True) -> np.ndarray:
    """Gate pre-activations ``z = x W + h_prev U + b``, shape (N, 4H), blocks i, f, g, o.

    Implements :eq:`eq-preactivation`. Adding the two products before the bias
    follows Keras's order of operations, so float32 results round the same way.
    ``bias=False`` leaves ``b`` out, for TFLite's layer norm, which adds it
    after normalizing (:func:`normalize_gate_tflite`).
    """
    z = x @ params.W + h_prev @ params.U  # (N, 4H)
    if bias and params.b is not None:
        z = z + params.b
    return z


def normalize_gates(z: np.ndarray, params: LSTMParams, epsilon: float) -> np.ndarray:
    """Layer-normalize each gate block of ``z`` (N, 4H) on its own.

    Block k becomes ``gamma_k ⊙ (z_k - mean(z_k)) / sqrt(var(z_k) + epsilon) + beta_k``,
    the mean and variance taken over that block's H units: TF's
    ``LayerNormBasicLSTMCell`` normalizes i, j, f and o separately.

    Implements :eq:`eq-ln-gates`.
    """
    blocks = zip(split_gates(z), split_gates(params.gamma), split_gates(params.beta))
    return np.concatenate(
        [layer_norm(z_k, gamma_k, beta_k, epsilon) for z_k, gamma_k, beta_k in blocks], axis=-1
    )


def add_forget_bias(z_f: np.ndarray, forget_bias: float) -> np.ndarray:
    """The forget gate's pre-activation (N, H) with the run-time forget bias added.

    Implements :eq:`eq-forget-bias`: ``z_f + b_F``, which the forget gate's
    σ then reads. TF 1.x cells add their ``forget_bias`` (1.0 by default) at
    every step; Keras and PyTorch add nothing (``forget_bias=0``).
    """
    return z_f + forget_bias


def input_forget_peepholes(
    z_i: np.ndarray, z_f: np.ndarray, c_prev: np.ndarray, params: LSTMParams
) -> tuple[np.ndarray, np.ndarray]:
    """The input and forget pre-activations (N, H each) with their peepholes added.

    Implements :eq:`eq-peephole-input-forget`: ``z_i + p_i ⊙ c_prev`` and
    ``z_f + p_f ⊙ c_prev``; both gates see the *previous* cell state, since
    the new one does not exist yet. A peephole ``params`` lacks adds nothing.
    """
    if params.p_i is not None:
        z_i = z_i + params.p_i * c_prev
    if params.p_f is not None:
        z_f = z_f + params.p_f * c_prev
    return z_i, z_f


def normalize_gate_tflite(z_k: np.ndarray, gamma_k: np.ndarray, b_k: np.ndarray,
                          epsilon: float) -> np.ndarray:
    """One gate's pre-activation (N, H) under TFLite's layer norm: normalize, scale, then add the bias.

    Implements :eq:`eq-ln-tflite`: ``z_k`` is ``W_k x + U_k h`` plus the
    gate's peephole, without the bias; it is normalized over its H units,
    multiplied by ``gamma_k`` and the bias ``b_k`` added, in the place of
    layer normalization's shift. TFLite's kernels use ``epsilon`` = 1e-8.
    """
    return layer_norm(z_k, gamma_k, b_k, epsilon)


def clip_preactivation(z: np.ndarray, clip: float) -> np.ndarray:
    """A gate's pre-activation (N, H) clipped to ``[-clip, clip]``: ONNX's ``clip``.

    Implements :eq:`eq-preactivation-clip`, applied to each of the four
    gates' pre-activations, peepholes and bias included, just before the
    activation; unlike :func:`clip_cell`, it leaves the cell state alone.
    """
    return np.clip(z, -clip, clip)


def coupled_input_gate(f: np.ndarray) -> np.ndarray:
    """The input gate (N, H) of coupled gates: ``i = 1 - f`` (CIFG).

    Implements :eq:`eq-cifg`: TFLite's and NNAPI's LSTM without input-gate
    weights writes exactly as much as it forgets.
    """
    return 1 - f


def coupled_forget_gate(i: np.ndarray) -> np.ndarray:
    """The forget gate (N, H) of coupled gates: ``f = 1 - i`` (ONNX's ``input_forget``).

    Implements :eq:`eq-coupled-forget`: the coupling of :func:`coupled_input_gate`
    the other way round; the forget gate's weights are not read.
    """
    return 1 - i


def candidate_dropout(g: np.ndarray, mask: np.ndarray, keep_prob: float) -> np.ndarray:
    """The candidate (N, H) after dropout: ``g / keep_prob ⊙ mask``.

    Implements :eq:`eq-candidate-dropout`, in TF 1.x's order of operations
    (divide, then multiply by the mask of zeros and ones), so that the kept
    units round as TensorFlow rounds them.
    """
    return g / keep_prob * mask


def cell_update(
    f: np.ndarray, c_prev: np.ndarray, i: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """New cell state ``f ⊙ c_prev + i ⊙ g`` (N, H): keep some memory, write some.

    Implements :eq:`eq-cell-update`.
    """
    return f * c_prev + i * g


def normalize_cell(c: np.ndarray, params: LSTMParams, epsilon: float) -> np.ndarray:
    """The new cell state (N, H) layer-normalized with ``gamma_c`` and ``beta_c``.

    Implements :eq:`eq-ln-cell-state`: ``LayerNormBasicLSTMCell`` normalizes the
    result of the cell update, and carries the normalized state to the next step.
    """
    return layer_norm(c, params.gamma_c, params.beta_c, epsilon)


def clip_cell(c: np.ndarray, cell_clip: float) -> np.ndarray:
    """The new cell state (N, H) clipped to ``[-cell_clip, cell_clip]``.

    Implements :eq:`eq-cell-clip`, TF ``LSTMCell``'s ``cell_clip``: applied
    before anything reads the new state, the output peephole included.
    """
    return np.clip(c, -cell_clip, cell_clip)


def output_peephole(z_o: np.ndarray, c: np.ndarray, params: LSTMParams) -> np.ndarray:
    """The output gate's pre-activation (N, H) with the diagonal peephole ``p_o ⊙ c``.

    Implements :eq:`eq-peephole-output`: unlike the input and forget gates,
    the output gate sees the *new* cell state. Without ``p_o``, ``z_o``.
    """
    if params.p_o is None:
        return z_o
    return z_o + params.p_o * c


def output_peephole_matrix(z_o: np.ndarray, c: np.ndarray, params: LSTMParams) -> np.ndarray:
    """The output gate's pre-activation (N, H) with the full-matrix peephole ``c V_o``.

    Implements :eq:`eq-output-peephole-matrix`, the seed-004 exercise's
    variant: ``V_o`` is (H, H), not a diagonal. Without ``V_o``, ``z_o``.
    """
    if params.V_o is None:
        return z_o
    return z_o + c @ params.V_o


def hidden_state(o: np.ndarray, c: np.ndarray, activation: Activation) -> np.ndarray:
    """New hidden state ``o ⊙ φ(c)`` (N, H): a gated view of the cell state.

    Implements :eq:`eq-hidden`. With an output activation ψ of its own
    (ONNX's h), ``o ⊙ ψ(c)``: :eq:`eq-output-activation`.
    """
    return o * activation(c)


def project(m: np.ndarray, params: LSTMParams, config: LSTMConfig) -> np.ndarray:
    """Projected hidden state ``m W_proj`` (N, P), clipped to ``proj_clip`` if set.

    The identity when the parameters hold no projection. The projection is
    linear and has no bias, as in Sak et al. (2014) and TF's ``LSTMCell``,
    unless ``params.b_proj`` gives it one (TFLite's ``projection_bias``),
    added before the clip.

    Implements :eq:`eq-projection` and :eq:`eq-projection-bias`.
    """
    if params.W_proj is None:
        return m
    h = m @ params.W_proj  # (N, P)
    if params.b_proj is not None:
        h = h + params.b_proj
    if config.proj_clip is not None:
        h = np.clip(h, -config.proj_clip, config.proj_clip)
    return h


# ---------------------------------------------------------------------------
# The step


class StepValues(NamedTuple):
    """Every intermediate of one step: what backpropagation and plots need.

    Attributes
    ----------
    i, f, g, o : ndarray, shape (N, H)
        The input gate, forget gate, candidate (after dropout, if any) and
        output gate, after their activations.
    c : ndarray, shape (N, H)
        The new cell state (after layer normalization and clipping, if any).
    m : ndarray, shape (N, H)
        ``o ⊙ φ(c)``, the hidden state before any projection.
    h : ndarray, shape (N, P)
        The new hidden state: ``m``, or ``m @ W_proj`` (clipped) with a projection.
    """

    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    m: np.ndarray
    h: np.ndarray

    @property
    def state(self) -> LSTMState:
        """The state the step hands to the next: ``LSTMState(h, c)``."""
        return LSTMState(self.h, self.c)


def step_values(
    x: np.ndarray,
    state: LSTMState,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    candidate_mask: Optional[np.ndarray] = None,
) -> StepValues:
    """One step, returning every intermediate (:class:`StepValues`); inputs unchecked.

    The body of the LSTM, for loops that checked their inputs once
    (:func:`lstm_step` checks them, then calls this). It applies the
    functions above in order, the optional ones where ``params`` and
    ``config`` ask for them, and computes the gates itself.

    Implements :eq:`eq-gates`: ``i = σ(z_i)``, ``f = σ(z_f)``,
    ``g = φ(z_g)``, ``o = σ(z_o)``, each on its block of the
    pre-activations once the forget bias and the peepholes that feed it are
    added.
    """
    sigma, phi, psi = (config.recurrent_activation_fn, config.activation_fn,
                       config.output_activation_fn)
    clip, tflite_norm = config.preactivation_clip, params.layer_norm_form == "tflite"
    c_prev = state.c
    z = preactivations(x, state.h, params, bias=not tflite_norm)  # (N, 4H)
    if params.layer_norm_form == "basic":
        z = normalize_gates(z, params, config.layer_norm_epsilon)
    z_i, z_f, z_g, z_o = split_gates(z)  # (N, H) each
    z_f = add_forget_bias(z_f, config.forget_bias)
    z_i, z_f = input_forget_peepholes(z_i, z_f, c_prev, params)
    if tflite_norm:  # TFLite: normalize W x + U h + peephole, then add the bias
        b = params.b if params.b is not None else np.zeros(4 * params.hidden_size, params.dtype)
        gammas, biases = split_gates(params.gamma), split_gates(b)
        z_i, z_f, z_g = (normalize_gate_tflite(z_k, gammas[k], biases[k],
                                               config.layer_norm_epsilon)
                         for k, z_k in enumerate((z_i, z_f, z_g)))
    if clip is not None:
        z_i, z_f, z_g = (clip_preactivation(z_k, clip) for z_k in (z_i, z_f, z_g))
    if config.coupled_gates == "input_from_forget":
        f = sigma(z_f)  # forget gate
        i = coupled_input_gate(f)
    elif config.coupled_gates == "forget_from_input":
        i = sigma(z_i)  # input gate
        f = coupled_forget_gate(i)
    else:
        i = sigma(z_i)  # input gate
        f = sigma(z_f)  # forget gate
    g = phi(z_g)  # candidate
    if candidate_mask is not None:
        g = candidate_dropout(g, candidate_mask, config.dropout_keep_prob)

    c = cell_update(f, c_prev, i, g)
    if params.layer_norm_form == "basic":
        c = normalize_cell(c, params, config.layer_norm_epsilon)
    if config.cell_clip is not None:
        c = clip_cell(c, config.cell_clip)

    z_o = output_peephole(z_o, c, params)  # the output gate sees the new cell state
    z_o = output_peephole_matrix(z_o, c, params)
    if tflite_norm:
        z_o = normalize_gate_tflite(z_o, gammas[3], biases[3], config.layer_norm_epsilon)
    if clip is not None:
        z_o = clip_preactivation(z_o, clip)
    o = sigma(z_o)  # output gate
    m = hidden_state(o, c, psi)
    return StepValues(i=i, f=f, g=g, o=o, c=c, m=m, h=project(m, params, config))


def lstm_step(
    x: np.ndarray,
    state: LSTMState,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    candidate_mask: Optional[np.ndarray] = None,
) -> LSTMState:
    """Advance the LSTM by one time step: the entry point of :mod:`lstm_ref.cell`.

    Checks its inputs, then runs :func:`step_values`: the pre-activations
    (:func:`preactivations`), the gates, the cell update
    (:func:`cell_update`) and the hidden state (:func:`hidden_state`), with
    the optional layer normalization, peepholes, dropout, clipping and
    projection listed in :mod:`lstm_ref.cell`.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs at this step.
    state : LSTMState
        ``h`` (N, P) and ``c`` (N, H) from the previous step (any pair works).
    params : LSTMParams
        Weights, gate blocks in the order i, f, g, o.
    config : LSTMConfig
        Activations, forget bias, clipping, layer-norm epsilon, keep probability.
    candidate_mask : ndarray, shape (N, H), optional
        Dropout mask for the candidate ``g``: 1 keeps a unit (scaled by
        ``1 / config.dropout_keep_prob``), 0 drops it. No dropout if omitted.

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
    check_config(config)
    if candidate_mask is not None:
        candidate_mask = checked_array(
            "candidate_mask", candidate_mask, (x.shape[0], params.hidden_size), ("N", "H"),
            params.dtype, "the weights",
        )
    with np.errstate(**OVERFLOW_QUIET):  # reported below, by name
        h, c = step_values(x, state, params, config, candidate_mask).state
    return LSTMState(check_no_overflow("h", h, "step"), check_no_overflow("c", c, "step"))
