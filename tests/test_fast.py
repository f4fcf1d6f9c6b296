"""The fast path against the readable path and against Keras 3: results only, no timing."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import random_params, random_state
from lstm_ref import LSTMConfig, LSTMParams, LSTMState, lstm_sequence, verify
from lstm_ref.cell import step_values
from lstm_ref.conventions.keras import keras_config
from lstm_ref.fast import FAST_GATE_ORDER, FastLSTM, check_fast_supported, lstm_sequence_fast
from lstm_ref.frameworks import run_keras_lstm

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}
DTYPES = [np.float64, np.float32]
READABLE = "lstm_ref.lstm_sequence (readable)"


def check_against_readable(X, params, config=LSTMConfig(), state0=None, dtype=np.float64):
    outputs, state = lstm_sequence_fast(X, params, config, state0)
    outputs_r, state_r = lstm_sequence(X, params, config, state0)
    assert outputs.dtype == state.h.dtype == state.c.dtype == params.dtype
    return verify.compare(
        {"outputs": (outputs, outputs_r), "h": (state.h, state_r.h), "c": (state.c, state_r.c)},
        against=READABLE, tolerance=TOLERANCE[dtype])


shapes = st.tuples(
    st.integers(1, 5),  # N
    st.integers(1, 30),  # T
    st.integers(1, 7),  # D
    st.integers(1, 7),  # H
    st.integers(0, 2**32 - 1),  # seed
)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, use_bias=st.booleans(), zero_state=st.booleans())
def test_matches_readable_on_random_shapes(dtype, shape, use_bias, zero_state):
    N, T, D, H, seed = shape
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype, bias=use_bias)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = None if zero_state else random_state(rng, N, H, dtype)
    check_against_readable(X, params, state0=state0, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, T, D, H", [
    (1, 1, 1, 1),  # one of everything
    (1, 200, 3, 1),  # batch 1, one unit, long-ish T
    (2, 300, 9, 4),  # D != H, long-ish T
    (3, 40, 2, 33),  # H > D, H not a multiple of the SIMD width
    (64, 5, 16, 8),  # a larger batch than units
])
def test_matches_readable_on_edge_shapes(dtype, N, T, D, H, rng):
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    check_against_readable(X, params, state0=random_state(rng, N, H, dtype), dtype=dtype)


@pytest.mark.parametrize("activation", ["tanh", "relu", "softsign", "linear", "swish"])
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid", "tanh"])
def test_every_activation_matches_readable(activation, recurrent_activation, rng):
    params = random_params(rng, 3, 4)
    config = LSTMConfig(activation=activation, recurrent_activation=recurrent_activation)
    X = rng.normal(size=(2, 12, 3))
    check_against_readable(X, params, config, random_state(rng, 2, 4))


def test_a_function_of_your_own_as_activation(rng):
    config = LSTMConfig(activation=np.arctan, recurrent_activation=lambda z: 0.5 * np.tanh(z) + 0.5)
    check_against_readable(rng.normal(size=(2, 9, 3)), random_params(rng, 3, 4), config)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("use_bias", [True, False])
def test_forget_bias_and_cell_clip(dtype, use_bias, rng):
    """TF 1.x's options: forget_bias folded into the bias, cell_clip in place."""
    params = random_params(rng, 3, 5, dtype, bias=use_bias, scale=1.5)
    config = LSTMConfig(forget_bias=1.0, cell_clip=0.5)
    X = rng.normal(size=(4, 25, 3)).astype(dtype)
    check_against_readable(X, params, config, random_state(rng, 4, 5, dtype), dtype=dtype)
    _, state = lstm_sequence_fast(X, params, config)
    assert np.abs(state.c).max() <= 0.5


def test_proj_clip_without_projection_is_ignored_as_in_the_readable_path(rng):
    params = random_params(rng, 3, 4)
    check_against_readable(rng.normal(size=(2, 6, 3)), params, LSTMConfig(proj_clip=0.1))


shapes_keras = st.tuples(
    st.integers(1, 4),  # N
    st.integers(1, 40),  # T
    st.integers(1, 6),  # D
    st.integers(1, 6),  # H
    st.integers(0, 2**32 - 1),  # seed
)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes_keras, use_bias=st.booleans(), zero_state=st.booleans())
def test_matches_keras_on_random_shapes(dtype, shape, use_bias, zero_state):
    N, T, D, H, seed = shape
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype, bias=use_bias)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = None if zero_state else random_state(rng, N, H, dtype)
    outputs, state = lstm_sequence_fast(X, params, initial_state=state0)
    outputs_k, state_k = run_keras_lstm(X, params, initial_state=state0)
    verify.compare(
        {"outputs": (outputs, outputs_k), "h": (state.h, state_k.h), "c": (state.c, state_k.c)},
        against="keras.layers.LSTM", tolerance=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, T, D, H", [(1, 120, 1, 1), (3, 150, 5, 2), (8, 60, 16, 32)])
def test_matches_keras_on_long_sequences(dtype, N, T, D, H, rng):
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    outputs, state = lstm_sequence_fast(X, params)
    outputs_k, state_k = run_keras_lstm(X, params)
    verify.compare({"outputs": (outputs, outputs_k), "c": (state.c, state_k.c)},
                   against="keras.layers.LSTM", tolerance=TOLERANCE[dtype])


@pytest.mark.parametrize("activation, recurrent_activation", [
    ("tanh", "hard_sigmoid"), ("relu", "sigmoid"), ("softsign", "tanh")])
def test_keras_activations_match_keras(activation, recurrent_activation, rng):
    params = random_params(rng, 3, 4)
    X = rng.normal(size=(2, 15, 3))
    config = keras_config(activation, recurrent_activation)
    outputs, _ = lstm_sequence_fast(X, params, config)
    outputs_k, _ = run_keras_lstm(X, params, activation=activation,
                                  recurrent_activation=recurrent_activation)
    verify.compare({"outputs": (outputs, outputs_k)},
                   against=f"keras.layers.LSTM({activation}, {recurrent_activation})")


# ---------------------------------------------------------------------------
# The prepared weights and the cache


@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
def test_internal_layout_converts_back_exactly(recurrent_activation, rng):
    params = random_params(rng, 3, 5, np.float32)
    fast = FastLSTM(params, LSTMConfig(recurrent_activation=recurrent_activation))
    assert fast.W.shape == (4, 3, 5) and fast.U.shape == (4, 5, 5) and fast.b.shape == (4, 1, 5)
    verify.compare({"W": (fast.to_canonical(fast.W), params.W),
                    "U": (fast.to_canonical(fast.U), params.U),
                    "b": (fast.to_canonical(fast.b)[0], params.b)},
                   against="the canonical parameters", tolerance=0.0)


def test_sigmoid_gates_are_halved_only_for_the_sigmoid(rng):
    params = random_params(rng, 2, 3)
    halved = FastLSTM(params).U
    plain = FastLSTM(params, LSTMConfig(recurrent_activation="hard_sigmoid")).U
    np.testing.assert_array_equal(halved[:3] * 2, plain[:3])  # i, f, o
    np.testing.assert_array_equal(halved[3], plain[3])  # g
    np.testing.assert_array_equal(plain[2], np.split(params.U, 4, axis=1)[3])  # o is third


@pytest.mark.parametrize("dtype", DTYPES)
def test_cache_holds_every_step_of_the_readable_cell(dtype, rng):
    N, T, D, H = 3, 7, 4, 5
    params = random_params(rng, D, H, dtype)
    config = LSTMConfig(forget_bias=0.5)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state = random_state(rng, N, H, dtype)
    outputs, final, cache = FastLSTM(params, config).forward(X, state)
    assert cache.gates.shape == (T, 4, N, H) and cache.cells.shape == (T, N, H)
    pairs = {}
    for t in range(T):
        values = step_values(X[:, t], state, params, config)
        for name in ("i", "f", "g", "o", "c", "h"):
            pairs[f"{name}[t={t}]"] = (cache.stacked(name)[:, t], getattr(values, name))
        state = LSTMState(values.h, values.c)
    pairs["final h"], pairs["final c"] = (final.h, state.h), (final.c, state.c)
    verify.compare(pairs, against="lstm_ref.cell.step_values", tolerance=TOLERANCE[dtype])
    np.testing.assert_array_equal(outputs, FastLSTM(params, config)(X, cache.initial_state)[0])


def test_cache_names(rng):
    params = random_params(rng, 2, 3)
    _, _, cache = FastLSTM(params).forward(rng.normal(size=(1, 2, 2)))
    assert FAST_GATE_ORDER == ("i", "f", "o", "g")
    with pytest.raises(ValueError, match=r"^name: expected one of i, f, g, o, c, h, got 'z'"):
        cache.stacked("z")


# ---------------------------------------------------------------------------
# Inputs: same checks, same errors, nothing modified


def test_zero_time_steps_return_the_initial_state(rng):
    params = random_params(rng, 3, 2)
    state0 = random_state(rng, 4, 2)
    outputs, state = lstm_sequence_fast(np.zeros((4, 0, 3)), params, initial_state=state0)
    outputs_r, state_r = lstm_sequence(np.zeros((4, 0, 3)), params, initial_state=state0)
    assert outputs.shape == outputs_r.shape == (4, 0, 2)
    np.testing.assert_array_equal(state.h, state0.h)
    np.testing.assert_array_equal(state.c, state_r.c)


def test_inputs_are_not_modified_and_results_not_shared(rng):
    params = random_params(rng, 3, 4)
    X = rng.normal(size=(2, 5, 3))
    state0 = random_state(rng, 2, 4)
    copies = [a.copy() for a in (X, state0.h, state0.c, params.W, params.U, params.b)]
    fast = FastLSTM(params)
    first, state = fast(X, state0)
    for original, copy in zip((X, state0.h, state0.c, params.W, params.U, params.b), copies):
        np.testing.assert_array_equal(original, copy)
    second, _ = fast(X, state0)
    first_copy = first.copy()
    second[...] = 0
    state.c[...] = 0
    np.testing.assert_array_equal(first, first_copy)
    assert not np.shares_memory(first[:, -1], state.h)


def test_float32_stays_float32_without_casting(rng):
    params = random_params(rng, 3, 4, np.float32)
    X = rng.normal(size=(2, 5, 3)).astype(np.float32)
    outputs, state = lstm_sequence_fast(X, params)
    assert outputs.dtype == state.h.dtype == state.c.dtype == np.float32
    with pytest.raises(TypeError, match=r"^X: expected dtype float32 \(the dtype of the weights\)"):
        lstm_sequence_fast(X.astype(np.float64), params)


def _bad_inputs(rng):
    """(name, X, initial_state) triples that the readable path refuses."""
    good_state = random_state(rng, 4, 2)
    nan_X = np.zeros((4, 5, 3))
    nan_X[1, 2, 0] = np.nan
    return [
        ("rank", np.zeros((4, 3)), None),
        ("feature size", np.zeros((4, 5, 2)), None),
        ("dtype", np.zeros((4, 5, 3), np.float32), None),
        ("integers", np.zeros((4, 5, 3), int), None),
        ("NaN", nan_X, None),
        ("state batch", np.zeros((3, 5, 3)), good_state),
        ("state shape", np.zeros((4, 5, 3)), LSTMState(np.zeros((4, 3)), good_state.c)),
        ("state dtype", np.zeros((4, 5, 3)), LSTMState(good_state.h.astype(np.float32),
                                                       good_state.c)),
        ("state not a pair", np.zeros((4, 5, 3)), np.zeros((4, 2))),
        ("state inf", np.zeros((4, 5, 3)), LSTMState(good_state.h, good_state.c + np.inf)),
    ]


def test_bad_input_gets_the_readable_paths_error(rng):
    params = random_params(rng, 3, 2)
    for name, X, state0 in _bad_inputs(rng):
        with pytest.raises((ValueError, TypeError)) as readable:
            lstm_sequence(X, params, initial_state=state0)
        with pytest.raises(type(readable.value)) as fast:
            lstm_sequence_fast(X, params, initial_state=state0)
        assert str(fast.value) == str(readable.value), name


@pytest.mark.parametrize("name, value, what", [
    ("p_i", "H", "a peephole"), ("p_f", "H", "a peephole"), ("p_o", "H", "a peephole"),
    ("V_o", "HH", "a full-matrix output peephole"), ("W_proj", "HP", "a projection"),
])
def test_refuses_what_it_does_not_compute(name, value, what, rng):
    H, P = 3, 2
    shapes = {"H": (H,), "HH": (H, H), "HP": (H, P)}
    params = random_params(rng, 2, H)
    U = rng.normal(size=(P, 4 * H)) if name == "W_proj" else params.U
    bad = LSTMParams(W=params.W, U=U, b=params.b, **{name: rng.normal(size=shapes[value])})
    message = f"^params.{name}: the fast path does not compute {what}"
    with pytest.raises(ValueError, match=message):
        lstm_sequence_fast(rng.normal(size=(1, 2, 2)), bad)
    with pytest.raises(ValueError, match=message):
        check_fast_supported(bad, LSTMConfig())


def test_refuses_layer_norm(rng):
    params = random_params(rng, 2, 3)
    ones, zeros = np.ones(12), np.zeros(12)
    bad = LSTMParams(W=params.W, U=params.U, gamma=ones, beta=zeros,
                     gamma_c=ones[:3], beta_c=zeros[:3])
    with pytest.raises(ValueError, match=r"^params.gamma: the fast path does not compute "
                                         "layer normalization"):
        FastLSTM(bad)


def test_refuses_wrong_argument_types(rng):
    params = random_params(rng, 2, 3)
    with pytest.raises(TypeError, match=r"^params: expected LSTMParams, got tuple"):
        FastLSTM((params.W, params.U))
    with pytest.raises(TypeError, match=r"^config: expected LSTMConfig, got str"):
        FastLSTM(params, "tanh")
