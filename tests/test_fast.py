"""The fast path against the readable path, Keras 3 and tf.GradientTape: results only, no timing.

Tolerances: outputs to 1e-12 in float64 and 1e-6 in float32, the book's
defaults. Gradients to 1e-12 in float64; in float32 to 1e-5 times the
larger of 1 and the gradient's largest magnitude (:func:`gradient_tolerance`):
a gradient sums products over N T steps and carries each step's rounding
through the steps before it, each rounded to 6e-8 relative, and the two
sides sum in different orders (one large multiply against one product per
step); the worst measured is 2.2e-6 of the magnitude (relu and hard sigmoid,
T = 23), while a wrong gate, sign or transpose gives errors of the order of
the gradient itself.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import (gradient_pairs, loss_gradients, random_params, random_sequence_problem,
                      random_state, sequence_shapes)
from lstm_ref import LSTMConfig, LSTMParams, LSTMState, lstm_sequence, verify
from lstm_ref.activations import hard_sigmoid_keras2, sigmoid
from lstm_ref.cell import step_values
from lstm_ref.conventions.keras import keras_config
from lstm_ref.fast import (FAST_GATE_ORDER, JACOBIAN_ORDER, STEP_ORDER, FastLSTM,
                           Workspace, check_fast_supported, lstm_sequence_fast)
from lstm_ref.frameworks.tensorflow import keras_lstm_gradients, run_keras_lstm
from lstm_ref.grad import Gradients, backward, derivative, forward

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}
DTYPES = [np.float64, np.float32]
READABLE = "lstm_ref.lstm_sequence (readable)"
# N, T, D, H at the edges the hypothesis sweeps reach only by chance.
EDGE_SHAPES = [
    (1, 1, 1, 1),  # one of everything
    (1, 200, 3, 1),  # batch 1, one unit, long-ish T
    (2, 300, 9, 4),  # D != H, long-ish T
    (3, 40, 2, 33),  # H > D, H not a multiple of the SIMD width
    (64, 5, 16, 8),  # a larger batch than units
]


def check_against_readable(X, params, config=LSTMConfig(), state0=None, dtype=np.float64):
    outputs, state = lstm_sequence_fast(X, params, config, state0)
    outputs_r, state_r = lstm_sequence(X, params, config, state0)
    assert outputs.dtype == state.h.dtype == state.c.dtype == params.dtype
    return verify.compare(
        {"outputs": (outputs, outputs_r), "h": (state.h, state_r.h), "c": (state.c, state_r.c)},
        against=READABLE, tolerance=TOLERANCE[dtype])


shapes = sequence_shapes(5, 30, 7, 7)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, use_bias=st.booleans(), zero_state=st.booleans())
def test_matches_readable_on_random_shapes(dtype, shape, use_bias, zero_state):
    rng, params, X, state0 = random_sequence_problem(shape, dtype, use_bias, zero_state)
    check_against_readable(X, params, state0=state0, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, T, D, H", EDGE_SHAPES)
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


shapes_keras = sequence_shapes(4, 40, 6, 6)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes_keras, use_bias=st.booleans(), zero_state=st.booleans())
def test_matches_keras_on_random_shapes(dtype, shape, use_bias, zero_state):
    rng, params, X, state0 = random_sequence_problem(shape, dtype, use_bias, zero_state)
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


def test_sigmoid_gates_are_negated_only_for_the_sigmoid(rng):
    params = random_params(rng, 2, 3)
    negated = FastLSTM(params).U
    plain = FastLSTM(params, LSTMConfig(recurrent_activation="hard_sigmoid")).U
    np.testing.assert_array_equal(-negated[:3], plain[:3])  # i, f, o
    np.testing.assert_array_equal(negated[3], plain[3])  # g
    np.testing.assert_array_equal(plain[2], np.split(params.U, 4, axis=1)[3])  # o is third


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", [LSTMConfig(forget_bias=0.5), LSTMConfig(cell_clip=0.4),
                                    LSTMConfig(activation="relu",
                                               recurrent_activation="hard_sigmoid")],
                         ids=["forget-bias", "cell-clip", "relu-hard-sigmoid"])
def test_cache_holds_every_steps_jacobians(dtype, config, rng):
    """Each step's elementwise derivatives, from lstm_ref.cell.step_values and grad.derivative."""
    N, T, D, H = 3, 7, 4, 5
    # Weights large enough for cell_clip to act; relu's outputs grow with them.
    params = random_params(rng, D, H, dtype, scale=1.5 if config.cell_clip else 0.5)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state = random_state(rng, N, H, dtype)
    fast = FastLSTM(params, config)
    fast.CHUNK_BYTES = 1  # one step per chunk; test_chunks_do_not_change_the_result
    outputs, final, cache = fast.forward(X, state)
    assert cache.jacobians.shape == (T, 6, N, H) and cache.hidden.shape == (T + 1, N, H)
    sigma_prime = derivative(config.recurrent_activation_fn)
    phi_prime = derivative(config.activation_fn)
    pairs, clipped = {}, 0
    for t in range(T):
        v = step_values(X[:, t], state, params, config)
        passes = np.ones_like(v.c)
        if config.cell_clip is not None:
            passes = (np.abs(v.f * state.c + v.i * v.g) <= config.cell_clip).astype(dtype)
            clipped += int((passes == 0).sum())
        phi_c = config.activation_fn(v.c)
        expected = {"i": v.g * sigma_prime(v.i) * passes,
                    "f": state.c * sigma_prime(v.f) * passes,
                    "o": phi_c * sigma_prime(v.o), "g": v.i * phi_prime(v.g) * passes,
                    "c": v.o * phi_prime(phi_c), "c_prev": v.f * passes}
        for n, name in enumerate(JACOBIAN_ORDER):
            pairs[f"{name}[t={t}]"] = (cache.jacobians[t, n], expected[name])
        pairs[f"h[t={t}]"] = (cache.hidden[t + 1], v.h)
        state = LSTMState(v.h, v.c)
    pairs["final h"], pairs["final c"] = (final.h, state.h), (final.c, state.c)
    verify.compare(pairs, against="lstm_ref.cell.step_values", tolerance=TOLERANCE[dtype])
    assert clipped > 0 or config.cell_clip is None
    np.testing.assert_array_equal(outputs, fast(X, cache.initial_state)[0])


def test_cache_orders(rng):
    assert FAST_GATE_ORDER == ("i", "f", "o", "g")
    assert STEP_ORDER == ("i", "f", "o", "g", "phi_c", "c")
    assert JACOBIAN_ORDER == ("i", "f", "o", "g", "c", "c_prev")
    params = random_params(rng, 2, 3)
    X = rng.normal(size=(1, 2, 2))
    _, _, cache = FastLSTM(params).forward(X)
    assert cache.inputs.shape == (2, 1, 3)  # time-major, a column of ones for the bias
    np.testing.assert_array_equal(cache.inputs[..., :2], X.transpose(1, 0, 2))
    np.testing.assert_array_equal(cache.inputs[..., 2], 1)


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


# ---------------------------------------------------------------------------
# Backpropagation through time


def gradient_tolerance(dtype, reference: Gradients) -> float:
    """1e-12 in float64; in float32 1e-5 of the largest gradient (at least 1), see above."""
    if dtype == np.float64:
        return 1e-12
    arrays = [reference.d_X, *reference.d_initial_state, *reference.d_params.arrays().values()]
    return 1e-5 * max([1.0] + [float(np.abs(a).max()) for a in arrays if a.size])


def fast_gradients(X, params, config, state0, d_outputs, d_final):
    fast = FastLSTM(params, config)
    outputs, _, cache = fast.forward(X, state0)
    return fast.backward(d_outputs, cache, d_final)


def check_gradients_against_readable(X, params, config=LSTMConfig(), state0=None,
                                     d_final=True, rng=None, dtype=np.float64):
    rng = rng or np.random.default_rng(0)
    N, T, _ = X.shape
    H = params.hidden_size
    d_outputs = rng.normal(size=(N, T, H)).astype(dtype)
    d_final = random_state(rng, N, H, dtype) if d_final else None
    ours = fast_gradients(X, params, config, state0, d_outputs, d_final)
    readable = backward(d_outputs, forward(X, params, config, state0)[2], d_final)
    assert ours.d_X.dtype == ours.d_params.W.dtype == ours.d_initial_state.c.dtype == dtype
    assert ours.d_states is None
    return verify.compare(gradient_pairs(ours, readable), against="lstm_ref.grad.backward",
                          tolerance=gradient_tolerance(dtype, readable))


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, use_bias=st.booleans(), zero_state=st.booleans(),
       final_state=st.booleans())
def test_backward_matches_readable_on_random_shapes(dtype, shape, use_bias, zero_state,
                                                    final_state):
    rng, params, X, state0 = random_sequence_problem(shape, dtype, use_bias, zero_state)
    check_gradients_against_readable(X, params, state0=state0, d_final=final_state, rng=rng,
                                     dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, T, D, H", EDGE_SHAPES)
def test_backward_matches_readable_on_edge_shapes(dtype, N, T, D, H, rng):
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    check_gradients_against_readable(X, params, state0=random_state(rng, N, H, dtype), rng=rng,
                                     dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", [
    LSTMConfig(forget_bias=1.0, cell_clip=0.5),  # TF 1.x's options; clipping on
    LSTMConfig(activation="relu", recurrent_activation="hard_sigmoid"),
    LSTMConfig(activation="softsign", recurrent_activation="tanh"),
    LSTMConfig(activation="linear", recurrent_activation="sigmoid"),
    LSTMConfig(activation="tanh", recurrent_activation=hard_sigmoid_keras2),
    LSTMConfig(activation="softplus", recurrent_activation="sigmoid", proj_clip=0.1),
], ids=["forget-bias-clip", "relu", "softsign", "linear", "keras2", "softplus"])
def test_backward_options_match_readable(dtype, config, rng):
    # Weights large enough for cell_clip to act; relu's gradients grow with them.
    params = random_params(rng, 3, 5, dtype, scale=1.5 if config.cell_clip else 0.5)
    X = rng.normal(size=(4, 25, 3)).astype(dtype)
    check_gradients_against_readable(X, params, config, random_state(rng, 4, 5, dtype),
                                     rng=rng, dtype=dtype)


def test_chunks_do_not_change_the_result(rng):
    """The Jacobians are elementwise: any chunk size gives the same bits."""
    params = random_params(rng, 3, 4)
    X, d_outputs = rng.normal(size=(2, 30, 3)), rng.normal(size=(2, 30, 4))
    results = []
    for chunk_bytes in (1, 500, 10**9):  # one step per chunk, a few, all T at once
        fast = FastLSTM(params, LSTMConfig(cell_clip=0.3))
        fast.CHUNK_BYTES = chunk_bytes
        results.append(fast.backward(d_outputs, fast.forward(X)[2]))
    for other in results[1:]:
        for name, (a, b) in gradient_pairs(other, results[0]).items():
            np.testing.assert_array_equal(a, b, err_msg=name)


shapes_tape = sequence_shapes(4, 12, 5, 5)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=15)
@given(shape=shapes_tape, use_bias=st.booleans(), zero_state=st.booleans(),
       final_state=st.booleans())
def test_backward_matches_gradient_tape(dtype, shape, use_bias, zero_state, final_state):
    N, T, _, H, _ = shape
    rng, params, X, state0 = random_sequence_problem(shape, dtype, use_bias, zero_state)
    d_outputs, d_final = loss_gradients(rng, N, T, H, H, dtype, final_state)
    ours = fast_gradients(X, params, LSTMConfig(), state0, d_outputs, d_final)
    tape = keras_lstm_gradients(X, params, d_outputs, state0, d_final)
    verify.compare(gradient_pairs(ours, tape), against="tf.GradientTape, keras.layers.LSTM",
                   tolerance=gradient_tolerance(dtype, tape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation, recurrent_activation", [
    ("relu", "hard_sigmoid"), ("softsign", "sigmoid"), ("tanh", "tanh")])
def test_backward_other_activations_match_gradient_tape(dtype, activation,
                                                        recurrent_activation, rng):
    N, T, D, H = 3, 30, 4, 5
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = random_state(rng, N, H, dtype)
    d_outputs = rng.normal(size=(N, T, H)).astype(dtype)
    d_final = random_state(rng, N, H, dtype)
    config = keras_config(activation, recurrent_activation)
    ours = fast_gradients(X, params, config, state0, d_outputs, d_final)
    tape = keras_lstm_gradients(X, params, d_outputs, state0, d_final, activation=activation,
                                recurrent_activation=recurrent_activation)
    verify.compare(gradient_pairs(ours, tape), against="tf.GradientTape, keras.layers.LSTM",
                   tolerance=gradient_tolerance(dtype, tape))


def test_backward_of_zero_steps_passes_the_final_state_back(rng):
    params = random_params(rng, 3, 2)
    d_final = random_state(rng, 4, 2)
    grads = fast_gradients(np.zeros((4, 0, 3)), params, LSTMConfig(), None,
                           np.zeros((4, 0, 2)), d_final)
    readable = backward(np.zeros((4, 0, 2)), forward(np.zeros((4, 0, 3)), params)[2], d_final)
    assert grads.d_X.shape == (4, 0, 3)
    verify.compare(gradient_pairs(grads, readable), against="lstm_ref.grad.backward",
                   tolerance=0.0)


def test_backward_keeps_float32_and_every_result_its_own(rng):
    """Without a workspace, no pass overwrites a result the caller still holds."""
    params = random_params(rng, 3, 4, np.float32)
    X = [rng.normal(size=(2, 6, 3)).astype(np.float32) for _ in range(3)]
    d_outputs = rng.normal(size=(2, 6, 4)).astype(np.float32)
    fast = FastLSTM(params)
    caches = [fast.forward(x)[2] for x in X]  # three caches alive at once
    held = [fast.backward(d_outputs, cache) for cache in caches]
    copies = [{k: (a.copy(), b) for k, (a, b) in gradient_pairs(g, g).items()} for g in held]
    for _ in range(3):  # more calls, results dropped: their buffers get reused
        fast.backward(d_outputs, fast.forward(X[0])[2])
    for grads, saved in zip(held, copies):
        assert grads.d_params.W.dtype == np.float32
        for name, (a, _) in gradient_pairs(grads, grads).items():
            np.testing.assert_array_equal(a, saved[name][0], err_msg=name)
    again = fast.backward(d_outputs, caches[1])  # an old cache is still good
    np.testing.assert_array_equal(again.d_params.U, held[1].d_params.U)
    assert not np.shares_memory(again.d_X, held[1].d_X)


def test_workspace_gives_the_same_results_in_reused_memory(rng):
    """A pass given a Workspace writes into its arrays, as stated: the same numbers,
    the same memory from call to call, and the backward pass never over the cache it reads."""
    params = random_params(rng, 3, 4)
    X, d_outputs = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6, 4))
    fast, workspace = FastLSTM(params), Workspace()
    outputs, state, cache = fast.forward(X)
    grads = fast.backward(d_outputs, cache)
    for _ in range(2):  # the second round reuses the first round's memory
        outputs_ws, state_ws, cache_ws = fast.forward(X, workspace=workspace)
        grads_ws = fast.backward(d_outputs, cache_ws, workspace=workspace)
        np.testing.assert_array_equal(outputs_ws, outputs)
        np.testing.assert_array_equal(state_ws.c, state.c)
        np.testing.assert_array_equal(cache_ws.jacobians, cache.jacobians)
        for name, (a, b) in gradient_pairs(grads_ws, grads).items():
            np.testing.assert_array_equal(a, b, err_msg=name)
        if _ == 0:
            first_outputs, first_d_X = outputs_ws, grads_ws.d_X
    assert np.shares_memory(outputs_ws, first_outputs)
    assert np.shares_memory(grads_ws.d_X, first_d_X)
    for array in (cache_ws.jacobians, cache_ws.hidden, cache_ws.inputs):
        assert not np.shares_memory(array, grads_ws.d_X)
    np.testing.assert_array_equal(fast(X, workspace=workspace)[0], outputs)
    assert not np.shares_memory(fast(X)[0], outputs_ws)  # no workspace: arrays of its own


def test_workspace_arrays_by_role_shape_and_dtype():
    workspace = Workspace()
    a = workspace.empty("hidden", (3, 4), np.float32)
    assert a.shape == (3, 4) and a.dtype == np.float32
    assert workspace.empty("hidden", (3, 4), np.float32) is a
    assert workspace.empty("d_Z", (3, 4), np.float32) is not a  # another role
    assert workspace.empty("hidden", (3, 4), np.float64).dtype == np.float64  # made again
    assert workspace.empty("hidden", (2, 4), np.float64).shape == (2, 4)
    with pytest.raises(TypeError, match=r"workspace: expected an lstm_ref.fast.Workspace or None, "
                                         r"got dict"):
        FastLSTM(random_params(np.random.default_rng(0), 3, 2))(np.zeros((1, 2, 3)), workspace={})


def test_backward_refuses_what_the_readable_backward_refuses(rng):
    params = random_params(rng, 3, 2)
    X = rng.normal(size=(4, 5, 3))
    fast = FastLSTM(params)
    _, _, cache = fast.forward(X)
    _, _, readable_cache = forward(X, params)
    nan = np.zeros((4, 5, 2))
    nan[0, 1, 1] = np.nan
    bad = [(np.zeros((4, 5, 3)), None), (np.zeros((4, 5, 2), np.float32), None), (nan, None),
           (np.zeros((4, 5, 2)), LSTMState(np.zeros((4, 3)), np.zeros((4, 2)))),
           (np.zeros((4, 5, 2)), np.zeros((4, 2)))]
    for d_outputs, d_final in bad:
        with pytest.raises((ValueError, TypeError)) as readable:
            backward(d_outputs, readable_cache, d_final)
        with pytest.raises(type(readable.value)) as ours:
            fast.backward(d_outputs, cache, d_final)
        assert str(ours.value) == str(readable.value)


def test_backward_refuses_a_cache_from_elsewhere(rng):
    params = random_params(rng, 3, 2)
    X, d_outputs = rng.normal(size=(4, 5, 3)), np.zeros((4, 5, 2))
    with pytest.raises(TypeError, match=r"^cache: expected a FastCache from FastLSTM.forward, "
                                        "got ForwardCache"):
        FastLSTM(params).backward(d_outputs, forward(X, params)[2])
    with pytest.raises(ValueError, match=r"^cache: made by another FastLSTM's forward"):
        FastLSTM(params).backward(d_outputs, FastLSTM(params).forward(X)[2])


def test_forward_with_a_cache_refuses_what_backward_cannot_differentiate(rng):
    params = random_params(rng, 3, 2)
    config = LSTMConfig(activation="swish")
    X = rng.normal(size=(1, 2, 3))
    with pytest.raises(ValueError) as readable:
        forward(X, params, config)
    with pytest.raises(ValueError) as ours:
        FastLSTM(params, config).forward(X)
    assert str(ours.value) == str(readable.value)
    lstm_sequence_fast(X, params, config)  # the forward pass alone computes it


# ---------------------------------------------------------------------------
# Nearly closed gates, weights changed in place, empty batches


@pytest.mark.parametrize("dtype", DTYPES)
def test_tiny_gates_are_accurate_in_relative_terms(dtype):
    """σ(z) for z down to the dtype's smallest normal σ: to a few units in the last
    place, relative, as lstm_ref.activations.sigmoid and tf.sigmoid are."""
    from lstm_ref.frameworks.tensorflow import tf

    lowest = {np.float32: -87.0, np.float64: -708.0}[dtype]
    z = np.concatenate([np.linspace(lowest, 40, 4001), [-10.0, -40.0]]).astype(dtype)
    H = z.size
    # One step from a zero state with W = 0: the pre-activations are the bias.
    b = np.concatenate([z, z, np.zeros(H), z]).astype(dtype)  # i, f, g, o
    params = LSTMParams(W=np.zeros((1, 4 * H), dtype), U=np.zeros((H, 4 * H), dtype), b=b)
    X = np.zeros((1, 1, 1), dtype)
    state = LSTMState(np.zeros((1, H), dtype), np.ones((1, H), dtype))
    c_fast = FastLSTM(params)(X, state)[1].c[0]  # c_1 = f ⊙ 1 + i ⊙ tanh(0) = σ(z_f)
    sigma_ref = np.asarray(tf.sigmoid(z.astype(np.float64))).astype(dtype)
    sigma_ours = sigmoid(z)
    eps = np.finfo(dtype).eps
    for name, value in (("fast path", c_fast), ("lstm_ref.activations.sigmoid", sigma_ours)):
        relative = np.abs(value - sigma_ref) / sigma_ref
        assert relative.max() <= 8 * eps, (name, float(relative.max()))


def test_gradient_through_a_nearly_closed_forget_gate():
    """σ(-40) = 4.2e-18: the forget gate is nearly closed, and the gradient that
    reaches c_0 through it must not vanish on the fast path (it did when σ was
    computed as (1 + tanh(z/2)) / 2, which rounds to 0 there)."""
    H, T = 2, 1
    b = np.array([0.0, 0.0, -40.0, -40.0, 0.0, 0.0, 0.0, 0.0])  # i, f (closed), g, o
    params = LSTMParams(W=np.zeros((1, 4 * H)), U=np.zeros((H, 4 * H)), b=b)
    X = np.zeros((1, T, 1))
    state = LSTMState(np.zeros((1, H)), np.ones((1, H)))
    d_final = LSTMState(np.zeros((1, H)), np.full((1, H), 1e18))
    fast = FastLSTM(params)
    outputs, _, cache = fast.forward(X, state)
    grads = fast.backward(np.zeros_like(outputs), cache, d_final)
    outputs_r, _, cache_r = forward(X, params, initial_state=state)
    readable = backward(np.zeros_like(outputs_r), cache_r, d_final)
    assert readable.d_initial_state.c[0, 0] > 4.0  # 1e18 ⋅ σ(-40)
    rel = np.abs(grads.d_initial_state.c - readable.d_initial_state.c) / readable.d_initial_state.c
    assert rel.max() < 1e-14


def test_weights_are_copied_when_the_object_is_made(rng):
    """Changing the caller's params in place changes neither pass: forward and
    backward always use the same weights, those of construction."""
    params = random_params(rng, 3, 4)
    original = params.astype(params.dtype)
    X, d_outputs = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 4))
    fast = FastLSTM(params)
    outputs, _, cache = fast.forward(X)
    for array in params.arrays().values():
        array += 1.0  # e.g. an optimizer's step, in place
    grads = fast.backward(d_outputs, cache)
    outputs_r, _, cache_r = forward(X, original)
    readable = backward(d_outputs, cache_r)
    pairs = {"outputs": (outputs, outputs_r), **gradient_pairs(grads, readable)}
    pairs["outputs again"] = (fast(X)[0], outputs_r)
    verify.compare(pairs, against="lstm_ref.grad with the weights of construction")


def test_empty_batch(rng):
    params = random_params(rng, 3, 4)
    fast = FastLSTM(params)
    X = np.zeros((0, 5, 3))
    outputs, (h, c), cache = fast.forward(X)
    assert outputs.shape == (0, 5, 4) and h.shape == c.shape == (0, 4)
    grads = fast.backward(np.zeros_like(outputs), cache)
    assert grads.d_X.shape == (0, 5, 3)
    assert not grads.d_params.W.any() and not grads.d_params.U.any() and not grads.d_params.b.any()
