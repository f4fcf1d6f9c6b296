"""lstm_ref against Keras 3's LSTM layer, on the seed's numbers and random shapes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import random_params, random_sequence_problem, random_state, sequence_shapes
from lstm_ref import lstm_sequence, lstm_step, verify
from lstm_ref.conventions.keras import LSTM as KerasLSTM
from lstm_ref.conventions.keras import LSTMCell as KerasLSTMCell
from lstm_ref.conventions.keras import (count_params, from_keras, from_keras_layer, keras_config,
                                        to_keras)
from lstm_ref.frameworks.tensorflow import keras, keras_lstm, run_keras_lstm
from lstm_ref.seeds import SEED_002

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}

def seed_params(dtype):
    """Seed 002: one unit, one input, x = 2, zero initial state."""
    s = SEED_002
    return from_keras(s.kernel.astype(dtype), s.recurrent_kernel.astype(dtype), s.bias.astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed_002_numbers(dtype):
    _, (h, c) = lstm_sequence(np.full((1, 1, 1), 2.0, dtype), seed_params(dtype))
    # The seed printed c = 0.7310586 and h = 0.61249435 (float32, TF 1.x).
    assert abs(c[0, 0] - SEED_002.c_t) < 5e-8
    assert abs(h[0, 0] - SEED_002.h_t) < 1e-7
    assert h.dtype == c.dtype == dtype


def test_seed_002_float64_rounds_to_the_printed_float32():
    _, (h, c) = lstm_sequence(np.full((1, 1, 1), 2.0), seed_params(np.float64))
    assert np.float32(h[0, 0]) == np.float32(SEED_002.h_t)
    assert np.float32(c[0, 0]) == np.float32(SEED_002.c_t)


def test_seed_002_against_keras_float32():
    params = seed_params(np.float32)
    X = np.full((1, 1, 1), 2.0, np.float32)
    outputs, state = lstm_sequence(X, params)
    outputs_k, state_k = run_keras_lstm(X, params)
    verify.compare(
        {"h": (state.h, state_k.h), "c": (state.c, state_k.c), "outputs": (outputs, outputs_k)},
        against="keras.layers.LSTM",
    )


shapes = sequence_shapes(4, 12, 6, 6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(shape=shapes, use_bias=st.booleans(), zero_state=st.booleans())
def test_sequence_matches_keras(dtype, shape, use_bias, zero_state):
    _, params, X, state0 = random_sequence_problem(shape, dtype, use_bias, zero_state)
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


KERAS3_ACTIVATIONS = ["tanh", "relu", "softsign", "sigmoid", "linear", "swish"]


@given(seed=st.integers(0, 2**32 - 1), activation=st.sampled_from(KERAS3_ACTIVATIONS),
       recurrent_activation=st.sampled_from(["sigmoid", "hard_sigmoid", "tanh"]))
def test_activations_match_keras_3(seed, activation, recurrent_activation):
    rng = np.random.default_rng(seed)
    # Moderate weights keep unbounded activations (linear, relu) at magnitudes
    # where an absolute bar of 1e-12 means what it says.
    params = random_params(rng, 3, 4, scale=0.5)
    X = rng.normal(size=(2, 6, 3))
    config = keras_config(activation, recurrent_activation)
    outputs, state = lstm_sequence(X, params, config)
    outputs_k, state_k = run_keras_lstm(X, params, activation=activation,
                                        recurrent_activation=recurrent_activation)
    verify.compare({"outputs": (outputs, outputs_k), "c": (state.c, state_k.c)},
                   against=f"keras.layers.LSTM({activation}, {recurrent_activation})")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hard_sigmoid_keras_2_matches_tf_keras(dtype, rng):
    params = random_params(rng, 3, 4, dtype, scale=2.0)
    X = rng.normal(size=(2, 8, 3)).astype(dtype)
    outputs, state = lstm_sequence(X, params, keras_config(recurrent_activation="hard_sigmoid",
                                                           keras_version=2))
    outputs_k, state_k = run_keras_lstm(X, params, recurrent_activation="hard_sigmoid",
                                        keras_version=2)
    verify.compare({"outputs": (outputs, outputs_k), "c": (state.c, state_k.c)},
                   against="tf.keras.layers.LSTM (tf-keras)", tolerance=TOLERANCE[dtype])
    # ... and Keras 3's hard_sigmoid really is a different function:
    outputs_3, _ = lstm_sequence(X, params, keras_config(recurrent_activation="hard_sigmoid"))
    assert np.abs(outputs_3 - outputs).max() > 1e-3


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_mirror_layer_returns_what_keras_returns(return_sequences, return_state, rng):
    params = random_params(rng, 3, 4)
    X = rng.normal(size=(2, 5, 3))
    h0, c0 = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    ours = KerasLSTM(4, return_sequences=return_sequences, return_state=return_state)
    ours.set_weights(to_keras(params))
    theirs = keras_lstm(params, return_sequences=return_sequences, return_state=return_state)
    result, expected = ours(X, initial_state=[h0, c0]), theirs(X, initial_state=[h0, c0])
    if not return_state:
        result, expected = [result], [expected]
    assert len(result) == len(expected)
    verify.compare({f"result[{k}]": (a, np.asarray(b)) for k, (a, b) in
                    enumerate(zip(result, expected))}, against="keras.layers.LSTM")


def test_mirror_cell_returns_h_and_the_state_list(rng):
    params = random_params(rng, 3, 4)
    cell = KerasLSTMCell(4)
    cell.set_weights(to_keras(params))
    h, (h_again, c) = cell(rng.normal(size=(2, 3)), [np.zeros((2, 4)), np.zeros((2, 4))])
    assert h is h_again and c.shape == (2, 4)


@pytest.mark.parametrize("keras_version", [3, 2])
def test_from_keras_layer_reads_weights_and_options(keras_version, rng):
    params = random_params(rng, 3, 4)
    layer = keras_lstm(params, activation="softsign", recurrent_activation="hard_sigmoid",
                       keras_version=keras_version)
    read, config = from_keras_layer(layer)
    X = rng.normal(size=(2, 5, 3))
    outputs, _ = lstm_sequence(X, read, config)
    outputs_k = np.asarray(layer(X)[0])
    verify.compare({"outputs": (outputs, outputs_k)},
                   against=f"Keras {keras_version} layer read by from_keras_layer")


def test_use_bias_false_has_no_bias(rng):
    params = random_params(rng, 3, 4, bias=False)
    assert len(to_keras(params)) == 2
    layer = KerasLSTM(4, use_bias=False)
    with pytest.raises(ValueError, match=r"weights: expected 2 arrays \(kernel, recurrent_kernel\)"):
        layer.set_weights(to_keras(random_params(rng, 3, 4)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("unit_forget_bias", [True, False])
def test_build_reproduces_keras_seeded_initial_weights(dtype, unit_forget_bias):
    D, H, seed = 3, 5, 1234
    ours = KerasLSTM(H, unit_forget_bias=unit_forget_bias)
    ours.build(D, seed=seed, dtype=dtype)
    layer = keras.layers.LSTM(H, kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                              recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
                              unit_forget_bias=unit_forget_bias, dtype=dtype)
    layer.build((None, None, D))
    kernel, recurrent_kernel, bias = layer.get_weights()
    W, U, b = ours.get_weights()
    assert np.array_equal(W, kernel) and np.array_equal(b, bias)
    verify.compare({"recurrent_kernel": (U, recurrent_kernel)},
                   against="keras.initializers.Orthogonal (QR rounding)",
                   tolerance=1e-15 if dtype == "float64" else 4e-7)


# ---------------------------------------------------------------------------
# Wrong input to the mirrors: a clear error naming the argument


def test_mirror_cell_refuses_three_states(rng):
    cell = KerasLSTMCell(4)
    cell.set_weights(to_keras(random_params(rng, 3, 4)))
    states = [np.zeros((2, 4))] * 3
    with pytest.raises(TypeError, match=r"^states: expected a list \[h, c\] of two arrays, "
                                        r"got list of length 3$"):
        cell(rng.normal(size=(2, 3)), states)


@pytest.mark.parametrize("count", [5, 3, 7])
def test_bidirectional_set_weights_counts_all_arrays(count, rng):
    from lstm_ref.conventions.keras import Bidirectional

    layer = Bidirectional(KerasLSTM(4))
    weights = (to_keras(random_params(rng, 3, 4)) * 3)[:count]
    with pytest.raises(ValueError, match=r"^weights: expected 6 arrays \(kernel, recurrent_kernel, "
                                         rf"bias of the forward layer, .*\), got {count}$"):
        layer.set_weights(weights)
    assert layer.forward_layer.params is None  # nothing half set


def test_bidirectional_set_weights_without_bias(rng):
    from lstm_ref.conventions.keras import Bidirectional

    layer = Bidirectional(KerasLSTM(4, use_bias=False))
    with pytest.raises(ValueError, match=r"^weights: expected 4 arrays"):
        layer.set_weights(to_keras(random_params(rng, 3, 4)) * 2)
    layer.set_weights(to_keras(random_params(rng, 3, 4, bias=False)) * 2)
    assert len(layer.get_weights()) == 4


@pytest.mark.parametrize("return_sequences", [False, True])
def test_mirror_layer_refuses_an_empty_sequence(return_sequences, rng):
    """Keras's LSTM fails on T = 0 (a StridedSlice error); the mirror says why."""
    layer = KerasLSTM(4, return_sequences=return_sequences)
    layer.set_weights(to_keras(random_params(rng, 3, 4)))
    with pytest.raises(ValueError, match=r"^inputs: expected at least one time step.*got \(2, 0, 3\)"):
        layer(np.zeros((2, 0, 3)))


@pytest.mark.parametrize("units", [True, 2.0, 0, -1])
def test_units_must_be_a_positive_integer(units):
    with pytest.raises(ValueError, match=r"^units: expected a positive integer"):
        KerasLSTM(units)
