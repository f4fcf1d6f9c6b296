"""Fast forward and backward passes over whole sequences, with the readable path's API.

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
   hidden state goes straight into a time-major array of outputs, and the
   next step's recurrent multiply reads it from there.
3. **Gate-major storage.** In an (N, 4H) array each gate block is a view
   with N separate rows, and NumPy runs an elementwise operation on such a
   view one row at a time. Here the weights are stored as one matrix per
   gate, ``W`` as (4, D, H) and ``U`` as (4, H, H), so that one batched
   multiply writes the pre-activations as (4, N, H): every gate is one
   contiguous block, and every elementwise operation one pass over memory.
4. **The three sigmoids in three passes.** The blocks are ordered i, f, o,
   g, so that the three gates that share σ are one contiguous block. With σ
   the logistic sigmoid their weights are also negated, so that the block
   holds ``-z`` and ``σ(z) = 1 / (1 + e^{-z})`` is three in-place passes
   over it: ``exp``, add 1, reciprocal. Negation is exact, and the formula
   keeps σ accurate in relative terms where it is tiny (a nearly closed
   gate, large negative z), as :func:`lstm_ref.activations.sigmoid` is;
   ``(1 + tanh(z / 2)) / 2``, one ``tanh`` for all four blocks, would round
   such a gate to zero.

The splitting, reordering and negation happen once, in :class:`FastLSTM`;
the public parameters stay canonical (i, f, g, o, as given), as Flax's fused
cell keeps the parameter names of its readable one. :class:`FastLSTM` works
on a copy of the weights made when it is made, so that its forward and
backward passes always use the same weights, whatever happens later to the
arrays it was given.

:meth:`FastLSTM.backward` is :func:`lstm_ref.grad.backward` (backpropagation
through time), equally verified, with the same arguments and result. The
forward pass (:meth:`FastLSTM.forward`) keeps each step's six elementwise
derivatives, its Jacobians (:class:`FastCache`), computed a chunk of steps
at a time while their values are still in the processor's caches; the
backward loop multiplies by them and by ``U^T`` and nothing else; the
gradients of the pre-activations of all steps go into one array, from which
``d_W`` with ``d_b``, ``d_U`` and ``d_X`` are one matrix multiply each. A
caller that runs the passes again and again (a training loop) can hand them a
:class:`Workspace`, whose arrays they write into instead of fresh memory.

Supported: ``W``, ``U``, an optional ``b``, every activation that
:class:`lstm_ref.LSTMConfig` accepts (sigmoid and tanh in place; any other
through the function itself, correct but slower; the backward pass those
with a :func:`lstm_ref.grad.derivative`), ``forget_bias`` and ``cell_clip``.
Refused with a ``ValueError``: peepholes (``p_i``, ``p_f``, ``p_o``,
``V_o``), the projection ``W_proj`` and layer normalization; use
:func:`lstm_ref.lstm_sequence` and :mod:`lstm_ref.grad` for those.

Shapes use N batch, T time, D input, H hidden; gate blocks of the public
parameters along every 4H axis are ordered i, f, g, o.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import Callable, NamedTuple, Optional

import numpy as np

from . import activations
from .cell import DEFAULT_CONFIG, LSTMConfig, check_config
from .grad import Gradients, checked_gradients, derivative
from .layout import GATE_ORDER, reorder_gates
from .params import (OVERFLOW_QUIET, LSTMParams, LSTMState, check_no_overflow, check_params,
                     check_sequence_inputs, check_state, checked_array, fold_forget_bias,
                     zero_state)

__all__ = [
    "FAST_GATE_ORDER", "STEP_ORDER", "JACOBIAN_ORDER", "check_fast_supported", "FastCache",
    "Workspace", "FastLSTM", "PreactivationGrads", "lstm_sequence_fast"
]

FAST_GATE_ORDER = ("i", "f", "o", "g")
"""Internal order of the gate blocks: the three σ gates first, contiguous."""

STEP_ORDER = (*FAST_GATE_ORDER, "phi_c", "c")
"""The values of one step of the loop, in order: the gates, ``φ(c_t)``, ``c_t``."""

JACOBIAN_ORDER = (*FAST_GATE_ORDER, "c", "c_prev")
"""What :attr:`FastCache.jacobians` holds of each step, by what it is the derivative of.

``i``, ``f``, ``g``: the cell update ``c_t`` with respect to the gate's
pre-activation; ``o``: ``h_t`` with respect to ``z_o``; ``c``: ``h_t`` with
respect to ``c_t``; ``c_prev``: ``c_t`` with respect to ``c_{t-1}``. The
gates in the internal order, as the step's values are, so that each
derivative is computed in the place of the activation it comes from.
"""

# Parts of LSTMParams the fast path does not compute, and what they are.
_UNSUPPORTED = {
    "p_i": "a peephole", "p_f": "a peephole", "p_o": "a peephole",
    "V_o": "a full-matrix output peephole", "W_proj": "a projection",
    "gamma": "layer normalization", "b_proj": "a projection bias",
}
# Options of LSTMConfig the fast path does not compute, and what they are.
_UNSUPPORTED_OPTIONS = {
    "coupled_gates": "coupled input and forget gates",
    "preactivation_clip": "clipped activation inputs",
    "output_activation": "an output activation other than the candidate's",
}


def check_fast_supported(params: LSTMParams, config: LSTMConfig) -> None:
    """Raise ``ValueError`` if the fast path cannot compute this cell.

    Peepholes (``p_i``, ``p_f``, ``p_o``, ``V_o``), a projection (``W_proj``)
    and layer normalization are refused; every activation, ``forget_bias``
    and ``cell_clip`` are supported. ``proj_clip`` only acts on a projection,
    so without one it is ignored, as :func:`lstm_ref.lstm_sequence` ignores it.
    """
    check_params(params)
    check_config(config)
    extras = params.extras()
    if extras:
        name = extras[0]
        raise ValueError(
            f"params.{name}: the fast path does not compute {_UNSUPPORTED[name]}; it supports "
            "W, U and b only. Use lstm_ref.lstm_sequence for this cell"
        )
    for name, what in _UNSUPPORTED_OPTIONS.items():
        if getattr(config, name) is not None:
            raise ValueError(
                f"config.{name}: the fast path does not compute {what} (got "
                f"{getattr(config, name)!r}). Use lstm_ref.lstm_sequence for this cell"
            )


@dataclass(frozen=True, eq=False)
class FastCache:
    """What :meth:`FastLSTM.forward` keeps for :meth:`FastLSTM.backward`.

    Every array is time-major, in the layout the fast path computed it in, so
    that backpropagation through time reads each step's values as one
    contiguous block and the weight gradients are one multiply each.

    Attributes
    ----------
    X : ndarray, shape (N, T, D)
        The inputs.
    initial_state : LSTMState
        ``h_0`` (N, H) and ``c_0`` (N, H).
    jacobians : ndarray, shape (T, 6, N, H)
        For every step, the six elementwise derivatives that backpropagation
        multiplies by (:data:`JACOBIAN_ORDER`, :meth:`FastLSTM.jacobians`):
        ``g σ'(i)``, ``c_{t-1} σ'(f)`` (the cell update's derivatives with
        respect to z_i, z_f), ``φ(c_t) σ'(o)`` (the hidden state's with
        respect to z_o), ``i φ'(g)`` (the cell update's with respect to
        z_g), ``o φ'(c_t)`` (the hidden state's with respect to c_t) and
        ``f`` (c_t's with respect to c_{t-1}); with ``cell_clip``, those of
        the cell update are zero where it was clipped.
    hidden : ndarray, shape (T + 1, N, H)
        The hidden states ``h_0, h_1, ..., h_T``.
    inputs : ndarray, shape (T, N, K)
        ``X`` time-major, with a column of ones appended when there is a bias
        (K = D + 1; K = D without): the left factor of the input projection
        (:meth:`FastLSTM.inputs_with_ones`).
    lstm : FastLSTM
        The object whose :meth:`~FastLSTM.forward` made this cache.
    """

    X: np.ndarray
    initial_state: LSTMState
    jacobians: np.ndarray
    hidden: np.ndarray
    inputs: np.ndarray
    lstm: "FastLSTM"

    @property
    def outputs(self) -> np.ndarray:
        """The hidden state after every step, shape (N, T, H) (a view of ``hidden``)."""
        return self.hidden[1:].transpose(1, 0, 2)


class Workspace:
    """Memory for the large arrays of :class:`FastLSTM`'s passes, owned by the caller.

    A pass given a workspace writes its large arrays into the workspace's,
    made on first use and used again by every later pass with the same
    workspace and sizes, instead of fresh memory (fresh memory costs the
    operating system a page fault per page written first, on every call).
    Each array has one role (the time-major inputs, the input projection,
    the hidden states, the Jacobians, the gradients of the pre-activations,
    of the inputs), so a backward pass never writes over the cache of the
    forward pass it reads.

    The contract is the caller's, and stated where it passes the workspace:
    everything a pass returns in the workspace's memory (the outputs, the
    cache, ``d_X``; see each method) stays valid only until the next pass
    given the same workspace. A training loop that is done with a step's
    results before it starts the next passes one workspace to every call;
    code that keeps results passes none (the default), and every call
    returns arrays of its own. One workspace serves one thread.
    """

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def empty(self, role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """The workspace's array for ``role``, of ``shape`` and ``dtype``; contents arbitrary.

        Made (or made again, if the sizes changed) on first use; the same
        array on every later call for the same role and sizes.
        """
        shape, dtype = tuple(shape), np.dtype(dtype)
        array = self._arrays.get(role)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[role] = np.empty(shape, dtype)
        return array


def _empty(workspace: Optional[Workspace], role: str, shape: tuple[int, ...], dtype
           ) -> np.ndarray:
    """``np.empty(shape, dtype)``, or the ``workspace``'s array for ``role`` if one is given."""
    if workspace is None:
        return np.empty(shape, dtype)
    if not isinstance(workspace, Workspace):
        raise TypeError(f"workspace: expected an lstm_ref.fast.Workspace or None, got "
                        f"{type(workspace).__name__}")
    return workspace.empty(role, shape, dtype)


class FastLSTM:
    """The LSTM over whole sequences, fast: the readable path's parameters and results.

    Prepares the weights once (copied, split into one matrix per gate,
    reordered to i, f, o, g, the σ gates' weights negated when σ is the
    sigmoid, ``forget_bias`` folded into the bias); calling it runs
    :func:`lstm_ref.lstm_sequence`'s computation with the input projection
    of all steps in one multiply and in-place elementwise work on contiguous
    gate blocks (see :mod:`lstm_ref.fast`): what
    :func:`lstm_ref.cell.step_values` computes, for t = 1, ..., T.
    :meth:`forward` and :meth:`backward` are :func:`lstm_ref.grad.forward`
    and :func:`lstm_ref.grad.backward`, fast.

    Parameters
    ----------
    params : LSTMParams
        ``W`` (D, 4H), ``U`` (H, 4H) and optionally ``b`` (4H,), gate blocks
        i, f, g, o. No peepholes, projection or layer normalization. Copied:
        changing these arrays later does not change this object's weights
        (make a new one for new weights).
    config : LSTMConfig
        Activations, ``forget_bias`` and ``cell_clip``.

    Attributes
    ----------
    params : LSTMParams
        The copy of the weights every pass uses, canonical.
    W : ndarray, shape (4, D, H)
        Input weights, one matrix per gate in the order i, f, o, g; the
        first three negated if σ is the sigmoid.
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

    # Bytes of step values the forward pass gathers before it computes their
    # Jacobians in one go (:meth:`jacobians`): few NumPy calls per step, on
    # values still in the processor's caches (all T steps at once would not
    # fit in them).
    CHUNK_BYTES = 2**20

    def __init__(self, params: LSTMParams, config: LSTMConfig = DEFAULT_CONFIG):
        check_fast_supported(params, config)
        # A copy: forward and backward read the same weights, even if the
        # caller's arrays change in place between them.
        params = params.astype(params.dtype)
        self.params, self.config = params, config
        sigma, phi = config.recurrent_activation_fn, config.activation_fn
        self._sigma, self._phi = sigma, phi
        # σ(z) = 1 / (1 + e^{-z}): with the σ gates' weights negated, the block holds -z.
        self._sigmoid_by_exp = sigma is activations.sigmoid
        self._phi_is_tanh = phi is activations.tanh
        dtype = params.dtype
        # Negation is exact: -z is rounded exactly as z is.
        self._scale = np.array([-1, -1, -1, 1] if self._sigmoid_by_exp else [1] * 4,
                               dtype)[:, None, None]  # (4, 1, 1), gates i, f, o, g
        b = params.b
        if config.forget_bias:  # folded into the bias once, not added at every step
            b = fold_forget_bias(params, config.forget_bias).b
        self.W = self.to_internal(params.W)  # (4, D, H)
        self.U = self.to_internal(params.U)  # (4, H, H)
        self.b = None if b is None else self.to_internal(b[None, :])  # (4, 1, H)
        # The bias as one more row of W, for inputs with a column of ones appended.
        self._W_b = self.W if b is None else np.concatenate([self.W, self.b], axis=1)

    def to_internal(self, array: np.ndarray) -> np.ndarray:
        """From (K, 4H), blocks i, f, g, o, to the internal (4, K, H), i, f, o, g.

        The σ gates' blocks are negated when σ is the sigmoid.
        """
        K, H = array.shape[0], self.params.hidden_size
        reordered = reorder_gates(array, GATE_ORDER, FAST_GATE_ORDER)  # (K, 4H)
        gate_major = reordered.reshape(K, 4, H).transpose(1, 0, 2)  # (4, K, H), a view
        internal = np.empty((4, K, H), array.dtype)  # contiguous
        return np.multiply(gate_major, self._scale, out=internal)

    def to_canonical(self, array: np.ndarray) -> np.ndarray:
        """From the internal (4, ..., H), blocks i, f, o, g, to (..., 4H), i, f, g, o.

        The inverse of :meth:`to_internal`, for weights, pre-activations or
        their gradients; the negation of the σ gates is undone (exactly), so
        ``to_canonical(self.W)`` is ``params.W``.
        """
        array = np.array(array)  # a copy, in the caller's layout
        if self._sigmoid_by_exp:
            np.negative(array[:3], out=array[:3])
        blocks = np.concatenate(list(array), axis=-1)  # (..., 4H), blocks i, f, o, g
        return reorder_gates(blocks, FAST_GATE_ORDER, GATE_ORDER)

    def __call__(
        self, X: np.ndarray, initial_state: Optional[LSTMState] = None,
        workspace: Optional[Workspace] = None,
    ) -> tuple[np.ndarray, LSTMState]:
        """Run over ``X`` (N, T, D); returns ``outputs`` (N, T, H) and the final state.

        The same contract as :func:`lstm_ref.lstm_sequence`: ``initial_state``
        is ``h_0`` (N, H) and ``c_0`` (N, H), zeros if omitted; inputs are
        checked the same way and keep their dtype. ``outputs`` is a
        transposed view of a time-major (T, N, H) array, which is how the
        loop writes it: in ``workspace``'s memory if one is given (valid
        until the next pass given that workspace, see :class:`Workspace`).
        """
        X, state = check_sequence_inputs(X, initial_state, self.params)
        return self._run(X, state, keep=False, workspace=workspace)[:2]

    def forward(
        self, X: np.ndarray, initial_state: Optional[LSTMState] = None,
        workspace: Optional[Workspace] = None,
    ) -> tuple[np.ndarray, LSTMState, FastCache]:
        """Like calling the object, and also keep what :meth:`backward` needs.

        With a ``workspace``, the outputs and the cache live in its memory
        until the next pass given the same workspace (:class:`Workspace`).

        Returns
        -------
        outputs : ndarray, shape (N, T, H)
        final_state : LSTMState
            ``h_T`` (N, H) and ``c_T`` (N, H).
        cache : FastCache
            Every step's Jacobians (T, 6, N, H), the hidden states and the
            inputs, for :meth:`backward`.

        Raises
        ------
        ValueError, TypeError
            As :meth:`__call__`, and as :func:`lstm_ref.grad.forward` for an
            activation :meth:`backward` cannot differentiate (one without a
            :func:`lstm_ref.grad.derivative`, e.g. ``swish``).
        """
        X, state = check_sequence_inputs(X, initial_state, self.params)
        self._derivatives()  # backward needs them: refuse what it cannot differentiate
        return self._run(X, state, keep=True, workspace=workspace)

    # -----------------------------------------------------------------------
    # The two multiplies, and the loop

    def inputs_with_ones(self, X: np.ndarray, workspace: Optional[Workspace] = None
                         ) -> np.ndarray:
        """``X`` (N, T, D) copied time-major, (T, N, K), with ones for a bias.

        K is D + 1 with a bias, D without: ``[x, 1] [W; b] = x W + b``, the
        bias as a last row of the weights (see :meth:`input_projection`).
        """
        N, T, D = X.shape
        K = self._W_b.shape[1]
        inputs = _empty(workspace, "inputs", (T, N, K), X.dtype)
        inputs[..., :D] = X.transpose(1, 0, 2)
        inputs[..., D:] = 1
        return inputs

    def input_projection(self, X: np.ndarray, inputs: Optional[np.ndarray] = None,
                         workspace: Optional[Workspace] = None) -> np.ndarray:
        """``x_t W + b`` for every step at once, shape (4, T, N, H), gates i, f, o, g.

        One multiply of all T N rows instead of T multiplies of N rows: the
        same operations, in a shape BLAS runs at full speed. ``X`` (N, T, D)
        is copied time-major, so that each step's slice of the result is
        contiguous, with a column of ones appended that multiplies the bias,
        a last row of the weights: ``[x, 1] [W; b] = x W + b``, so the bias
        costs no pass of its own (:meth:`inputs_with_ones`; pass its result
        as ``inputs`` if you have it). Input unchecked; :meth:`__call__`
        checks it.
        """
        N, T, _ = X.shape
        if inputs is None:
            inputs = self.inputs_with_ones(X, workspace)
        H = self.params.hidden_size
        Z_x = _empty(workspace, "Z_x", (4, T, N, H), X.dtype)
        np.matmul(inputs.reshape(T * N, inputs.shape[2]), self._W_b,
                  out=Z_x.reshape(4, T * N, H))
        return Z_x

    def recurrent_projection(self, h: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``h U`` into ``out`` (4, N, H), gates i, f, o, g, for ``h`` (N, H)."""
        return np.matmul(h, self.U, out=out)

    def _run(self, X, state, keep, workspace):
        """The loop over t. ``keep``: also every step's Jacobians, and a cache."""
        N, T, _ = X.shape
        H, dtype = self.params.hidden_size, self.params.dtype
        inputs = self.inputs_with_ones(X, workspace)  # (T, N, K)
        Z_x = self.input_projection(X, inputs, workspace)  # (4, T, N, H)
        # h_0 ... h_T, time-major: step t reads h_{t-1} from slot t-1 and
        # writes h_t into slot t, each an (N, H) block of its own.
        hidden = _empty(workspace, "hidden", (T + 1, N, H), dtype)
        hidden[0] = state.h
        # Each step computes in one small block, i, f, o, g, φ(c_t), c_t, that
        # stays in the processor's caches, with every view made once, here.
        step = np.empty((len(STEP_ORDER), N, H), dtype)
        z, s, (i, f, o, g, phi_c, c) = step[:4], step[:3], step
        c[...] = state.c
        scratch = np.empty((N, H), dtype)
        clip = self.config.cell_clip
        keeper = _StepKeeper(self, T, state.c, workspace) if keep else None
        # e^{-z} overflows to inf for a gate shut beyond the dtype's range,
        # and 1 / inf = 0 is then right; other overflows are reported below.
        with np.errstate(**OVERFLOW_QUIET):
            for z_x, h, h_t in zip(Z_x.transpose(1, 0, 2, 3), hidden[:-1], hidden[1:]):
                self.recurrent_projection(h, out=z)  # h_{t-1} U
                np.add(z, z_x, out=z)  # + x_t W + b
                self._activate(z, s, g)
                np.multiply(f, c, out=c)  # c_t = f ⊙ c_{t-1} ...
                np.multiply(i, g, out=scratch)
                np.add(c, scratch, out=c)  # ... + i ⊙ g
                if clip is not None:
                    if keep:  # where the gradient passes: |c_t| <= clip before clipping
                        np.less_equal(np.abs(c, out=scratch), clip, out=keeper.unclipped())
                    np.clip(c, -clip, clip, out=c)
                self._apply_phi(c, out=phi_c)
                np.multiply(o, phi_c, out=h_t)  # h_t = o ⊙ φ(c_t)
                if keep:
                    keeper.keep(step)
        outputs = hidden[1:].transpose(1, 0, 2)  # (N, T, H), a view
        check_no_overflow("outputs", outputs, "sequence")
        check_no_overflow("c", c, "sequence")
        final = LSTMState(hidden[T].copy(), c.copy()) if T else state
        if not keep:
            return outputs, final
        cache = FastCache(X, state, keeper.finish(), hidden, inputs, self)
        return outputs, final, cache

    def _activate(self, z, s, g):
        """The gates in place: σ on ``s = z[:3]`` (i, f, o), φ on ``g = z[3]``."""
        if self._sigmoid_by_exp:
            # The σ blocks hold -z, and σ(z) = 1 / (1 + e^{-z}): accurate in
            # relative terms for z < 0 too, where σ is tiny.
            np.exp(s, out=s)
            np.add(s, 1, out=s)
            np.reciprocal(s, out=s)
        else:
            s[...] = self._sigma(s)
        self._apply_phi(g, out=g)

    def _apply_phi(self, x, out):
        if self._phi_is_tanh:
            np.tanh(x, out=out)
        else:
            out[...] = self._phi(x)

    # -----------------------------------------------------------------------
    # Backpropagation through time

    def backward(
        self,
        d_outputs: np.ndarray,
        cache: FastCache,
        d_final_state: Optional[LSTMState] = None,
        workspace: Optional[Workspace] = None,
    ) -> Gradients:
        """Backpropagation through time: :func:`lstm_ref.grad.backward`, fast.

        The same arguments, with this object's :class:`FastCache` in place of
        :class:`lstm_ref.grad.ForwardCache`, and the same result. Three
        things make it fast (see :mod:`lstm_ref.fast`): inside the loop over
        t = T, ..., 1 (:meth:`preactivation_grads`) there remain the
        recurrent multiply ``d_z_t U^T`` and seven products with the step's
        Jacobians, which the forward pass computed (:meth:`jacobians`); the
        gradients of the pre-activations of every step go into one
        (T, N, 4H) array, from which ``d_W`` with ``d_b``, ``d_U``
        (:meth:`weight_grads`) and ``d_X`` (:meth:`input_grads`) are one
        matrix multiply each after the loop. It computes what
        :func:`lstm_ref.grad.hidden_grad`, :func:`~lstm_ref.grad.cell_grad`,
        :func:`~lstm_ref.grad.backward_step`,
        :func:`~lstm_ref.grad.preactivation_input_grads` and
        :func:`~lstm_ref.grad.weight_grads` compute.

        Parameters
        ----------
        d_outputs : ndarray, shape (N, T, H)
            Gradient of the loss with respect to the outputs of :meth:`forward`.
        cache : FastCache
            From this object's :meth:`forward`.
        d_final_state : LSTMState, optional
            Gradient with respect to the final ``h_T`` (N, H) and ``c_T``
            (N, H), zeros if omitted; added to the last output's.
        workspace : Workspace, optional
            Write the gradients of the pre-activations and ``d_X`` into its
            memory (valid until the next pass given it) instead of fresh
            arrays; see :class:`Workspace`.

        Returns
        -------
        lstm_ref.grad.Gradients
            ``d_X`` (N, T, D), a transposed view of a time-major array;
            ``d_initial_state``; ``d_params`` (``W``, ``U`` and ``b`` if the
            parameters have one, gate blocks i, f, g, o). ``d_states`` is
            None: keeping the gradients of every step's states would cost
            memory traffic that the gradients do not need;
            :func:`lstm_ref.grad.backward` has them.

        Raises
        ------
        ValueError, TypeError
            For a gradient whose shape or dtype does not match the forward
            pass (the messages of :func:`lstm_ref.grad.backward`), a cache
            from elsewhere, or an activation :func:`lstm_ref.grad.derivative`
            does not know.

        Examples
        --------
        >>> import numpy as np
        >>> from lstm_ref import LSTMParams
        >>> from lstm_ref.grad import backward, forward
        >>> rng = np.random.default_rng(0)
        >>> params = LSTMParams(W=rng.normal(size=(3, 8)), U=rng.normal(size=(2, 8)),
        ...                     b=rng.normal(size=8))
        >>> X, d_outputs = rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 5, 2))
        >>> fast = FastLSTM(params)
        >>> grads = fast.backward(d_outputs, fast.forward(X)[2])
        >>> readable = backward(d_outputs, forward(X, params)[2])
        >>> bool(np.abs(grads.d_params.U - readable.d_params.U).max() < 1e-12)
        True
        """
        with np.errstate(**OVERFLOW_QUIET):  # reported by checked_gradients, by name
            d_Z, d_initial_state = self.preactivation_grads(d_outputs, cache, d_final_state,
                                                            workspace)
            d_W, d_U, d_b = self.weight_grads(cache, d_Z)
            d_X = self.input_grads(d_Z, workspace)
        return checked_gradients(d_X, d_initial_state, {"W": d_W, "U": d_U, "b": d_b})

    def preactivation_grads(
        self,
        d_outputs: np.ndarray,
        cache: FastCache,
        d_final_state: Optional[LSTMState] = None,
        workspace: Optional[Workspace] = None,
    ) -> "PreactivationGrads":
        """The loop of :meth:`backward`: the pre-activations' gradients of every step.

        For t = T, ..., 1: the cell state's and the gates' gradients
        (:func:`lstm_ref.grad.cell_grad`, :func:`lstm_ref.grad.backward_step`)
        as products of the step's Jacobians (:attr:`FastCache.jacobians`),
        then ``d_z_t U^T`` (:meth:`recurrent_grads`), which
        :func:`lstm_ref.grad.hidden_grad` adds to the gradient of the output
        ``y_{t-1}``. Arguments as for :meth:`backward`.
        """
        N, T, _, H, dtype = self._check_cache(cache)
        d_outputs = checked_array("d_outputs", d_outputs, (N, T, H), ("N", "T", "P"),
                                  dtype, "the weights")
        d_h_T, d_c_T = (zero_state(self.params, N) if d_final_state is None
                        else check_state(d_final_state, N, self.params, "d_final_state"))
        d_Z = _empty(workspace, "d_Z", (T, N, 4 * H), dtype)  # gate blocks i, f, g, o
        # What h_t and c_t receive, carried from step to step, in place.
        d_h = d_outputs[:, -1] + d_h_T if T else d_h_T.copy()  # h_T is also y_T
        d_c = d_c_T.copy()
        scratch = np.empty((N, H), dtype)
        # The views each step reads and writes, t = T, ..., 1.
        steps = zip(
            cache.jacobians[::-1], d_Z[::-1],
            d_Z.reshape(T, N, 4, H).transpose(0, 2, 1, 3)[::-1],  # by gate, i f g o
            chain(d_outputs.transpose(1, 0, 2)[-2::-1], [None]),  # d_y_{t-1}
        )
        for jacobians, d_z, (d_z_i, d_z_f, d_z_g, d_z_o), d_y in steps:
            j_i, j_f, j_o, j_g, j_c, j_c_prev = jacobians
            np.multiply(d_h, j_o, out=d_z_o)  # d_h ⊙ φ(c_t) ⊙ σ'(o)
            np.multiply(d_h, j_c, out=scratch)
            np.add(scratch, d_c, out=d_c)  # d_h ⊙ o ⊙ φ'(c_t) + d_c(t+1) f(t+1)
            np.multiply(d_c, j_i, out=d_z_i)  # d_c ⊙ g ⊙ σ'(i)
            np.multiply(d_c, j_f, out=d_z_f)  # d_c ⊙ c_{t-1} ⊙ σ'(f)
            np.multiply(d_c, j_g, out=d_z_g)  # d_c ⊙ i ⊙ φ'(g)
            np.multiply(d_c, j_c_prev, out=d_c)  # d_c ⊙ f: what c_{t-1} receives
            self.recurrent_grads(d_z, out=d_h)  # d_z_t U^T ...
            if d_y is not None:
                np.add(d_h, d_y, out=d_h)  # ... + d_y_{t-1}
        return PreactivationGrads(d_Z, LSTMState(d_h, d_c))

    def jacobians(
        self, values: np.ndarray, c_0: np.ndarray, unclipped: Optional[np.ndarray],
        out: np.ndarray,
    ) -> np.ndarray:
        """The elementwise derivatives of k steps, from their values, into ``out``.

        ``values`` (k, 6, N, H) are the steps' i, f, o, g, φ(c_t), c_t
        (:data:`STEP_ORDER`), ``c_0`` (N, H) the cell state before the
        first of them, ``unclipped`` (k, N, H) 1 where ``cell_clip`` left
        c_t alone and 0 where it clipped (None without ``cell_clip``).
        Writes into ``out`` (k, 6, N, H), in :data:`JACOBIAN_ORDER`, the
        factors of the gates' and the cell state's gradients
        (:func:`lstm_ref.grad.backward_step`, :func:`lstm_ref.grad.cell_grad`)
        that do not depend on the loss: ``g σ'(i)``, ``c_{t-1} σ'(f)``,
        ``φ(c_t) σ'(o)``, ``i φ'(g)``, ``o φ'(c_t)`` and ``f``, with σ' and
        φ' functions of the activations' outputs
        (:func:`lstm_ref.grad.derivative`); where
        c_t was clipped, the four of the cell update are zero, as its
        gradient is.
        """
        i, f, o, g, phi_c, c = values.transpose(1, 0, 2, 3)  # (k, N, H) each
        self._slopes(values[:, :5], out=out[:, :5])  # σ'(i, f, o), φ'(g), φ'(c_t)
        j_i, j_f, j_o, j_g, j_c, j_c_prev = out.transpose(1, 0, 2, 3)
        for j, partner in ((j_i, g), (j_o, phi_c), (j_g, i), (j_c, o)):
            np.multiply(j, partner, out=j)
        np.multiply(j_f[:1], c_0, out=j_f[:1])  # c_{t-1}: c_0, then the steps' own
        np.multiply(j_f[1:], c[:-1], out=j_f[1:])
        np.copyto(j_c_prev, f)
        if unclipped is not None:  # the cell update's four
            for j in (j_i, j_f, j_g, j_c_prev):
                np.multiply(j, unclipped, out=j)
        return out

    def _slopes(self, activations: np.ndarray, out: np.ndarray) -> None:
        """σ'(i, f, o) and φ'(g, φ(c_t)), from the ``activations`` (k, 5, N, H)."""
        sigma, phi = activations[:, :3], activations[:, 3:]
        if self._sigmoid_by_exp and self._phi_is_tanh:  # three passes for all five
            np.multiply(activations, activations, out=out)  # y²
            np.subtract(sigma, out[:, :3], out=out[:, :3])  # σ' = σ - σ²
            np.subtract(1, out[:, 3:], out=out[:, 3:])  # φ' = 1 - φ²
        else:
            sigma_prime, phi_prime = self._derivatives()
            out[:, :3] = sigma_prime(sigma)
            out[:, 3:] = phi_prime(phi)

    def _derivatives(self) -> tuple[Callable, Callable]:
        """σ' and φ', functions of the activations' outputs; ValueError if unknown."""
        config = self.config
        sigma = config.recurrent_activation_fn
        return (derivative(sigma, "config.recurrent_activation"),
                derivative(config.activation_fn, "config.activation"))

    def recurrent_grads(self, d_z: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``d_z U^T`` into ``out`` (N, H), for ``d_z`` (N, 4H), gate blocks i, f, g, o.

        What step t passes back to ``h_{t-1}``: the second half of
        :func:`lstm_ref.grad.preactivation_input_grads`. ``U^T`` is kept
        contiguous (:attr:`U_T`).
        """
        return np.matmul(d_z, self.U_T, out=out)

    @cached_property
    def U_T(self) -> np.ndarray:
        """``U^T``, shape (4H, H), gate blocks i, f, g, o, contiguous; made when needed.

        BLAS multiplies by a transposed operand without copying it, but more
        slowly here for these shapes than by a contiguous copy.
        """
        return np.ascontiguousarray(self.params.U.T)

    def weight_grads(
        self, cache: FastCache, d_Z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """``d_W`` (D, 4H), ``d_U`` (H, 4H) and ``d_b`` (4H,) or None: two multiplies.

        :func:`lstm_ref.grad.weight_grads` with the sums over t and n as the
        inner dimension of one matrix product each: ``d_W`` and ``d_b``
        together as ``[X, 1]^T d_Z`` over the T N rows of
        :attr:`FastCache.inputs` (the column of ones sums ``d_Z`` into
        ``d_b``), and ``d_U`` as ``H_{prev}^T d_Z`` over ``h_0 ... h_{T-1}``.
        ``d_Z`` (T, N, 4H) holds the pre-activations' gradients, gate blocks
        i, f, g, o (:meth:`preactivation_grads`).
        """
        T, N, H4 = d_Z.shape
        D, H = self.params.input_size, self.params.hidden_size
        rows = d_Z.reshape(T * N, H4)
        inputs = cache.inputs.reshape(T * N, cache.inputs.shape[2])  # [X, 1]
        d_Wb = np.matmul(inputs.T, rows)  # (D [+ 1], 4H)
        d_U = np.matmul(cache.hidden[:-1].reshape(T * N, H).T, rows)
        return d_Wb[:D], d_U, (d_Wb[D] if self.params.b is not None else None)

    def input_grads(self, d_Z: np.ndarray, workspace: Optional[Workspace] = None
                    ) -> np.ndarray:
        """``d_X`` (N, T, D) = ``d_Z W^T`` for every step at once: one multiply.

        The first half of :func:`lstm_ref.grad.preactivation_input_grads`;
        ``d_Z`` (T, N, 4H), gate blocks i, f, g, o. Returns a transposed view
        of the time-major product (in ``workspace``'s memory if one is given).
        """
        T, N, H4 = d_Z.shape
        d_X = _empty(workspace, "d_X", (T, N, self.params.input_size), d_Z.dtype)
        np.matmul(d_Z.reshape(T * N, H4), self.params.W.T,
                  out=d_X.reshape(T * N, self.params.input_size))
        return d_X.transpose(1, 0, 2)

    def _check_cache(self, cache):
        """Raise unless ``cache`` came from this object's :meth:`forward`; its sizes."""
        if not isinstance(cache, FastCache):
            raise TypeError(f"cache: expected a FastCache from FastLSTM.forward, got "
                            f"{type(cache).__name__}")
        if cache.lstm is not self:
            raise ValueError("cache: made by another FastLSTM's forward; pass it to "
                             "that object's backward")
        N, T, D = cache.X.shape
        return N, T, D, self.params.hidden_size, self.params.dtype


class PreactivationGrads(NamedTuple):
    """What :meth:`FastLSTM.preactivation_grads` returns.

    Attributes
    ----------
    d_Z : ndarray, shape (T, N, 4H)
        Gradients of the pre-activations of every step, time-major, gate
        blocks i, f, g, o.
    d_initial_state : LSTMState
        Gradients of ``h_0`` (N, H) and ``c_0`` (N, H).
    """

    d_Z: np.ndarray
    d_initial_state: LSTMState


class _StepKeeper:
    """Gathers the forward loop's step values in chunks, and their Jacobians.

    Each chunk holds the values of as many steps as fit in
    :attr:`FastLSTM.CHUNK_BYTES`, so that it is still in the processor's
    caches when :meth:`FastLSTM.jacobians` turns all of it into Jacobians at
    once: a few NumPy calls per chunk instead of per step.
    """

    def __init__(self, lstm: "FastLSTM", T: int, c_0: np.ndarray,
                 workspace: Optional[Workspace]):
        N, H = c_0.shape
        dtype = lstm.params.dtype
        self.lstm, self.T, self.start = lstm, T, 0
        self.out = _empty(workspace, "jacobians", (T, len(JACOBIAN_ORDER), N, H), dtype)
        per_step = max(1, len(STEP_ORDER) * N * H * dtype.itemsize)  # N = 0: no bytes
        size = max(1, min(T, lstm.CHUNK_BYTES // per_step))
        self.values = np.empty((size, len(STEP_ORDER), N, H), dtype)
        clipping = lstm.config.cell_clip is not None
        self.masks = np.empty((size, N, H), dtype) if clipping else None
        self.slots = list(self.values)  # a view per slot, made once
        self.c_before = c_0.copy()  # c_{t-1} of the chunk's first step
        self.count = 0

    def unclipped(self) -> np.ndarray:
        """Where the current step writes 1 where its ``c_t`` was not clipped, else 0."""
        return self.masks[self.count]

    def keep(self, step: np.ndarray) -> None:
        """Copy one step's values; turn a full chunk into Jacobians."""
        np.copyto(self.slots[self.count], step)
        self.count += 1
        if self.count == len(self.slots):
            self._flush()

    def finish(self) -> np.ndarray:
        """The Jacobians of every step, (T, 6, N, H), once the loop has ended."""
        self._flush()
        return self.out

    def _flush(self):
        k = self.count
        if not k:
            return
        masks = None if self.masks is None else self.masks[:k]
        self.lstm.jacobians(self.values[:k], self.c_before, masks,
                            out=self.out[self.start : self.start + k])
        np.copyto(self.c_before, self.values[k - 1, STEP_ORDER.index("c")])
        self.start, self.count = self.start + k, 0

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
