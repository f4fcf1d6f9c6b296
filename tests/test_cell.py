"""One LSTM step (lstm_ref.cell): each equation's function on small inputs whose
result can be checked by hand, the step that composes them, and the step against
Keras's LSTM and TF 1.x's LSTMCell."""

import numpy as np
import pytest

from conftest import check_raises, random_params, random_state
from lstm_ref import LSTMConfig, LSTMParams, LSTMState, lstm_sequence, lstm_step, verify
from lstm_ref.activations import hard_sigmoid_keras3, sigmoid
from lstm_ref.cell import (add_forget_bias, candidate_dropout, cell_update, clip_cell,
                           hidden_state, input_forget_peepholes, normalize_cell,
                           normalize_gates, output_peephole, output_peephole_matrix,
                           preactivations, project, step_values)
from lstm_ref.conventions import tf1
from lstm_ref.frameworks.tensorflow import run_keras_lstm, run_tf1_cell, tf1_cell
from lstm_ref.layout import split_gates

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}


def one_unit(**extras) -> LSTMParams:
    """D = H = 1: one weight per gate block i, f, g, o."""
    return LSTMParams(W=np.array([[1.0, 2.0, 3.0, 4.0]]), U=np.full((1, 4), 0.5),
                      b=np.array([0.25, 0.5, 0.75, 1.0]), **extras)


def identity(z):
    return z


# ---------------------------------------------------------------------------
# Each equation's function, by hand


def test_preactivations_are_x_W_plus_h_U_plus_b():
    params = one_unit()
    z = preactivations(np.array([[2.0]]), np.array([[4.0]]), params)
    np.testing.assert_array_equal(z, [[2 + 2 + 0.25, 4 + 2 + 0.5, 6 + 2 + 0.75, 8 + 2 + 1.0]])
    no_bias = LSTMParams(W=params.W, U=params.U)
    np.testing.assert_array_equal(preactivations(np.array([[2.0]]), np.array([[4.0]]), no_bias),
                                  [[4.0, 6.0, 8.0, 10.0]])


def test_normalize_gates_normalizes_each_gate_block_on_its_own():
    z = np.array([[1.0, 3.0, 10.0, 30.0, -1.0, 1.0, 5.0, 5.0]])  # H = 2, blocks i, f, g, o
    params = LSTMParams(W=np.zeros((1, 8)), U=np.zeros((2, 8)),
                        gamma=np.array([1.0, 1, 2, 2, 1, 1, 1, 1]),
                        beta=np.array([0.0, 0, 0, 0, 3, 3, 0, 0]),
                        gamma_c=np.ones(2), beta_c=np.zeros(2))
    # each block has a mean and a variance of its own; (5, 5) has variance 0
    expected = [[-1, 1, -2, 2, 2, 4, 0, 0]]
    np.testing.assert_allclose(normalize_gates(z, params, 1e-12), expected, rtol=0, atol=1e-11)


def test_add_forget_bias_adds_b_F_to_the_forget_preactivation():
    np.testing.assert_array_equal(add_forget_bias(np.array([[-1.0, 0.5]]), 1.0), [[0.0, 1.5]])
    np.testing.assert_array_equal(add_forget_bias(np.array([[0.3]]), 0.0), [[0.3]])


def test_input_forget_peepholes_read_the_previous_cell_state():
    params = one_unit(p_i=np.array([2.0]), p_f=np.array([3.0]))
    z_i, z_f = input_forget_peepholes(np.array([[1.0]]), np.array([[-1.0]]),
                                      np.array([[0.5]]), params)
    np.testing.assert_array_equal(z_i, [[1.0 + 2.0 * 0.5]])
    np.testing.assert_array_equal(z_f, [[-1.0 + 3.0 * 0.5]])
    z_i, z_f = np.array([[1.0]]), np.array([[2.0]])
    unchanged = input_forget_peepholes(z_i, z_f, np.array([[9.0]]), one_unit())
    assert unchanged[0] is z_i and unchanged[1] is z_f  # no peepholes: nothing added


def test_candidate_dropout_divides_what_it_keeps_by_the_keep_probability():
    g = np.array([[0.25, -0.5, 0.75]])
    np.testing.assert_array_equal(candidate_dropout(g, np.array([[1.0, 0.0, 1.0]]), 0.5),
                                  [[0.5, 0.0, 1.5]])


def test_cell_update_keeps_some_memory_and_writes_some():
    f, c_prev, i, g = (np.array([[v]]) for v in (0.5, 2.0, 0.25, -2.0))
    np.testing.assert_array_equal(cell_update(f, c_prev, i, g), [[0.5 * 2.0 + 0.25 * -2.0]])


def test_normalize_cell_uses_the_cell_state_gain_and_shift():
    params = LSTMParams(W=np.zeros((1, 8)), U=np.zeros((2, 8)), gamma=np.ones(8),
                        beta=np.zeros(8), gamma_c=np.array([2.0, 2.0]),
                        beta_c=np.array([1.0, -1.0]))
    np.testing.assert_allclose(normalize_cell(np.array([[1.0, 3.0]]), params, 1e-12),
                               [[-1.0, 1.0]], atol=1e-11)


def test_clip_cell_bounds_the_cell_state():
    np.testing.assert_array_equal(clip_cell(np.array([[-3.0, 0.5, 3.0]]), 1.0),
                                  [[-1.0, 0.5, 1.0]])


def test_output_peepholes_read_the_new_cell_state():
    c = np.array([[1.0, 2.0]])
    z_o = np.array([[0.5, -0.5]])
    W, U = np.zeros((1, 8)), np.zeros((2, 8))
    diagonal = LSTMParams(W=W, U=U, p_i=np.zeros(2), p_f=np.zeros(2), p_o=np.array([3.0, 4.0]))
    np.testing.assert_array_equal(output_peephole(z_o, c, diagonal), [[3.5, 7.5]])
    matrix = LSTMParams(W=W, U=U, V_o=np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(output_peephole_matrix(z_o, c, matrix),
                                  [[0.5 + 1 + 6, -0.5 + 2 + 8]])
    plain = LSTMParams(W=W, U=U)
    assert output_peephole(z_o, c, plain) is z_o and output_peephole_matrix(z_o, c, plain) is z_o


def test_hidden_state_is_the_gated_activation_of_the_cell_state():
    np.testing.assert_array_equal(hidden_state(np.array([[0.5, 0.25]]), np.array([[4.0, -8.0]]),
                                               identity), [[2.0, -2.0]])
    np.testing.assert_array_equal(hidden_state(np.array([[0.5]]), np.array([[0.0]]), np.tanh),
                                  [[0.0]])


def test_project_multiplies_by_W_proj_then_clips():
    params = LSTMParams(W=np.zeros((1, 8)), U=np.zeros((1, 8)), W_proj=np.array([[1.0], [2.0]]))
    m = np.array([[1.0, 1.0]])
    np.testing.assert_array_equal(project(m, params, LSTMConfig()), [[3.0]])
    np.testing.assert_array_equal(project(m, params, LSTMConfig(proj_clip=2.0)), [[2.0]])
    assert project(m, one_unit(), LSTMConfig()) is m  # no projection: h = m


# ---------------------------------------------------------------------------
# The step


def test_step_values_applies_each_activation_to_its_own_block(rng):
    params = random_params(rng, 3, 4)
    state = random_state(rng, 2, 4)
    x = rng.normal(size=(2, 3))
    for config in (LSTMConfig(), LSTMConfig(recurrent_activation=hard_sigmoid_keras3,
                                            activation="relu", forget_bias=1.0)):
        values = step_values(x, state, params, config)
        z_i, z_f, z_g, z_o = split_gates(preactivations(x, state.h, params))
        sigma, phi = config.recurrent_activation_fn, config.activation_fn
        np.testing.assert_array_equal(values.i, sigma(z_i))
        np.testing.assert_array_equal(values.f, sigma(z_f + config.forget_bias))
        np.testing.assert_array_equal(values.g, phi(z_g))
        np.testing.assert_array_equal(values.o, sigma(z_o))
        c = cell_update(values.f, state.c, values.i, values.g)
        np.testing.assert_array_equal(values.c, c)
        np.testing.assert_array_equal(values.h, hidden_state(values.o, c, phi))


def test_one_unit_by_hand():
    """D = H = 1, x = 1, zero state: z = (1.25, 2.5, 3.75, 5), then the gates."""
    values = step_values(np.array([[1.0]]), LSTMState(np.zeros((1, 1)), np.zeros((1, 1))),
                         one_unit())
    i, g, o = sigmoid(np.array(1.25)), np.tanh(3.75), sigmoid(np.array(5.0))
    np.testing.assert_allclose(values.c, [[i * g]], rtol=0, atol=1e-15)  # f ⊙ 0 + i ⊙ g
    np.testing.assert_allclose(values.h, [[o * np.tanh(i * g)]], rtol=0, atol=1e-15)


def test_lstm_step_is_step_values_checked_with_every_option(rng):
    H, P = 3, 2
    params = LSTMParams(
        **{name: a for name, a in random_params(rng, 4, H).arrays().items()
           if name != "U"},
        U=rng.normal(size=(P, 4 * H)), p_i=rng.normal(size=H), p_f=rng.normal(size=H),
        p_o=rng.normal(size=H), V_o=rng.normal(size=(H, H)), W_proj=rng.normal(size=(H, P)),
        gamma=rng.normal(size=4 * H), beta=rng.normal(size=4 * H),
        gamma_c=rng.normal(size=H), beta_c=rng.normal(size=H))
    config = LSTMConfig(forget_bias=1.0, cell_clip=0.5, proj_clip=0.3, dropout_keep_prob=0.75)
    x, state = rng.normal(size=(5, 4)), random_state(rng, 5, H, P=P)
    mask = (rng.random((5, H)) < 0.75).astype(float)
    new = lstm_step(x, state, params, config, mask)
    values = step_values(x, state, params, config, mask)
    np.testing.assert_array_equal(new.h, values.h)
    np.testing.assert_array_equal(new.c, values.c)
    assert np.abs(new.c).max() <= 0.5 and np.abs(new.h).max() <= 0.3
    with pytest.raises(ValueError, match=r"candidate_mask: expected shape \(N, H\) = \(5, 3\)"):
        lstm_step(x, state, params, config, mask[:, :2])


# ---------------------------------------------------------------------------
# Against the frameworks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_step_equals_one_step_of_keras_lstm(rng, dtype):
    params = random_params(rng, 3, 4, dtype)
    state = random_state(rng, 2, 4, dtype)
    x = rng.normal(size=(2, 3)).astype(dtype)
    ours = lstm_step(x, state, params)
    outputs, theirs = run_keras_lstm(x[:, None], params, initial_state=state)
    verify.compare({"h": (ours.h, theirs.h), "c": (ours.c, theirs.c)},
                   against="keras.layers.LSTM, one step", tolerance=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_step_equals_tf1_lstm_cell_with_peepholes_clip_and_projection(rng, dtype):
    """The forget bias, the three peepholes, cell_clip and the clipped projection."""
    cell = tf1.LSTMCell(4, use_peepholes=True, cell_clip=0.6, num_proj=3, proj_clip=0.4,
                        forget_bias=1.0)
    H, P, D = 4, 3, 2
    shapes = [(D + P, 4 * H), (4 * H,), (H,), (H,), (H,), (H, P)]
    cell.set_weights([rng.normal(size=shape).astype(dtype) for shape in shapes])
    state = tf1.LSTMStateTuple(c=rng.normal(size=(2, H)).astype(dtype),
                               h=rng.normal(size=(2, P)).astype(dtype))
    x = rng.normal(size=(2, D)).astype(dtype)
    output, new_state = cell(x, state)
    real_output, real_state = run_tf1_cell(tf1_cell(cell), x, state)
    verify.compare({"output": (output, real_output), "c": (new_state.c, real_state.c)},
                   against="tf.compat.v1 LSTMCell, one step", tolerance=TOLERANCE[dtype])


# ---------------------------------------------------------------------------
# Options given as NumPy scalars, non-finite or out of range


@pytest.mark.parametrize("option, value", [
    ("forget_bias", np.float64(1.0)), ("forget_bias", np.float32(0.5)), ("cell_clip", np.float64(0.7)),
    ("proj_clip", np.int64(2)), ("layer_norm_epsilon", np.float64(1e-5)),
    ("dropout_keep_prob", np.float64(0.5)),
])
def test_numpy_scalar_options_keep_float32_float32(option, value, rng):
    """A NumPy scalar option is kept as a Python float: a float32 run stays float32,
    on the readable path, through BPTT, and on the fast path alike."""
    from lstm_ref.fast import FastLSTM
    from lstm_ref.grad import backward, forward

    config = LSTMConfig(**{option: value})
    assert type(getattr(config, option)) is float
    params = random_params(rng, 3, 2, np.float32)
    X = rng.normal(size=(4, 5, 3)).astype(np.float32)
    outputs, state = lstm_sequence(X, params, config)
    assert outputs.dtype == state.h.dtype == state.c.dtype == np.float32
    outputs, _, cache = forward(X, params, config)
    grads = backward(np.ones_like(outputs), cache)
    assert all(g.dtype == np.float32 for g in grads.arrays().values())
    if option in ("forget_bias", "cell_clip"):
        fast = FastLSTM(params, config)
        fast_outputs, _, fast_cache = fast.forward(X)
        verify.compare({"outputs": (fast_outputs, outputs)}, against="lstm_ref.grad.forward")
        assert all(g.dtype == np.float32 for g in
                   fast.backward(np.ones_like(outputs), fast_cache).arrays().values())


@pytest.mark.parametrize("option", ["forget_bias", "cell_clip", "proj_clip", "layer_norm_epsilon",
                                    "dropout_keep_prob"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_options_are_refused(option, bad):
    if option in ("cell_clip", "proj_clip") and bad == np.inf:
        assert getattr(LSTMConfig(**{option: bad}), option) == np.inf  # clips nothing: allowed
        return
    check_raises(ValueError, rf"^{option}: expected .*, got {bad!r}$", LSTMConfig, **{option: bad})


@pytest.mark.parametrize("option, value", [("forget_bias", "1.0"), ("forget_bias", None),
                                           ("cell_clip", np.array([1.0, 2.0])),
                                           ("forget_bias", True)])
def test_options_that_are_not_numbers_are_refused(option, value):
    check_raises(TypeError, rf"^{option}: expected", LSTMConfig, **{option: value})


def test_layer_norm_epsilon_must_be_positive(rng):
    """With epsilon = 0 a one-unit layer norm would divide 0 by 0."""
    check_raises(ValueError, r"^layer_norm_epsilon: expected a finite number > 0, got 0$",
                 LSTMConfig, layer_norm_epsilon=0)
    H = 1
    params = LSTMParams(W=rng.normal(size=(2, 4 * H)), U=rng.normal(size=(H, 4 * H)),
                        gamma=np.ones(4 * H), beta=np.zeros(4 * H), gamma_c=np.ones(H),
                        beta_c=np.zeros(H))
    new = lstm_step(rng.normal(size=(3, 2)), random_state(rng, 3, H), params,
                    LSTMConfig(layer_norm_epsilon=1e-12))
    assert np.isfinite(new.h).all() and np.isfinite(new.c).all()


@pytest.mark.parametrize("config", [None, {"forget_bias": 1.0}, "tanh"])
def test_config_must_be_an_lstm_config(config, rng):
    from lstm_ref.fast import FastLSTM
    from lstm_ref.grad import forward

    params, state = random_params(rng, 3, 2), random_state(rng, 4, 2)

    pattern = rf"^config: expected LSTMConfig, got {type(config).__name__}$"
    check_raises(TypeError, pattern, lstm_step, np.zeros((4, 3)), state, params, config)
    check_raises(TypeError, pattern, lstm_sequence, np.zeros((4, 5, 3)), params, config)
    check_raises(TypeError, pattern, forward, np.zeros((4, 5, 3)), params, config)
    check_raises(TypeError, pattern, FastLSTM, params, config)
