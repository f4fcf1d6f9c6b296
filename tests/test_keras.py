"""lstm_ref against Keras 3's LSTM layer, on the seed's numbers and random shapes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import random_params, random_state
from lstm_ref import LSTMState, lstm_sequence, lstm_step, verify
from lstm_ref.conventions.keras import count_params, from_keras, to_keras
from lstm_ref.frameworks import keras, run_keras_lstm

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}

# Seed 002: one unit, one input, x = 2, zero initial state.
SEED_KERNEL = [[0.0, 1.0, 4.0, 1.0]]
SEED_RECURRENT = [[3.0, 2.0, -5.0, 4.0]]
SEED_BIAS = [1.0, 2.0, 3.0, 2.0]


def seed_params(dtype):
    return from_keras(
        np.array(SEED_KERNEL, dtype), np.array(SEED_RECURRENT, dtype), np.array(SEED_BIAS, dtype)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed_002_numbers(dtype):
    _, (h, c) = lstm_sequence(np.full((1, 1, 1), 2.0, dtype), seed_params(dtype))
    # The seed printed c = 0.7310586 and h = 0.61249435 (float32, TF 1.x).
    assert abs(c[0, 0] - 0.7310586) < 5e-8
    assert abs(h[0, 0] - 0.61249435) < 1e-7
    assert h.dtype == c.dtype == dtype


def test_seed_002_float64_rounds_to_the_printed_float32():
    _, (h, c) = lstm_sequence(np.full((1, 1, 1), 2.0), seed_params(np.float64))
    assert np.float32(h[0, 0]) == np.float32(0.61249435)
    assert np.float32(c[0, 0]) == np.float32(0.7310586)


def test_seed_002_against_keras_float32():
    params = seed_params(np.float32)
    X = np.full((1, 1, 1), 2.0, np.float32)
    outputs, state = lstm_sequence(X, params)
    outputs_k, state_k = run_keras_lstm(X, params)
    verify.compare(
        {"h": (state.h, state_k.h), "c": (state.c, state_k.c), "outputs": (outputs, outputs_k)},
        against="keras.layers.LSTM",
    )


shapes = st.tuples(
    st.integers(1, 4),  # N
    st.integers(1, 12),  # T
    st.integers(1, 6),  # D
    st.integers(1, 6),  # H
    st.integers(0, 2**32 - 1),  # seed
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(shape=shapes, use_bias=st.booleans(), zero_state=st.booleans())
def test_sequence_matches_keras(dtype, shape, use_bias, zero_state):
    N, T, D, H, seed = shape
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype, bias=use_bias)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = None if zero_state else random_state(rng, N, H, dtype)
    outputs, state = lstm_sequence(X, params, initial_state=state0)
    outputs_k, state_k = run_keras_lstm(X, params, initial_state=state0)
    assert outputs.dtype == state.h.dtype == state.c.dtype == dtype
    verify.compare(
        {"outputs": (outputs, outputs_k), "h": (state.h, state_k.h), "c": (state.c, state_k.c)},
        against="keras.layers.LSTM",
        tolerance=TOLERANCE[dtype],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_step_matches_keras_cell(dtype, rng):
    N, D, H = 3, 4, 5
    params = random_params(rng, D, H, dtype)
    x = rng.normal(size=(N, D)).astype(dtype)
    state0 = random_state(rng, N, H, dtype)
    cell = keras.layers.LSTMCell(H, dtype=np.dtype(dtype).name)
    cell.build((None, D))
    cell.set_weights(to_keras(params))
    h_k, (h_k2, c_k) = cell(x, [state0.h, state0.c])
    state = lstm_step(x, state0, params)
    verify.compare(
        {"h": (state.h, np.asarray(h_k)), "c": (state.c, np.asarray(c_k))},
        against="keras.layers.LSTMCell",
    )
    assert np.array_equal(np.asarray(h_k), np.asarray(h_k2))


def test_weights_round_trip_exactly(rng):
    params = random_params(rng, 3, 4)
    kernel, recurrent_kernel, bias = to_keras(params)
    back = from_keras(kernel, recurrent_kernel, bias)
    for name in ("W", "U", "b"):
        assert np.array_equal(getattr(back, name), getattr(params, name))


def test_keras_layer_round_trip(rng):
    params = random_params(rng, 3, 4)
    layer = keras.layers.LSTM(4, dtype="float64")
    layer.build((None, None, 3))
    layer.set_weights(to_keras(params))
    back = from_keras(*layer.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(to_keras(back), to_keras(params)))


@pytest.mark.parametrize("D, H", [(1, 1), (3, 2), (8, 16), (100, 64)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_count_params_matches_keras(D, H, use_bias):
    layer = keras.layers.LSTM(H, use_bias=use_bias)
    layer.build((None, None, D))
    assert count_params(D, H, use_bias) == layer.count_params()


def test_last_output_is_final_h(rng):
    params = random_params(rng, 2, 3)
    outputs, state = lstm_sequence(rng.normal(size=(2, 5, 2)), params)
    assert np.array_equal(outputs[:, -1], state.h)
