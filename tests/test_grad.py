"""Backpropagation through time: lstm_ref.grad against tf.GradientTape and finite differences.

Tolerances: float64 gradients are held to the book's default 1e-12. float32
gradients to 1e-5: each is a sum over the N T steps of products of float32
numbers (each rounded to 6e-8 relative), TensorFlow sums in another order,
and gradients here reach magnitudes of 10-100; the worst measured is a few
times 1e-6. Central differences in float64 with a step of 1e-6 have a
truncation error of order 1e-12 times the third derivative and a rounding
error of order 1e-16 / 1e-6: they are held to 1e-7.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import (gradient_pairs, loss_gradients, random_params, random_sequence_problem,
                      random_state, sequence_shapes)
from lstm_ref import LSTMConfig, LSTMParams, LSTMState, lstm_sequence, verify
from lstm_ref.activations import swish
from lstm_ref.conventions import tf1
from lstm_ref.frameworks.tensorflow import (keras_lstm_gradients, keras_simple_rnn,
                                 keras_simple_rnn_gradients, tf1_cell_gradients)
from lstm_ref.grad import (backward, backward_step, check_supported, derivative,
                           forward)
from lstm_ref.models.plain_rnn import RNNParams, rnn_backward, rnn_sequence

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}
FD_TOLERANCE = 1e-7
DTYPES = [np.float64, np.float32]

sizes = sequence_shapes(4, 8, 5, 5)


# ---------------------------------------------------------------------------
# The forward pass


@pytest.mark.parametrize("dtype", DTYPES)
@given(sizes=sizes)
def test_forward_equals_lstm_sequence(dtype, sizes):
    _, params, X, state0 = random_sequence_problem(sizes, dtype)
    outputs, state, cache = forward(X, params, initial_state=state0)
    outputs_ref, state_ref = lstm_sequence(X, params, initial_state=state0)
    verify.compare({"outputs": (outputs, outputs_ref), "h_T": (state.h, state_ref.h),
                    "c_T": (state.c, state_ref.c)},
                   against="lstm_ref.lstm_sequence", tolerance=0.0)
    assert len(cache.steps) == X.shape[1] and outputs.dtype == dtype


# ---------------------------------------------------------------------------
# Against tf.GradientTape


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=15)
@given(sizes=sizes, use_bias=st.booleans(), zero_state=st.booleans(),
       final_state=st.booleans())
def test_keras_lstm_gradients(dtype, sizes, use_bias, zero_state, final_state):
    N, T, _, H, _ = sizes
    rng, params, X, state0 = random_sequence_problem(sizes, dtype, use_bias, zero_state)
    d_outputs, d_final = loss_gradients(rng, N, T, H, H, dtype, final_state)
    ours = backward(d_outputs, forward(X, params, initial_state=state0)[2], d_final)
    tape = keras_lstm_gradients(X, params, d_outputs, state0, d_final)
    verify.compare(gradient_pairs(ours, tape), against="tf.GradientTape, keras.layers.LSTM",
                   tolerance=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation, recurrent_activation", [
    ("relu", "hard_sigmoid"), ("softsign", "sigmoid"), ("softplus", "tanh"),
])
def test_keras_lstm_gradients_other_activations(dtype, activation, recurrent_activation, rng):
    from lstm_ref.conventions.keras import keras_config

    N, T, D, H = 3, 6, 4, 5
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = random_state(rng, N, H, dtype)
    d_outputs, d_final = loss_gradients(rng, N, T, H, H, dtype)
    config = keras_config(activation, recurrent_activation)
    ours = backward(d_outputs, forward(X, params, config, state0)[2], d_final)
    tape = keras_lstm_gradients(X, params, d_outputs, state0, d_final, activation=activation,
                                recurrent_activation=recurrent_activation)
    verify.compare(gradient_pairs(ours, tape), against="tf.GradientTape, keras.layers.LSTM",
                   tolerance=TOLERANCE[dtype])


def tf1_lstm_cell(rng, D, H, dtype, use_peepholes, num_proj, cell_clip, proj_clip,
                  forget_bias):
    cell = tf1.LSTMCell(H, use_peepholes=use_peepholes, cell_clip=cell_clip, num_proj=num_proj,
                        proj_clip=proj_clip, forget_bias=forget_bias)
    P = cell.output_size
    shapes = {"kernel": (D + P, 4 * H), "bias": (4 * H,), "w_f_diag": (H,), "w_i_diag": (H,),
              "w_o_diag": (H,), "projection/kernel": (H, P)}
    cell.set_weights([rng.normal(size=shapes[n]).astype(dtype) for n in cell.weight_names()])
    return cell


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=15)
@given(sizes=sizes, use_peepholes=st.booleans(),
       num_proj=st.one_of(st.none(), st.integers(1, 5)),
       cell_clip=st.sampled_from([None, 0.5, 2.0]), proj_clip=st.sampled_from([None, 0.3, 5.0]),
       forget_bias=st.sampled_from([0.0, 1.0]))
def test_tf1_lstm_cell_gradients(dtype, sizes, use_peepholes, num_proj, cell_clip, proj_clip,
                                 forget_bias):
    """Peepholes, projection and both clips, against the real TF 1.x LSTMCell."""
    N, T, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    cell = tf1_lstm_cell(rng, D, H, dtype, use_peepholes, num_proj, cell_clip, proj_clip,
                         forget_bias)
    P = cell.output_size
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = random_state(rng, N, H, dtype, P=P)
    d_outputs, d_final = loss_gradients(rng, N, T, P, H, dtype)
    ours = backward(d_outputs, forward(X, cell._built(), cell.config, state0)[2], d_final)
    tape = tf1_cell_gradients(cell, X, d_outputs, state0, d_final)
    verify.compare(gradient_pairs(ours, tape),
                   against="tf.GradientTape, tf.compat.v1 LSTMCell", tolerance=TOLERANCE[dtype])


# ---------------------------------------------------------------------------
# Against central finite differences


def probe_loss(X, params, config, state0, d_outputs, d_final):
    """The linear loss whose gradients with respect to the outputs and final state are given."""
    outputs, (h, c) = lstm_sequence(X, params, config, state0)
    return np.sum(outputs * d_outputs) + np.sum(h * d_final.h) + np.sum(c * d_final.c)


def central_difference(f, array, eps=1e-6):
    """d f / d array, one element at a time; ``array`` is perturbed in place and restored."""
    grad = np.empty_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        up = f()
        array[index] = saved - eps
        down = f()
        array[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


def every_option_params(rng, D, H, P, scale=0.5):
    normal = lambda *shape: rng.normal(scale=scale, size=shape)  # noqa: E731
    return LSTMParams(W=normal(D, 4 * H), U=normal(P, 4 * H), b=normal(4 * H), p_i=normal(H),
                      p_f=normal(H), p_o=normal(H), V_o=normal(H, H), W_proj=normal(H, P))


@pytest.mark.parametrize("config", [
    LSTMConfig(),
    LSTMConfig(forget_bias=1.0, cell_clip=0.4, proj_clip=0.3),
    LSTMConfig(activation="softsign", recurrent_activation="hard_sigmoid"),
], ids=["plain", "clipped", "softsign-hard-sigmoid"])
def test_finite_differences_every_option(config, rng):
    """Every weight (peepholes, V_o, projection included), the inputs and the initial state."""
    N, T, D, H, P = 2, 5, 3, 4, 3
    params = every_option_params(rng, D, H, P)
    X = rng.normal(size=(N, T, D))
    state0 = random_state(rng, N, H, P=P)
    d_outputs, d_final = loss_gradients(rng, N, T, P, H, np.float64)
    ours = backward(d_outputs, forward(X, params, config, state0)[2], d_final)

    def numeric(array):
        return central_difference(
            lambda: probe_loss(X, params, config, state0, d_outputs, d_final), array)

    pairs = {"d_X": (ours.d_X, numeric(X)), "d_h0": (ours.d_initial_state.h, numeric(state0.h)),
             "d_c0": (ours.d_initial_state.c, numeric(state0.c))}
    for name, array in params.arrays().items():  # LSTMParams holds these very arrays
        pairs[f"d_{name}"] = (ours.d_params.arrays()[name], numeric(array))
    verify.compare(pairs, against="central finite differences", tolerance=FD_TOLERANCE)


@settings(max_examples=10)
@given(sizes=sizes)
def test_directional_derivative(sizes):
    """<gradient, v> equals the derivative of the loss along a random direction v."""
    N, T, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    params = every_option_params(rng, D, H, P=H)
    X, state0 = rng.normal(size=(N, T, D)), random_state(rng, N, H)
    d_outputs, d_final = loss_gradients(rng, N, T, H, H, np.float64)
    ours = backward(d_outputs, forward(X, params, initial_state=state0)[2], d_final)
    arrays = {"X": X, "h0": state0.h, "c0": state0.c, **params.arrays()}
    grads = {"X": ours.d_X, "h0": ours.d_initial_state.h, "c0": ours.d_initial_state.c,
             **ours.d_params.arrays()}
    direction = {name: rng.normal(size=a.shape) for name, a in arrays.items()}

    def loss_at(step):
        moved = {name: a + step * direction[name] for name, a in arrays.items()}
        weights = LSTMParams(**{k: v for k, v in moved.items() if k not in ("X", "h0", "c0")})
        return probe_loss(moved["X"], weights, LSTMConfig(),
                          LSTMState(moved["h0"], moved["c0"]), d_outputs, d_final)

    eps = 1e-6
    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    analytic = sum(np.sum(grads[name] * direction[name]) for name in arrays)
    verify.compare({"directional derivative": (np.array(analytic), np.array(numeric))},
                   against="central finite differences", tolerance=1e-6)


def test_state_gradients_are_the_gradients_of_the_rest_of_the_sequence(rng):
    """d_states at step s from backward on steps s+1... started from (h_s, c_s).

    The rest of the sequence gives the gradients through later steps; h_s adds
    its own output's gradient, and c_s its path through h_s = o_s ⊙ tanh(c_s).
    """
    N, T, D, H = 3, 7, 2, 4
    params = random_params(rng, D, H)
    X, state0 = rng.normal(size=(N, T, D)), random_state(rng, N, H)
    d_outputs, d_final = loss_gradients(rng, N, T, H, H, np.float64)
    outputs, _, cache = forward(X, params, initial_state=state0)
    d_states = backward(d_outputs, cache, d_final).d_states
    for s in range(T - 1):
        state_s = LSTMState(cache.steps[s].h, cache.steps[s].c)
        rest = backward(d_outputs[:, s + 1:], forward(X[:, s + 1:], params,
                                                      initial_state=state_s)[2], d_final)
        d_h_s = rest.d_initial_state.h + d_outputs[:, s]
        o_s, c_s = cache.steps[s].o, cache.steps[s].c
        d_c_s = rest.d_initial_state.c + d_h_s * o_s * (1 - np.tanh(c_s) ** 2)
        verify.compare({"d_h_s": (d_states.h[:, s], d_h_s), "d_c_s": (d_states.c[:, s], d_c_s)},
                       against="backward on the rest of the sequence")


def test_no_time_steps_passes_the_final_gradient_through(rng):
    params = random_params(rng, 2, 3)
    d_final = random_state(rng, 4, 3)
    grads = backward(np.zeros((4, 0, 3)), forward(np.zeros((4, 0, 2)), params)[2], d_final)
    assert grads.d_X.shape == (4, 0, 2)
    assert np.array_equal(grads.d_initial_state.h, d_final.h)
    assert not grads.d_params.W.any()


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear", "softsign", "softplus",
                                  "hard_sigmoid"])
@pytest.mark.parametrize("keras_version", [2, 3])
def test_derivatives_of_the_activations(name, keras_version, rng):
    from lstm_ref.activations import get_activation

    f = get_activation(name, keras_version)
    z = rng.uniform(-4, 4, size=50)
    eps = 1e-6
    numeric = (f(z + eps) - f(z - eps)) / (2 * eps)
    verify.compare({f"{name}'": (derivative(f)(f(z)), numeric)},
                   against="central finite differences", tolerance=1e-8)


def test_step_is_the_loop_body(rng):
    """backward_step on the last step gives the last d_z that backward uses for d_X."""
    params = random_params(rng, 3, 2)
    X = rng.normal(size=(2, 4, 3))
    outputs, _, cache = forward(X, params)
    d_outputs = rng.normal(size=outputs.shape)
    step = backward_step(d_outputs[:, -1], np.zeros((2, 2)), cache.previous_state(3).c,
                         cache.steps[3], params, LSTMConfig())
    verify.compare({"d_x_T": (step.d_z @ params.W.T, backward(d_outputs, cache).d_X[:, -1])},
                   against="backward", tolerance=0.0)


# ---------------------------------------------------------------------------
# Refusals and bad input


def test_layer_norm_is_refused(rng):
    H = 2
    params = LSTMParams(W=np.ones((3, 4 * H)), U=np.ones((H, 4 * H)), gamma=np.ones(4 * H),
                        beta=np.zeros(4 * H), gamma_c=np.ones(H), beta_c=np.zeros(H))
    with pytest.raises(ValueError, match="params: backpropagation through layer normalization"):
        forward(np.ones((1, 2, 3)), params)


@pytest.mark.parametrize("config, name", [
    (LSTMConfig(activation=swish), "config.activation"),
    (LSTMConfig(recurrent_activation=lambda z: z), "config.recurrent_activation"),
])
def test_unsupported_activation_is_refused(config, name, rng):
    with pytest.raises(ValueError, match=name):
        check_supported(random_params(rng, 2, 2), config)


def test_bad_output_gradients(rng):
    params = random_params(rng, 3, 2)
    outputs, _, cache = forward(rng.normal(size=(2, 4, 3)), params)
    with pytest.raises(ValueError, match=r"d_outputs: expected shape \(N, T, P\) = \(2, 4, 2\)"):
        backward(np.zeros((2, 3, 2)), cache)
    with pytest.raises(TypeError, match="d_outputs: expected dtype float64"):
        backward(np.zeros((2, 4, 2), np.float32), cache)
    with pytest.raises(ValueError, match="d_outputs: contains nan"):
        backward(np.full((2, 4, 2), np.nan), cache)
    with pytest.raises(ValueError, match="state.c: expected shape"):
        backward(np.zeros((2, 4, 2)), cache, LSTMState(np.zeros((2, 2)), np.zeros((2, 3))))


# ---------------------------------------------------------------------------
# The plain RNN


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=10)
@given(sizes=sizes, use_bias=st.booleans())
def test_rnn_against_keras(dtype, sizes, use_bias):
    N, T, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    params = RNNParams(*(rng.normal(scale=0.5, size=shape).astype(dtype)
                         for shape in [(D, H), (H, H), (H,)][: 3 if use_bias else 2]))
    X = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = rng.normal(size=(N, H)).astype(dtype)
    outputs = rnn_sequence(X, params, h0)
    d_outputs = rng.normal(size=outputs.shape).astype(dtype)
    ours = rnn_backward(d_outputs, X, outputs, params, h0)
    tape = keras_simple_rnn_gradients(X, params, d_outputs, h0)
    pairs = {"outputs": (outputs, np.asarray(keras_simple_rnn(params)(X, initial_state=[h0]))),
             "d_X": (ours.d_X, tape.d_X), "d_h0": (ours.d_h0, tape.d_h0)}
    pairs.update({f"d_{n}": (a, b) for n, a, b in zip("WUb", ours.d_params, tape.d_params)
                  if a is not None})
    verify.compare(pairs, against="keras.layers.SimpleRNN, tf.GradientTape",
                   tolerance=TOLERANCE[dtype])


def test_rnn_finite_differences(rng):
    N, T, D, H = 2, 6, 3, 4
    params = RNNParams(rng.normal(size=(D, H)), rng.normal(size=(H, H)), rng.normal(size=H))
    X, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    d_outputs = rng.normal(size=(N, T, H))
    ours = rnn_backward(d_outputs, X, rnn_sequence(X, params, h0), params, h0)

    def numeric(array):
        return central_difference(lambda: np.sum(rnn_sequence(X, params, h0) * d_outputs), array)

    pairs = {"d_X": (ours.d_X, numeric(X)), "d_h0": (ours.d_h0, numeric(h0))}
    pairs.update({f"d_{n}": (a, numeric(w)) for n, a, w in zip("WUb", ours.d_params, params)})
    verify.compare(pairs, against="central finite differences", tolerance=FD_TOLERANCE)


def test_rnn_bad_input(rng):
    params = RNNParams(np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"U: expected shape \(H, H\) = \(2, 2\)"):
        rnn_sequence(np.zeros((1, 2, 3)), RNNParams(np.zeros((3, 2)), np.zeros((3, 2))))
    with pytest.raises(ValueError, match=r"X: expected shape \(N, T, D\) = \(N, T, 3\)"):
        rnn_sequence(np.zeros((1, 2, 4)), params)
    with pytest.raises(TypeError, match="h0: expected dtype float64"):
        rnn_sequence(np.zeros((1, 2, 3)), params, np.zeros((1, 2), np.float32))


def test_backward_refuses_what_is_not_a_forward_cache(rng):
    params = random_params(rng, 2, 3)
    outputs, _, cache = forward(rng.normal(size=(1, 2, 2)), params)
    for bad in (None, (outputs, cache), cache._asdict() if hasattr(cache, "_asdict") else {}):
        with pytest.raises(TypeError, match=r"^cache: expected the ForwardCache of "
                                            r"lstm_ref.grad.forward, got"):
            backward(np.ones_like(outputs), bad)


def test_a_backward_pass_that_overflows_names_the_gradient():
    """A finite forward pass whose gradient overflows: the error names the gradient
    (d_W), not the weight W, and says what overflowed; on both paths."""
    from lstm_ref.fast import FastLSTM

    f32 = np.float32
    # Linear gates: i = g = 1e19 and o = 1 make c = h = 1e38, finite in float32,
    # but the output gate's weight gradient, x ⊙ d_z_o = 10 ⋅ 1e38, is not.
    params = LSTMParams(W=np.array([[1e18, 0, 1e18, 0]], f32), U=np.zeros((1, 4), f32),
                        b=np.array([0, 0, 0, 1], f32))
    config = LSTMConfig(activation="linear", recurrent_activation="linear")
    X = np.full((1, 1, 1), 10, f32)
    outputs, _, cache = forward(X, params, config)
    assert np.isfinite(outputs).all()
    pattern = r"^d_W: the backward pass overflowed: inf at index \(0, 3\)"
    with pytest.raises(ValueError, match=pattern):
        backward(np.ones_like(outputs), cache)
    fast = FastLSTM(params, config)
    outputs, _, cache = fast.forward(X)
    with pytest.raises(ValueError, match=pattern):
        fast.backward(np.ones_like(outputs), cache)


def test_a_forward_pass_that_overflows_is_reported_before_backward():
    """The case of the report: unbounded gates overflow the forward pass; forward
    says so, instead of backward blaming W for the NaN that follows."""
    rng = np.random.default_rng(0)
    params = random_params(rng, 2, 3, scale=90.0)
    config = LSTMConfig(activation="linear", recurrent_activation="linear")
    with pytest.raises(ValueError, match=r"^(outputs|c): the forward pass overflowed"):
        forward(rng.normal(size=(2, 50, 2)), params, config)
