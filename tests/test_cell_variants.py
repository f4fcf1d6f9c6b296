"""The cell's options for deployment formats: ONNX's activations, clip and coupled gates,
TFLite's CIFG, projection bias and layer norm, per-step values."""

import numpy as np
import pytest

from lstm_ref import activations as act


# ---------------------------------------------------------------------------
# ONNX's optional activations, as the ONNX specification defines them


Z = np.array([-3.0, -1.0, -0.25, 0.0, 0.25, 1.0, 3.0])


@pytest.mark.parametrize("function, kwargs, expected", [
    (act.affine, dict(alpha=2.0, beta=0.5), 2.0 * Z + 0.5),
    (act.leaky_relu, dict(alpha=0.1), np.where(Z >= 0, Z, 0.1 * Z)),
    (act.leaky_relu, {}, np.where(Z >= 0, Z, 0.01 * Z)),
    (act.thresholded_relu, dict(alpha=0.25), np.where(Z >= 0.25, Z, 0.0)),
    (act.scaled_tanh, dict(alpha=1.5, beta=0.5), 1.5 * np.tanh(0.5 * Z)),
    (act.hard_sigmoid_onnx, dict(alpha=0.3, beta=0.4), np.minimum(np.maximum(0.3 * Z + 0.4, 0), 1)),
    (act.hard_sigmoid_onnx, {}, np.minimum(np.maximum(0.2 * Z + 0.5, 0), 1)),
    (act.elu, dict(alpha=0.5), np.where(Z >= 0, Z, 0.5 * (np.exp(Z) - 1))),
    (act.softsign, {}, Z / (1 + np.abs(Z))),
    (act.softplus, {}, np.log(1 + np.exp(Z))),
])
def test_onnx_activation_definitions(function, kwargs, expected):
    np.testing.assert_allclose(function(Z, **kwargs), expected, rtol=1e-15, atol=1e-15)
    assert function(Z.astype(np.float32), **kwargs).dtype == np.float32


def test_elu_does_not_overflow():
    with np.errstate(all="raise"):
        assert act.elu(np.array([1e4, -1e4]), alpha=1.0).tolist() == [1e4, -1.0]


# ---------------------------------------------------------------------------
# The cell's options (NumPy only, checked by hand)

from conftest import random_params, random_state  # noqa: E402
from lstm_ref import LSTMConfig, LSTMParams, LSTMState, lstm_sequence, lstm_step  # noqa: E402
from lstm_ref.activations import sigmoid  # noqa: E402
from lstm_ref.cell import step_values  # noqa: E402
from lstm_ref.layout import split_gates  # noqa: E402
from lstm_ref.sequence import lstm_sequence_values  # noqa: E402

N, D, H, P = 3, 4, 5, 2


def problem(rng, dtype=np.float64, **extras):
    arrays = random_params(rng, D, H, dtype).arrays()
    if "W_proj" in extras:  # h, and so U's rows, has the projection's size
        arrays["U"] = rng.normal(scale=0.5, size=(extras["W_proj"].shape[1], 4 * H)).astype(dtype)
    params = LSTMParams(**arrays, **extras)
    x = rng.normal(size=(N, D)).astype(dtype)
    return params, x, random_state(rng, N, H, dtype, P=params.output_size)


def test_coupled_input_gate_is_one_minus_forget(rng):
    """TFLite's CIFG: i = 1 - f; the input gate's own weights are not read."""
    params, x, state = problem(rng)
    config = LSTMConfig(coupled_gates="input_from_forget")
    values = step_values(x, state, params, config)
    np.testing.assert_array_equal(values.i, 1 - values.f)
    np.testing.assert_array_equal(values.c, values.f * state.c + values.i * values.g)
    W = params.W.copy()
    split_gates(W)[0][:] = 123.0  # the i block
    other = step_values(x, state, LSTMParams(**{**params.arrays(), "W": W}), config)
    np.testing.assert_array_equal(other.h, values.h)


def test_coupled_forget_gate_is_one_minus_input(rng):
    """ONNX's input_forget: f = 1 - i; the forget gate's own weights are not read."""
    params, x, state = problem(rng)
    config = LSTMConfig(coupled_gates="forget_from_input")
    values = step_values(x, state, params, config)
    np.testing.assert_array_equal(values.f, 1 - values.i)
    U = params.U.copy()
    split_gates(U)[1][:] = -55.0  # the f block
    other = step_values(x, state, LSTMParams(**{**params.arrays(), "U": U}), config)
    np.testing.assert_array_equal(other.h, values.h)


def test_preactivation_clip_bounds_every_gates_input(rng):
    """ONNX's clip: each gate's pre-activation; the cell state is not clipped."""
    params, x, state = problem(rng)
    params = LSTMParams(**{**params.arrays(), "W": params.W * 40})
    clip = 0.5
    values = step_values(x, state, params, LSTMConfig(preactivation_clip=clip))
    z = x @ params.W + state.h @ params.U + params.b
    z_i, z_f, z_g, z_o = (np.clip(z_k, -clip, clip) for z_k in split_gates(z))
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_g), sigmoid(z_o)
    c = f * state.c + i * g
    np.testing.assert_allclose(values.c, c, rtol=0, atol=1e-15)
    np.testing.assert_allclose(values.h, o * np.tanh(c), rtol=0, atol=1e-15)
    assert np.abs(values.c).max() > clip  # the state is not clipped


def test_output_activation_is_separate_from_the_candidates(rng):
    params, x, state = problem(rng)
    values = step_values(x, state, params, LSTMConfig(activation="tanh",
                                                      output_activation="softsign"))
    np.testing.assert_array_equal(values.h, values.o * (values.c / (1 + np.abs(values.c))))
    np.testing.assert_array_equal(values.g, np.tanh(split_gates(
        x @ params.W + state.h @ params.U + params.b)[2]))


def test_projection_bias(rng):
    W_proj = rng.normal(size=(H, P))
    b_proj = rng.normal(size=P)
    params, x, state = problem(rng, W_proj=W_proj, b_proj=b_proj)
    values = step_values(x, state, params, LSTMConfig(proj_clip=0.3))
    np.testing.assert_array_equal(values.h, np.clip(values.m @ W_proj + b_proj, -0.3, 0.3))


def test_tflite_layer_norm(rng):
    """Per gate, on W x + U h + peephole, gain only, bias after; the cell state not normalized."""
    gamma = rng.normal(size=4 * H)
    peepholes = {f"p_{g}": rng.normal(size=H) for g in "ifo"}
    params, x, state = problem(rng, gamma=gamma, **peepholes)
    eps = 1e-8
    values = step_values(x, state, params, LSTMConfig(layer_norm_epsilon=eps))

    def norm(v, gamma_k, b_k):
        mean = v.mean(-1, keepdims=True)
        return (v - mean) / np.sqrt(((v - mean) ** 2).mean(-1, keepdims=True) + eps) * gamma_k + b_k

    z = x @ params.W + state.h @ params.U  # no bias
    (z_i, z_f, z_g, z_o), gammas, bs = split_gates(z), split_gates(gamma), split_gates(params.b)
    i = sigmoid(norm(z_i + params.p_i * state.c, gammas[0], bs[0]))
    f = sigmoid(norm(z_f + params.p_f * state.c, gammas[1], bs[1]))
    g = np.tanh(norm(z_g, gammas[2], bs[2]))
    c = f * state.c + i * g
    o = sigmoid(norm(z_o + params.p_o * c, gammas[3], bs[3]))
    np.testing.assert_allclose(values.c, c, rtol=0, atol=1e-14)
    np.testing.assert_allclose(values.h, o * np.tanh(c), rtol=0, atol=1e-14)


def test_layer_norm_needs_every_array_or_gamma_alone(rng):
    params = random_params(rng, D, H)
    with pytest.raises(ValueError, match=r"gamma_c: layer normalization needs"):
        LSTMParams(**params.arrays(), gamma=np.ones(4 * H), beta=np.zeros(4 * H))


@pytest.mark.parametrize("kwargs, message", [
    (dict(coupled_gates="both"), r"coupled_gates: expected None, 'input_from_forget' or "
                                 r"'forget_from_input', got 'both'"),
    (dict(preactivation_clip=0.0), r"preactivation_clip: expected a positive number or None"),
    (dict(output_activation="nope"), r"output_activation: expected a function or one of"),
])
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTMConfig(**kwargs)


def test_b_proj_needs_a_projection(rng):
    params = random_params(rng, D, H)
    with pytest.raises(ValueError, match=r"b_proj: a projection bias needs W_proj"):
        LSTMParams(**params.arrays(), b_proj=np.zeros(H))


def test_sequence_values_are_the_steps(rng):
    params = random_params(rng, D, H)
    X = rng.normal(size=(N, 6, D))
    values = lstm_sequence_values(X, params, LSTMConfig(cell_clip=1.0))
    outputs, state = lstm_sequence(X, params, LSTMConfig(cell_clip=1.0))
    np.testing.assert_array_equal(values.h, outputs)
    np.testing.assert_array_equal(values.c[:, -1], state.c)
    step = step_values(X[:, 0], LSTMState(np.zeros((N, H)), np.zeros((N, H))), params,
                       LSTMConfig(cell_clip=1.0))
    np.testing.assert_array_equal(values.f[:, 0], step.f)


def test_options_step_the_same_in_lstm_step_and_sequences(rng):
    params, x, state = problem(rng)
    config = LSTMConfig(coupled_gates="input_from_forget", preactivation_clip=2.0)
    outputs, final = lstm_sequence(x[:, None], params, config, initial_state=state)
    np.testing.assert_array_equal(outputs[:, 0], lstm_step(x, state, params, config).h)


@pytest.mark.parametrize("option, value", [
    ("coupled_gates", "input_from_forget"), ("preactivation_clip", 1.0),
    ("output_activation", "softsign"),
])
def test_fast_path_and_bptt_refuse_the_options_by_name(rng, option, value):
    from lstm_ref import grad
    from lstm_ref.fast import FastLSTM

    params = random_params(rng, D, H)
    config = LSTMConfig(**{option: value})
    with pytest.raises(ValueError, match=rf"config.{option}: the fast path does not compute"):
        FastLSTM(params, config)
    with pytest.raises(ValueError, match=rf"config.{option}: backpropagation with this option"):
        grad.forward(rng.normal(size=(N, 3, D)), params, config)


def test_fast_path_and_bptt_refuse_a_projection_bias(rng):
    from lstm_ref import grad
    from lstm_ref.fast import FastLSTM

    params, _, _ = problem(rng, W_proj=rng.normal(size=(H, P)), b_proj=np.zeros(P))
    with pytest.raises(ValueError, match=r"params.W_proj: the fast path does not compute"):
        FastLSTM(params)
    with pytest.raises(ValueError, match=r"params.b_proj: backpropagation through a projection bias"):
        grad.forward(rng.normal(size=(N, 3, D)), params)


def test_tflite_layer_norm_has_no_tf1_cell(rng):
    from lstm_ref.conventions.tf1 import to_tf1

    params, _, _ = problem(rng, gamma=np.ones(4 * H))
    with pytest.raises(ValueError, match=r"params.gamma: TFLite's layer norm \(gamma alone\)"):
        to_tf1(params)


def test_time_major_sequences(rng):
    params = random_params(rng, D, H)
    X = rng.normal(size=(N, 6, D))
    outputs, state = lstm_sequence(X, params)
    outputs_tm, state_tm = lstm_sequence(np.swapaxes(X, 0, 1), params, time_major=True)
    np.testing.assert_array_equal(outputs_tm, np.swapaxes(outputs, 0, 1))
    np.testing.assert_array_equal(state_tm.c, state.c)
    with pytest.raises(ValueError, match=r"X: expected shape \(T, N, D\) = \(T, N, 4\)"):
        lstm_sequence(np.zeros((6, N, D + 1)), params, time_major=True)
