"""TensorFlow 1.x LSTM cells, in NumPy: ``BasicLSTMCell``, ``LSTMCell``,
``MultiRNNCell`` and ``LayerNormBasicLSTMCell``.

All four keep **one kernel** that multiplies ``concat([x, h])``:

=====================  ===============  =====================================
TF variable            shape            canonical
=====================  ===============  =====================================
``kernel``             (D + P, 4H)      rows ``[:D]`` → ``W``, ``[D:]`` → ``U``
``bias``               (4H,)            ``b``
``w_i_diag`` ...       (H,)             ``p_i``, ``p_f``, ``p_o``
``projection/kernel``  (H, P)           ``W_proj``
``input/gamma`` ...    (H,) each        ``gamma``, ``beta`` (per gate block)
``state/gamma``        (H,)             ``gamma_c``, ``beta_c``
=====================  ===============  =====================================

with the gate blocks in the order **i, j, f, o** (TF's ``j`` is the candidate
``g``), so converting moves the f block in front of the candidate. P = H
unless ``LSTMCell`` has ``num_proj``. ``forget_bias`` (default 1.0) is added to
the forget gate at run time, not stored in the bias.

The classes mirror TF's API: ``cell(inputs, state)`` returns
``(output, new_state)`` with ``state`` an :class:`LSTMStateTuple` ``(c, h)``
(note: c first, unlike :class:`lstm_ref.LSTMState`). Weights are given with
``set_weights`` in the order of TF's ``cell.weights``. Every computation is
:func:`lstm_ref.cell.lstm_step`; the classes only convert.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np

from ..activations import get_activation, sigmoid
from ..cell import LSTMConfig, lstm_step
from ..layout import (GATE_ORDER, TF1_GATE_ORDER, concat_kernel, gate_hidden_size, named_gates,
                      reorder_gates, split_concat_kernel, split_gates)
from ..params import (LSTMParams, LSTMState, as_float_array, built, check_finite, check_shape,
                      check_units, checked_array, fold_forget_bias,  # noqa: F401  (re-exported)
                      state_pair)

__all__ = [
    "TF1_GATE_NAMES", "NORM_SCOPES", "LSTMStateTuple", "from_tf1", "to_tf1",
    "from_tf1_variables", "forget_bias_gap", "solve_forget_preactivation", "BasicLSTMCell",
    "LSTMCell", "LayerNormBasicLSTMCell", "MultiRNNCell"
]

# TF's letters for its blocks, in its order: the candidate is j.
TF1_GATE_NAMES = named_gates("j", TF1_GATE_ORDER)
# The scope names LayerNormBasicLSTMCell gives the layer norm of each gate block.
NORM_SCOPES = {"i": "input", "g": "transform", "f": "forget", "o": "output"}


class LSTMStateTuple(NamedTuple):
    """TF's ``LSTMStateTuple``: the cell state first, then the hidden state."""

    c: np.ndarray
    h: np.ndarray


# ---------------------------------------------------------------------------
# Weight conversion


def from_tf1(
    kernel: np.ndarray,
    bias: Optional[np.ndarray] = None,
    *,
    w_i_diag: Optional[np.ndarray] = None,
    w_f_diag: Optional[np.ndarray] = None,
    w_o_diag: Optional[np.ndarray] = None,
    projection_kernel: Optional[np.ndarray] = None,
    layer_norm: Optional[dict[str, tuple[np.ndarray, np.ndarray]]] = None,
) -> LSTMParams:
    """Canonical parameters from the variables of a TF 1.x LSTM cell.

    The cell computes :eq:`eq-tf1-kernel`, one product of ``concat([x, h])``
    with ``kernel``; splitting the kernel's rows and moving the f block in
    front of the candidate gives the canonical ``x W + h U + b``.

    Parameters
    ----------
    kernel : ndarray, shape (D + P, 4H)
        Acts on ``concat([x, h])``; blocks i, j, f, o.
    bias : ndarray, shape (4H,), optional
        Blocks i, j, f, o. ``LayerNormBasicLSTMCell`` with layer norm has none.
    w_i_diag, w_f_diag, w_o_diag : ndarray, shape (H,), optional
        ``LSTMCell(use_peepholes=True)``'s diagonal peepholes.
    projection_kernel : ndarray, shape (H, P), optional
        ``LSTMCell(num_proj=P)``'s ``projection/kernel``.
    layer_norm : dict, optional
        ``LayerNormBasicLSTMCell``'s gains and shifts: ``{scope: (gamma, beta)}``
        for the scopes ``"input"``, ``"transform"``, ``"forget"``, ``"output"``
        (shape (H,) each) and ``"state"``.

    Returns
    -------
    LSTMParams
        With ``W = kernel[:D]`` and ``U = kernel[D:]``, gate blocks reordered
        to i, f, g, o. Nothing is rounded: ``to_tf1`` gives back the same arrays.
    """
    kernel = as_float_array("kernel", kernel)
    H = gate_hidden_size("kernel", kernel, axis=1, shape="(D + P, 4H)", ndim=2,
                         order=TF1_GATE_NAMES)
    P = H
    if projection_kernel is not None:
        projection_kernel = as_float_array("projection_kernel", projection_kernel)
        check_shape("projection_kernel", projection_kernel, (H, None), ("H", "P"))
        P = projection_kernel.shape[1]
    if kernel.shape[0] <= P:
        raise ValueError(
            f"kernel: expected shape (D + P, 4H) with D >= 1 and P = {P}, got {kernel.shape}"
        )
    W, U = split_concat_kernel(kernel, kernel.shape[0] - P)
    # Checked here, by TF's names, before reordering reads their blocks.
    check = lambda name, a, shape, symbols: None if a is None else checked_array(  # noqa: E731
        name, a, shape, symbols, kernel.dtype, "kernel")
    bias = check("bias", bias, (4 * H,), ("4H",))
    diagonals = [check(name, a, (H,), ("H",)) for name, a in
                 (("w_i_diag", w_i_diag), ("w_f_diag", w_f_diag), ("w_o_diag", w_o_diag))]
    to_canonical = lambda a: None if a is None else reorder_gates(a, TF1_GATE_ORDER, GATE_ORDER)  # noqa: E731
    norms = _layer_norm_from_scopes(layer_norm, H)
    p_i, p_f, p_o = diagonals
    return LSTMParams(
        W=to_canonical(W), U=to_canonical(U), b=to_canonical(bias),
        p_i=p_i, p_f=p_f, p_o=p_o, W_proj=projection_kernel, **norms,
    )


def _layer_norm_from_scopes(layer_norm, H: int) -> dict[str, np.ndarray]:
    if layer_norm is None:
        return {}
    expected = [*NORM_SCOPES.values(), "state"]
    if sorted(layer_norm) != sorted(expected):
        raise ValueError(f"layer_norm: expected the scopes {expected}, got {sorted(layer_norm)}")
    gates = [layer_norm[NORM_SCOPES[gate]] for gate in GATE_ORDER]
    return {
        "gamma": np.concatenate([np.asarray(gamma) for gamma, _ in gates]),
        "beta": np.concatenate([np.asarray(beta) for _, beta in gates]),
        "gamma_c": layer_norm["state"][0],
        "beta_c": layer_norm["state"][1],
    }


def to_tf1(params: LSTMParams) -> dict[str, np.ndarray]:
    """The TF 1.x variables for ``params``, by TF's variable names.

    Keys (only those present): ``kernel``, ``bias``, ``w_f_diag``,
    ``w_i_diag``, ``w_o_diag``, ``projection/kernel``, and
    ``input/gamma``, ``input/beta``, ... ``state/beta`` for layer norm.
    """
    if not isinstance(params, LSTMParams):
        raise TypeError(f"params: expected LSTMParams, got {type(params).__name__}")
    to_tf = lambda a: reorder_gates(a, GATE_ORDER, TF1_GATE_ORDER)  # noqa: E731
    variables = {"kernel": concat_kernel(to_tf(params.W), to_tf(params.U))}
    if params.b is not None:
        variables["bias"] = to_tf(params.b)
    for name, value in (("w_f_diag", params.p_f), ("w_i_diag", params.p_i),
                        ("w_o_diag", params.p_o), ("projection/kernel", params.W_proj)):
        if value is not None:
            variables[name] = value
    if params.layer_norm_form == "tflite":
        raise ValueError(
            "params.gamma: TFLite's layer norm (gamma alone) has no TF 1.x cell; "
            "LayerNormBasicLSTMCell needs gamma, beta, gamma_c and beta_c"
        )
    if params.layer_norm:
        gammas = dict(zip(GATE_ORDER, split_gates(params.gamma)))
        betas = dict(zip(GATE_ORDER, split_gates(params.beta)))
        for gate in TF1_GATE_ORDER:
            variables[f"{NORM_SCOPES[gate]}/gamma"] = gammas[gate]
            variables[f"{NORM_SCOPES[gate]}/beta"] = betas[gate]
        variables["state/gamma"], variables["state/beta"] = params.gamma_c, params.beta_c
    return variables


def from_tf1_variables(variables: dict[str, np.ndarray]) -> LSTMParams:
    """The inverse of :func:`to_tf1`: canonical parameters from TF's variables by name.

    Takes the keys :func:`to_tf1` writes (``kernel`` and those of the other
    variables the cell has) and passes them to :func:`from_tf1`; a gradient
    by variable name converts the same way, as the conversion is a
    permutation and a split.
    """
    if not isinstance(variables, dict) or "kernel" not in variables:
        got = sorted(variables) if isinstance(variables, dict) else type(variables).__name__
        raise ValueError(f"variables: expected a dict of TF's variables by name, with at least "
                         f"'kernel', got {got}")
    layer_norm = None
    if "state/gamma" in variables:
        scopes = [*NORM_SCOPES.values(), "state"]
        layer_norm = {s: (variables[f"{s}/gamma"], variables[f"{s}/beta"]) for s in scopes}
    return from_tf1(
        variables["kernel"], variables.get("bias"),
        w_i_diag=variables.get("w_i_diag"), w_f_diag=variables.get("w_f_diag"),
        w_o_diag=variables.get("w_o_diag"), projection_kernel=variables.get("projection/kernel"),
        layer_norm=layer_norm,
    )


# ---------------------------------------------------------------------------
# The forget bias, and what leaving it out does


def forget_bias_gap(z_f: np.ndarray, c_prev: np.ndarray, forget_bias: float = 1.0) -> np.ndarray:
    """How much more cell state a forget bias keeps, ``c_prev ⊙ (σ(z_f + b_F) − σ(z_f))``.

    Implements :eq:`eq-forget-gap`: the new cell state of a cell that adds
    ``forget_bias`` (b_F) to the forget gate, as TF's ``BasicLSTMCell`` does,
    minus that of the same cell without it. Nothing else of the step changes.

    Parameters
    ----------
    z_f : ndarray, shape (N, H)
        Forget-gate pre-activations, without the forget bias.
    c_prev : ndarray, shape (N, H)
        The previous cell state.
    forget_bias : float
        b_F, TF's ``forget_bias`` (1.0 by default, as in TF).

    Returns
    -------
    ndarray, shape (N, H)
    """
    z_f = as_float_array("z_f", z_f)
    c_prev = as_float_array("c_prev", c_prev)
    check_shape("c_prev", c_prev, z_f.shape, ("N", "H"))
    for name, value in (("z_f", z_f), ("c_prev", c_prev), ("forget_bias", np.asarray(forget_bias))):
        check_finite(name, value)
    return c_prev * (sigmoid(z_f + forget_bias) - sigmoid(z_f))


def solve_forget_preactivation(
    delta_c: np.ndarray, c_prev: np.ndarray, forget_bias: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The forget pre-activations ``z_f`` that explain a cell-state gap: both roots.

    Implements :eq:`eq-forget-solve`, which inverts :func:`forget_bias_gap`,
    ``delta_c = c_prev ⊙ (σ(z_f + b_F) − σ(z_f))``, unit by unit for ``z_f``.
    With ``u = exp(-z_f)`` and ``a = exp(-b_F)`` it is the quadratic
    ``a d u² + (d (1 + a) − (1 − a)) u + d = 0`` in ``u``, where
    ``d = delta_c / c_prev``. It has real roots exactly when
    ``0 < d <= tanh(b_F / 4)``, the largest gap σ(z + b_F) − σ(z) can make
    (at ``z = -b_F / 2``); the two roots lie symmetrically about ``-b_F / 2``.

    Parameters
    ----------
    delta_c : ndarray, shape (N, H)
        The new cell state with the forget bias minus the one without.
    c_prev : ndarray, shape (N, H)
        The previous cell state; no entry may be zero.
    forget_bias : float
        b_F > 0.

    Returns
    -------
    (z_low, z_high) : tuple of ndarray, shape (N, H) each
        The two solutions, ``z_low <= -b_F / 2 <= z_high``, ``z_low + z_high = -b_F``.

    Raises
    ------
    ValueError
        If the shapes differ, ``c_prev`` has a zero, ``forget_bias`` is not
        positive, or some ``d`` is outside ``(0, tanh(b_F / 4)]``, so that no
        forget gate can explain the gap.
    """
    delta_c = as_float_array("delta_c", delta_c)
    c_prev = as_float_array("c_prev", c_prev)
    check_shape("c_prev", c_prev, delta_c.shape, ("N", "H"))
    for name, value in (("delta_c", delta_c), ("c_prev", c_prev)):
        check_finite(name, value)
    if not forget_bias > 0:
        raise ValueError(f"forget_bias: expected a positive number, got {forget_bias!r}")
    if np.any(c_prev == 0):
        raise ValueError("c_prev: expected no zero entries (a zero c_prev hides the forget gate)")
    d = delta_c / c_prev
    d_max = np.tanh(forget_bias / 4)
    if np.any(d <= 0) or np.any(d > d_max):
        raise ValueError(
            f"delta_c: expected delta_c / c_prev in (0, tanh(forget_bias / 4)] = (0, {d_max:.6g}], "
            f"got values in [{d.min():.6g}, {d.max():.6g}]: no forget gate explains this gap"
        )
    a = np.exp(-forget_bias)
    B = (1 - a) - d * (1 + a)  # > 0 whenever d <= tanh(b_F / 4)
    # max(., 0): at d = d_max the discriminant is zero up to rounding.
    q = (B + np.sqrt(np.maximum(B * B - 4 * a * d * d, 0))) / 2
    # u_large = q / (a d) and u_small = d / q (their product is 1 / a):
    # forming the small root as a quotient avoids cancellation.
    return -np.log(q / (a * d)), np.log(q / d)


# ---------------------------------------------------------------------------
# The cells


def _tf1_activation(activation):
    """TF 1.x cells look activation names up in tf-keras (Keras 2), not Keras 3."""
    return get_activation(activation, keras_version=2) if isinstance(activation, str) else activation


class _TF1Cell:
    """What the TF 1.x cells share: weights by name, state conventions, the call."""

    _weight_names: Sequence[str] = ("kernel", "bias")

    def __init__(self, num_units: int, config: LSTMConfig, state_is_tuple: bool = True):
        self.num_units = check_units("num_units", num_units)
        self.config = config
        self.state_is_tuple = state_is_tuple
        self.params: Optional[LSTMParams] = None

    @property
    def output_size(self) -> int:
        return self.num_units

    def weight_names(self) -> list[str]:
        """TF's variable names, in the order of ``cell.weights``."""
        return list(self._weight_names)

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set the weights from arrays in the order of TF's ``cell.weights``."""
        names = self.weight_names()
        if len(weights) != len(names):
            raise ValueError(
                f"weights: expected {len(names)} arrays ({', '.join(names)}), got {len(weights)}"
            )
        params = from_tf1_variables(dict(zip(names, weights)))
        if params.hidden_size != self.num_units:
            raise ValueError(
                f"kernel: expected 4 * num_units = {4 * self.num_units} columns, "
                f"got {4 * params.hidden_size}"
            )
        if params.output_size != self.output_size:
            raise ValueError(
                f"projection/kernel: expected shape (H, P) = ({self.num_units}, "
                f"{self.output_size}) for num_proj={self.output_size}, got "
                f"{params.W_proj.shape}"
            )
        self.params = params

    def get_weights(self) -> list[np.ndarray]:
        """The weights in the order of TF's ``cell.weights``."""
        variables = to_tf1(self._built())
        return [variables[name] for name in self.weight_names()]

    def _built(self) -> LSTMParams:
        return built(self, self.params)

    def zero_state(self, batch_size: int, dtype) -> LSTMStateTuple | np.ndarray:
        """All-zero state for a batch, in this cell's state convention."""
        params = self._built()
        state = LSTMStateTuple(
            c=np.zeros((batch_size, params.hidden_size), dtype),
            h=np.zeros((batch_size, params.output_size), dtype),
        )
        return state if self.state_is_tuple else np.concatenate(state, axis=1)

    def __call__(self, inputs, state, candidate_mask=None):
        """One step: returns ``(output, new_state)`` as TF does."""
        params = self._built()
        if self.state_is_tuple:
            # By field name: an lstm_ref.LSTMState (h, c) is read right too.
            c, h = state_pair("state", state, ("c", "h"), "an LSTMStateTuple (c, h)")
        else:
            state = as_float_array("state", state)
            check_shape("state", state, (None, params.hidden_size + params.output_size),
                        ("N", "H + P"))
            c, h = state[:, : params.hidden_size], state[:, params.hidden_size :]
        new = lstm_step(inputs, LSTMState(h=h, c=c), params, self.config, candidate_mask)
        new_state = LSTMStateTuple(c=new.c, h=new.h)
        if not self.state_is_tuple:
            new_state = np.concatenate(new_state, axis=1)
        return new.h, new_state


class BasicLSTMCell(_TF1Cell):
    """``tf.compat.v1.nn.rnn_cell.BasicLSTMCell`` in NumPy.

    Weights ``[kernel (D + H, 4H), bias (4H,)]``, gate blocks i, j, f, o
    (converted by :func:`from_tf1`); ``forget_bias`` added to the forget gate
    at every step (:func:`lstm_ref.cell.add_forget_bias`); ``activation``
    used for both the candidate and the cell output.

    Examples
    --------
    >>> import numpy as np
    >>> cell = BasicLSTMCell(2, forget_bias=1.0)
    >>> cell.set_weights([np.full((5, 8), 0.5), np.full(8, 0.5)])
    >>> state = LSTMStateTuple(c=0.1 * np.array([[0., 1]]), h=0.1 * np.array([[2., 3]]))
    >>> h, new_state = cell(np.ones((1, 3)), state)
    >>> new_state.c.round(8)
    array([[0.88477185, 0.98103916]])
    """

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation: str = "tanh"):
        config = LSTMConfig(activation=_tf1_activation(activation), forget_bias=forget_bias)
        super().__init__(num_units, config, state_is_tuple)
        self.activation = activation


class LSTMCell(_TF1Cell):
    """``tf.compat.v1.nn.rnn_cell.LSTMCell`` in NumPy: peepholes, clipping, projection.

    Weights, in the order of TF's ``cell.weights``: ``kernel (D + P, 4H)``,
    ``bias (4H,)``, then ``w_f_diag, w_i_diag, w_o_diag (H,)`` if
    ``use_peepholes``, then ``projection/kernel (H, P)`` if ``num_proj``.
    The input and forget peepholes see the previous cell state, the output
    peephole the new one; ``cell_clip`` clips the new cell state before the
    output gate sees it; the projection is linear without bias, then clipped
    by ``proj_clip``. The state is ``LSTMStateTuple(c (N, H), m (N, P))`` and
    the output is ``m``.
    """

    def __init__(self, num_units: int, use_peepholes: bool = False,
                 cell_clip: Optional[float] = None, num_proj: Optional[int] = None,
                 proj_clip: Optional[float] = None, forget_bias: float = 1.0,
                 state_is_tuple: bool = True, activation: str = "tanh"):
        config = LSTMConfig(activation=_tf1_activation(activation), forget_bias=forget_bias,
                            cell_clip=cell_clip, proj_clip=proj_clip if num_proj else None)
        super().__init__(num_units, config, state_is_tuple)
        self.activation = activation
        self.use_peepholes = use_peepholes
        self.num_proj = check_units("num_proj", num_proj, optional=True)

    @property
    def output_size(self) -> int:
        return self.num_proj or self.num_units

    def weight_names(self) -> list[str]:
        names = ["kernel", "bias"]
        if self.use_peepholes:
            names += ["w_f_diag", "w_i_diag", "w_o_diag"]
        if self.num_proj:
            names.append("projection/kernel")
        return names



class LayerNormBasicLSTMCell(_TF1Cell):
    """``tf.contrib.rnn.LayerNormBasicLSTMCell`` (TF 1.x only) in NumPy.

    With ``layer_norm=True`` each gate block of ``concat([x, h]) @ kernel`` (no
    bias) is normalized on its own and scaled and shifted by its own ``gamma``
    and ``beta`` (initialized to ``norm_gain`` and ``norm_shift``); then
    ``forget_bias`` is added to the forget block; after the cell update the new
    cell state is normalized too, and that normalized state is both carried
    and used for the output. With ``layer_norm=False`` it is
    :class:`BasicLSTMCell` with dropout.

    Dropout (``dropout_keep_prob < 1``) multiplies the candidate by a binary
    mask divided by the keep probability. Pass the mask to the call for exact
    control; otherwise one is drawn from a NumPy generator seeded with
    ``dropout_prob_seed`` (TF's own random stream cannot be reproduced).

    Weights, in TF's order: ``kernel (D + H, 4H)``, then ``bias (4H,)`` only if
    ``layer_norm=False``, then if ``layer_norm``: ``input/gamma, input/beta,
    transform/gamma, transform/beta, forget/gamma, forget/beta, output/gamma,
    output/beta, state/gamma, state/beta`` (each (H,)).
    """

    def __init__(self, num_units: int, forget_bias: float = 1.0, activation: str = "tanh",
                 layer_norm: bool = True, norm_gain: float = 1.0, norm_shift: float = 0.0,
                 dropout_keep_prob: float = 1.0, dropout_prob_seed: Optional[int] = None):
        config = LSTMConfig(activation=_tf1_activation(activation), forget_bias=forget_bias,
                            dropout_keep_prob=dropout_keep_prob)
        super().__init__(num_units, config)
        self.activation = activation
        self.layer_norm = layer_norm
        self.norm_gain, self.norm_shift = norm_gain, norm_shift
        self._rng = np.random.default_rng(dropout_prob_seed)

    def weight_names(self) -> list[str]:
        if not self.layer_norm:
            return ["kernel", "bias"]
        scopes = [NORM_SCOPES[gate] for gate in TF1_GATE_ORDER] + ["state"]
        return ["kernel"] + [f"{scope}/{v}" for scope in scopes for v in ("gamma", "beta")]

    def set_kernel(self, kernel: np.ndarray, bias: Optional[np.ndarray] = None) -> None:
        """Set the kernel (and bias), with every gain ``norm_gain`` and shift ``norm_shift``.

        That is the state TF's variables start in: the gains and shifts are
        created with constant initializers.
        """
        kernel = as_float_array("kernel", kernel)
        H = self.num_units
        weights = [kernel] if bias is None else [kernel, bias]
        if self.layer_norm:
            for _ in range(5):
                weights += [np.full(H, self.norm_gain, kernel.dtype),
                            np.full(H, self.norm_shift, kernel.dtype)]
        self.set_weights(weights)


    def __call__(self, inputs, state, candidate_mask=None):
        """One step; draws a dropout mask if ``dropout_keep_prob < 1`` and none is given."""
        keep_prob = self.config.dropout_keep_prob
        if candidate_mask is None and keep_prob < 1:
            N = np.shape(inputs)[0]
            candidate_mask = (self._rng.random((N, self.num_units)) < keep_prob).astype(
                self._built().dtype
            )
        return super().__call__(inputs, state, candidate_mask)


class MultiRNNCell:
    """``tf.compat.v1.nn.rnn_cell.MultiRNNCell`` in NumPy: cells stacked in depth.

    Cell k reads the output of cell k-1 (the first reads the input); the state
    is the tuple of every cell's state and the output is the last cell's.
    """

    def __init__(self, cells: Sequence[_TF1Cell]):
        if not cells:
            raise ValueError("cells: expected at least one cell, got none")
        for k, cell in enumerate(cells):
            if not isinstance(cell, (_TF1Cell, MultiRNNCell)):
                raise TypeError(f"cells[{k}]: expected a cell (BasicLSTMCell, LSTMCell, ...), "
                                f"got {type(cell).__name__}")
        self.cells = list(cells)

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    def zero_state(self, batch_size: int, dtype) -> tuple:
        return tuple(cell.zero_state(batch_size, dtype) for cell in self.cells)

    def __call__(self, inputs, state):
        if not isinstance(state, tuple) or len(state) != len(self.cells):
            raise ValueError(
                f"state: expected a tuple of {len(self.cells)} cell states, got "
                f"{len(state) if isinstance(state, tuple) else type(state).__name__}"
            )
        output, new_states = inputs, []
        for cell, cell_state in zip(self.cells, state):
            output, new_state = cell(output, cell_state)
            new_states.append(new_state)
        return output, tuple(new_states)
