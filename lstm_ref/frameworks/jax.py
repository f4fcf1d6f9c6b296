"""JAX and Flax, behind one door: the only module of lstm_ref that imports them.

The helpers build Flax's LSTM cells (``flax.linen.LSTMCell``,
``OptimizedLSTMCell``, ``flax.nnx.LSTMCell``, ``nnx.OptimizedLSTMCell``) and
``flax.linen.RNN`` from canonical :class:`lstm_ref.LSTMParams` (through
:mod:`lstm_ref.conventions.flax`), run them on NumPy inputs and return NumPy
arrays in the weights' dtype; and they write the same cell as a
``jax.lax.scan`` compiled with ``jax.jit``, the benchmark's JAX contender.

JAX computes in float32 unless 64-bit types are enabled. Every float64 run
here enables them for its own duration only (``jax.enable_x64(True)`` as a
context manager), so float32 runs in the same process are unaffected and a
compiled function's cache keeps the two apart.
"""

from __future__ import annotations

import contextlib
from typing import Optional

import numpy as np

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import nnx

from ..conventions.flax import from_carry, to_carry, to_flax
from ..params import LSTMParams, LSTMState, zero_state

__all__ = [
    "CELLS", "versions", "x64", "linen_cell", "nnx_cell", "cell_parameters",
    "initial_parameters", "run_flax_cell", "run_flax_rnn", "scan_lstm", "scan_lstm_runner",
]

# The cells, by their name under flax: the parameter layout each keeps
# (lstm_ref.conventions.flax.LAYOUTS).
CELLS = {
    "linen.LSTMCell": "linen",
    "linen.OptimizedLSTMCell": "linen",
    "nnx.LSTMCell": "nnx",
    "nnx.OptimizedLSTMCell": "nnx_optimized",
}


def versions() -> dict[str, str]:
    """Versions of NumPy, JAX and Flax in this process."""
    return {"numpy": np.__version__, "jax": jax.__version__, "flax": flax.__version__}


def x64(dtype) -> contextlib.AbstractContextManager:
    """A context in which JAX computes in ``dtype``: 64-bit types enabled for float64,
    nothing changed otherwise."""
    return jax.enable_x64(True) if np.dtype(dtype) == np.float64 else contextlib.nullcontext()


def _check_kind(kind: str) -> str:
    if kind not in CELLS:
        raise ValueError(f"kind: expected one of {', '.join(map(repr, CELLS))}, got {kind!r}")
    return CELLS[kind]


def _jnp_tree(tree):
    return jax.tree_util.tree_map(jnp.asarray, tree)


def _numpy_tree(tree):
    return jax.tree_util.tree_map(lambda a: np.asarray(a).copy(), tree)


def linen_cell(kind: str, params: LSTMParams):
    """``(module, variables)``: a linen ``LSTMCell`` or ``OptimizedLSTMCell`` of
    ``params.hidden_size`` features and its ``{"params": ...}`` holding ``params``.
    Build it inside :func:`x64` for float64."""
    _check_kind(kind)
    module = getattr(nn, kind.split(".")[1])(params.hidden_size, param_dtype=params.dtype)
    return module, {"params": _jnp_tree(to_flax(params, "linen"))}


def nnx_cell(kind: str, params: LSTMParams):
    """An ``nnx.LSTMCell`` or ``nnx.OptimizedLSTMCell`` holding ``params``. Build it inside
    :func:`x64` for float64."""
    layout = _check_kind(kind)
    cell = getattr(nnx, kind.split(".")[1])(params.input_size, params.hidden_size,
                                            param_dtype=params.dtype, rngs=nnx.Rngs(0))
    state = nnx.state(cell, nnx.Param)
    nnx.replace_by_pure_dict(state, _jnp_tree(to_flax(params, layout)))
    nnx.update(cell, state)
    return cell


def cell_parameters(kind: str, params: LSTMParams) -> dict:
    """The parameters a Flax cell holds after :func:`linen_cell`/:func:`nnx_cell` loaded
    ``params``, read back out as nested dicts of NumPy arrays."""
    with x64(params.dtype):
        if kind.startswith("linen."):
            return _numpy_tree(linen_cell(kind, params)[1]["params"])
        return _numpy_tree(nnx.to_pure_dict(nnx.state(nnx_cell(kind, params), nnx.Param)))


def initial_parameters(kind: str, input_size: int, hidden_size: int, seed: int = 0,
                       dtype=np.float32) -> dict:
    """The parameters Flax's own initializers give a cell (lecun_normal input kernels,
    orthogonal hidden kernels, zero biases), as nested dicts of NumPy arrays."""
    _check_kind(kind)
    with x64(dtype):
        if kind.startswith("linen."):
            module = getattr(nn, kind.split(".")[1])(hidden_size, param_dtype=dtype)
            x = jnp.zeros((1, input_size), dtype)
            carry = module.initialize_carry(jax.random.key(1), x.shape)
            return _numpy_tree(module.init(jax.random.key(seed), carry, x)["params"])
        cell = getattr(nnx, kind.split(".")[1])(input_size, hidden_size, param_dtype=dtype,
                                                rngs=nnx.Rngs(seed))
        return _numpy_tree(nnx.to_pure_dict(nnx.state(cell, nnx.Param)))


def run_flax_cell(kind: str, params: LSTMParams, x: np.ndarray,
                  state: LSTMState) -> tuple[LSTMState, np.ndarray]:
    """One step of a Flax cell holding ``params``: the new state and the output, as NumPy.

    ``state`` is lstm_ref's ``(h, c)``; it goes in as Flax's carry ``(c, h)``.
    """
    with x64(params.dtype):
        carry = tuple(jnp.asarray(a) for a in to_carry(state))
        if kind.startswith("linen."):
            module, variables = linen_cell(kind, params)
            new_carry, y = module.apply(variables, carry, jnp.asarray(x))
        else:
            new_carry, y = nnx_cell(kind, params)(carry, jnp.asarray(x))
        return from_carry(tuple(np.asarray(a) for a in new_carry)), np.asarray(y)


def run_flax_rnn(
    params: LSTMParams,
    X: np.ndarray,
    initial_state: Optional[LSTMState] = None,
    seq_lengths: Optional[np.ndarray] = None,
    kind: str = "linen.LSTMCell",
    reverse: bool = False,
    keep_order: bool = False,
) -> tuple[np.ndarray, LSTMState]:
    """``flax.linen.RNN(cell, return_carry=True)`` on ``X`` (N, T, D): the outputs
    (N, T, H) and the returned carry as an ``LSTMState``, as NumPy."""
    if not kind.startswith("linen."):
        raise ValueError(f"kind: flax.linen.RNN takes a linen cell, got {kind!r}")
    with x64(params.dtype):
        cell, variables = linen_cell(kind, params)
        rnn = nn.RNN(cell, return_carry=True)
        state = initial_state or zero_state(params, X.shape[0])
        carry = tuple(jnp.asarray(a) for a in to_carry(state))
        lengths = None if seq_lengths is None else jnp.asarray(seq_lengths)
        new_carry, outputs = rnn.apply({"params": {"cell": variables["params"]}},
                                       jnp.asarray(X), initial_carry=carry,
                                       seq_lengths=lengths, reverse=reverse,
                                       keep_order=keep_order)
        return np.asarray(outputs), from_carry(tuple(np.asarray(a) for a in new_carry))


# ---------------------------------------------------------------------------
# The same LSTM as a jax.lax.scan, compiled with jax.jit


def _scan_lstm(W, U, b, X, h0, c0):
    """The LSTM over ``X`` (N, T, D) as one ``lax.scan``: outputs (N, T, H), h_T, c_T.

    The input products of all steps are one multiply before the loop (they do
    not depend on h); each step adds ``h U``, splits i, f, g, o and updates.
    """
    Z_x = jnp.einsum("ntd,dk->tnk", X, W) + b  # (T, N, 4H), time-major for the scan

    def step(carry, z_x):
        h, c = carry
        z_i, z_f, z_g, z_o = jnp.split(z_x + h @ U, 4, axis=-1)
        c = jax.nn.sigmoid(z_f) * c + jax.nn.sigmoid(z_i) * jnp.tanh(z_g)
        h = jax.nn.sigmoid(z_o) * jnp.tanh(c)
        return (h, c), h

    (h, c), Y = jax.lax.scan(step, (h0, c0), Z_x)
    return jnp.swapaxes(Y, 0, 1), h, c


_scan_lstm_jit = jax.jit(_scan_lstm)


@jax.jit
def _scan_lstm_grads(W, U, b, X, h0, c0):
    """Gradients of ``sum(outputs)`` with respect to ``X``, ``W``, ``U`` and ``b``."""
    def loss(X, W, U, b):
        return _scan_lstm(W, U, b, X, h0, c0)[0].sum()
    return jax.grad(loss, argnums=(0, 1, 2, 3))(X, W, U, b)


def _scan_arguments(params: LSTMParams, X: np.ndarray, initial_state: Optional[LSTMState]):
    if params.extras():
        raise ValueError(f"params.{params.extras()[0]}: the lax.scan LSTM computes W, U "
                         "and b only")
    b = np.zeros(4 * params.hidden_size, params.dtype) if params.b is None else params.b
    state = initial_state or zero_state(params, X.shape[0])
    return [jnp.asarray(a) for a in (params.W, params.U, b, X, state.h, state.c)]


def scan_lstm(params: LSTMParams, X: np.ndarray,
              initial_state: Optional[LSTMState] = None) -> tuple[np.ndarray, LSTMState]:
    """The LSTM as a jitted ``jax.lax.scan``: outputs (N, T, H) and final state, as NumPy."""
    with x64(params.dtype):
        Y, h, c = _scan_lstm_jit(*_scan_arguments(params, X, initial_state))
        return np.asarray(Y), LSTMState(np.asarray(h), np.asarray(c))


def scan_lstm_runner(params: LSTMParams, X: np.ndarray, backward: bool = False):
    """A function of no arguments that runs the jitted scan on prepared device arrays:
    the outputs (N, T, H), or with ``backward`` the gradients ``(d_X, d_W, d_U, d_b)``
    of ``sum(outputs)``; it waits for the result (``block_until_ready``). For timing."""
    with x64(params.dtype):
        arguments = _scan_arguments(params, X, None)
    function = _scan_lstm_grads if backward else _scan_lstm_jit

    def run():
        with x64(params.dtype):
            result = function(*arguments)
            result = result if backward else result[0]
            return jax.block_until_ready(result)
    return run

