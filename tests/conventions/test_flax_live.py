"""lstm_ref against the real Flax cells (linen and nnx), nn.RNN with seq_lengths, and the
jitted lax.scan LSTM, in float64 (64-bit types enabled for the run only) and float32."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_params, random_sequence_problem, random_state
from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.conventions.flax import RNN, LSTMCell, from_flax, to_carry
from lstm_ref.grad import backward, forward

jax_live = pytest.importorskip("lstm_ref.frameworks.jax")

DTYPES = [np.float64, np.float32]
SHAPES = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 4), st.integers(1, 5),
                   st.integers(0, 2**32 - 1))


@pytest.mark.parametrize("kind", list(jax_live.CELLS))
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=1)
@given(shape=SHAPES)
def test_one_step_of_every_flax_cell(kind, dtype, shape):
    N, _, D, H, seed = shape
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype)
    x, state = rng.normal(size=(N, D)).astype(dtype), random_state(rng, N, H, dtype)
    theirs, y = jax_live.run_flax_cell(kind, params, x, state)
    (c, h), y_ours = LSTMCell(params)(to_carry(state), x)
    assert theirs.h.dtype == dtype
    verify.compare({"h'": (h, theirs.h), "c'": (c, theirs.c), "output": (y_ours, y)},
                   against=f"flax.{kind}")


@pytest.mark.parametrize("kind", list(jax_live.CELLS))
def test_parameters_go_in_and_come_back_exactly(kind, rng):
    params = random_params(rng, 3, 4)
    back = from_flax(jax_live.cell_parameters(kind, params))
    verify.compare({name: (getattr(back, name), getattr(params, name)) for name in "WUb"},
                   against=f"flax.{kind}'s parameters, read back", tolerance=0.0)


@pytest.mark.parametrize("kind", list(jax_live.CELLS))
def test_flax_initializers(kind):
    """Flax's own initial parameters convert, and the layouts are what the docs say:
    zero biases, each (H, H) hidden kernel orthogonal on its own."""
    initial = jax_live.initial_parameters(kind, 3, 4, seed=1)
    params = from_flax(initial)
    np.testing.assert_array_equal(params.b, 0)
    if kind != "nnx.OptimizedLSTMCell":  # its (H, 4H) kernel is orthogonal as a whole
        for U_k in np.split(params.U, 4, axis=1):
            np.testing.assert_allclose(U_k.T @ U_k, np.eye(4), atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reverse, keep_order", [(False, False), (True, False), (True, True)])
@settings(max_examples=2)
@given(shape=SHAPES, lengths=st.booleans())
def test_rnn_with_seq_lengths(dtype, reverse, keep_order, shape, lengths):
    N, T, D, H, seed = shape
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype)
    X, state = rng.normal(size=(N, T, D)).astype(dtype), random_state(rng, N, H, dtype)
    seq_lengths = rng.integers(1, T + 1, size=N) if lengths else None
    outputs, carry = jax_live.run_flax_rnn(params, X, state, seq_lengths, reverse=reverse,
                                           keep_order=keep_order)
    ours_carry, ours = RNN(LSTMCell(params))(X, initial_carry=to_carry(state),
                                             seq_lengths=seq_lengths, return_carry=True,
                                             reverse=reverse, keep_order=keep_order)
    verify.compare({"outputs": (ours, outputs), "h": (ours_carry.h, carry.h),
                    "c": (ours_carry.c, carry.c)}, against="flax.linen.RNN(LSTMCell)")


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=2)
@given(shape=SHAPES, bias=st.booleans())
def test_jitted_lax_scan(dtype, shape, bias):
    _, params, X, state = random_sequence_problem(shape, dtype, bias=bias)
    outputs, final = jax_live.scan_lstm(params, X, state)
    ours, ours_final = lstm_sequence(X, params, initial_state=state)
    assert outputs.dtype == dtype
    verify.compare({"outputs": (ours, outputs), "h_T": (ours_final.h, final.h),
                    "c_T": (ours_final.c, final.c)}, against="jax.lax.scan LSTM, jax.jit")


def test_jitted_gradients_are_bptt(rng):
    params = random_params(rng, 3, 4)
    X = rng.normal(size=(2, 5, 3))
    d_X, d_W, d_U, d_b = jax_live.scan_lstm_runner(params, X, backward=True)()
    outputs, _, cache = forward(X, params)
    grads = backward(np.ones_like(outputs), cache)
    verify.compare({"d_X": (grads.d_X, np.asarray(d_X)), "d_W": (grads.d_params.W, np.asarray(d_W)),
                    "d_U": (grads.d_params.U, np.asarray(d_U)),
                    "d_b": (grads.d_params.b, np.asarray(d_b))},
                   against="jax.grad of the jax.lax.scan LSTM")


def test_float64_runs_leave_float32_alone(rng):
    params = random_params(rng, 2, 3, np.float32)
    X = rng.normal(size=(1, 2, 2)).astype(np.float32)
    jax_live.scan_lstm(params.astype(np.float64), X.astype(np.float64))
    assert jax_live.scan_lstm(params, X)[0].dtype == np.float32
    assert jax_live.jnp.zeros(1).dtype == np.float32  # x64 was enabled for the run only


def test_unknown_cell_kind():
    with pytest.raises(ValueError, match=r"^kind: expected one of 'linen.LSTMCell'"):
        jax_live.run_flax_cell("linen.GRUCell", LSTMParams(W=np.zeros((1, 4)), U=np.zeros((1, 4))),
                               np.zeros((1, 1)), random_state(np.random.default_rng(0), 1, 1))
