"""TFLite's fused LSTM: converted Keras layers and one-operator models, run in LiteRT."""

import numpy as np
import pytest

from conftest import random_params
from lstm_ref import LSTMConfig, LSTMParams, LSTMState, lstm_sequence, verify
from lstm_ref.conventions.tflite import (TENSOR_NAMES, TFLiteLSTM, from_tflite, tflite_config,
                                         to_tflite)
from lstm_ref.frameworks import litert
from lstm_ref.frameworks.tensorflow import run_keras_lstm, tflite_from_keras

N, T, D, H = 2, 6, 3, 4


def with_peepholes(rng, params):
    H = params.hidden_size
    return LSTMParams(**params.arrays(),
                      **{f"p_{g}": rng.normal(scale=0.5, size=H).astype(params.dtype)
                         for g in "ifo"})


@pytest.fixture(scope="module")
def converted():
    """A tf-keras LSTM converted to TFLite, with its params and inputs."""
    rng = np.random.default_rng(1)
    params = random_params(rng, D, H, np.float32)
    X = rng.normal(size=(N, T, D)).astype(np.float32)
    return params, X, tflite_from_keras(params, N, T)


# ---------------------------------------------------------------------------
# A converted tf-keras LSTM


def test_tf_keras_lstm_becomes_one_fused_operator(converted):
    _, _, flatbuffer = converted
    assert litert.builtin_ops(flatbuffer) == [["UNIDIRECTIONAL_SEQUENCE_LSTM"]]


def test_the_converter_adds_a_cell_clip_and_variable_states(converted):
    _, _, flatbuffer = converted
    _, options = litert.fused_lstm(flatbuffer)
    assert options["cell_clip"] == 10.0 and options["proj_clip"] == 0.0
    assert options["state_is_variable"] and not options["time_major"]
    assert options["fused_activation_function"] == 4  # tanh


def test_weights_read_from_the_model_are_the_layers(converted):
    params, _, flatbuffer = converted
    tensors, options = litert.fused_lstm(flatbuffer)
    read, config = from_tflite(tensors, options)
    assert read.extras() == []
    for name in ("W", "U", "b"):
        np.testing.assert_array_equal(getattr(read, name), getattr(params, name))
    assert config.cell_clip == 10.0 and config.proj_clip is None


def test_outputs_agree_with_keras_and_lstm_ref(converted):
    params, X, flatbuffer = converted
    (y_tflite,) = litert.run(flatbuffer, X)
    y_ours, _ = lstm_sequence(X, params, LSTMConfig(cell_clip=10.0))
    y_keras, _ = run_keras_lstm(X, params, keras_version=2)
    verify.compare({"h_t": (y_ours, y_tflite)}, against="LiteRT UNIDIRECTIONAL_SEQUENCE_LSTM")
    verify.compare({"h_t": (y_ours, y_keras)}, against="tf.keras.layers.LSTM")


def cell_clip_problem():
    """Weights and inputs that drive c up past 10 for 25 steps, then down for 12.

    i, f and o are held open by their biases; input feature 0 writes +1 into
    c at each step, feature 1 writes -1. Clipped at 10, c comes back down to
    -2; unclipped, from 25 to 13, where tanh(c) is still 1.
    """
    W = np.zeros((2, 4 * H), np.float32)
    W[0, 2 * H:3 * H], W[1, 2 * H:3 * H] = 8.0, -8.0  # the candidate's block: g = ±1
    b = np.full(4 * H, 9.0, np.float32)
    b[2 * H:3 * H] = 0.0
    params = LSTMParams(W=W, U=np.zeros((H, 4 * H), np.float32), b=b)
    up, down = np.zeros((N, 25, 2), np.float32), np.zeros((N, 12, 2), np.float32)
    up[..., 0], down[..., 1] = 1.0, 1.0
    return params, np.concatenate([up, down], axis=1)


def test_the_cell_clip_bites_where_keras_has_none():
    """TFLite clips c at 10, Keras does not; lstm_ref computes either, as asked."""
    params, X = cell_clip_problem()
    (y_tflite,) = litert.run(tflite_from_keras(params, N, X.shape[1]), X)
    y_keras, _ = run_keras_lstm(X, params, keras_version=2)
    y_clipped, _ = lstm_sequence(X, params, LSTMConfig(cell_clip=10.0))
    y_plain, _ = lstm_sequence(X, params)
    # c runs up to 10, where float32's spacing is 9.5e-7: an error of one or two
    # roundings of c carries into h, so the bar is 1e-6 relative to |c| = 10.
    verify.compare({"h_t": (y_clipped, y_tflite)},
                   against="LiteRT UNIDIRECTIONAL_SEQUENCE_LSTM (cell clip 10)", tolerance=1e-5)
    verify.compare({"h_t": (y_plain, y_keras)}, against="tf.keras.layers.LSTM", tolerance=1e-5)
    assert np.abs(y_tflite - y_keras).max() > 0.5


def test_the_state_carries_over_to_the_next_invocation(converted):
    params, X, flatbuffer = converted
    y_first, y_second = litert.run(flatbuffer, X, X)
    config = LSTMConfig(cell_clip=10.0)
    _, state = lstm_sequence(X, params, config)
    y_continued, _ = lstm_sequence(X, params, config, initial_state=state)
    verify.compare({"h_t (second call)": (y_continued, y_second)},
                   against="LiteRT UNIDIRECTIONAL_SEQUENCE_LSTM")
    assert np.abs(y_second - y_first).max() > 1e-3
    mirror = TFLiteLSTM(*litert.fused_lstm(flatbuffer))
    mirror(X)
    verify.compare({"h_t (second call)": (mirror(X), y_second)},
                   against="LiteRT UNIDIRECTIONAL_SEQUENCE_LSTM")


def test_keras_3_lstm_becomes_a_while_loop(converted):
    params, X, _ = converted
    flatbuffer = tflite_from_keras(params, N, T, keras_version=3)
    ops = litert.builtin_ops(flatbuffer)
    assert "WHILE" in ops[0] and "UNIDIRECTIONAL_SEQUENCE_LSTM" not in sum(ops, [])
    (y_tflite,) = litert.run(flatbuffer, X)
    y_ours, _ = lstm_sequence(X, params)
    verify.compare({"h_t": (y_ours, y_tflite)}, against="LiteRT (Keras 3 LSTM as a WHILE loop)")


# ---------------------------------------------------------------------------
# One-operator models: every option of the kernel


@pytest.mark.parametrize("time_major", (False, True))
def test_peepholes_in_the_kernel(rng, time_major):
    params = with_peepholes(rng, random_params(rng, D, H, np.float32))
    X = rng.normal(size=(T, N, D) if time_major else (N, T, D)).astype(np.float32)
    flatbuffer = litert.lstm_op_model(to_tflite(params), N, T, time_major=time_major)
    (y_tflite,) = litert.run(flatbuffer, X)
    X_batch = np.swapaxes(X, 0, 1) if time_major else X
    y_ours, _ = lstm_sequence(X_batch, params)
    if time_major:
        y_ours = np.swapaxes(y_ours, 0, 1)
    verify.compare({"h_t": (y_ours, y_tflite)},
                   against="LiteRT UNIDIRECTIONAL_SEQUENCE_LSTM (peepholes)")


# ---------------------------------------------------------------------------
# The converter, NumPy only


def test_round_trip_is_exact(rng):
    params = with_peepholes(rng, random_params(rng, D, H, np.float32))
    back, config = from_tflite(to_tflite(params), {})
    for name, array in params.arrays().items():
        np.testing.assert_array_equal(getattr(back, name), array)
    assert config.cell_clip is None


def test_bad_input_is_named(rng):
    params = random_params(rng, D, H, np.float32)
    tensors = to_tflite(params)
    with pytest.raises(TypeError, match=r"tensors: expected a list of the operator's 24"):
        from_tflite(tensors[:20], {})
    broken = list(tensors)
    broken[TENSOR_NAMES.index("recurrent_to_cell_weights")] = np.zeros((H, H + 1), np.float32)
    with pytest.raises(ValueError, match=r"recurrent_to_cell_weights: expected shape \(H, P\)"):
        from_tflite(broken, {})
    broken = list(tensors)
    broken[TENSOR_NAMES.index("output_gate_bias")] = None
    with pytest.raises(ValueError, match=r"output_gate_bias: the operator needs it"):
        from_tflite(broken, {})
    with pytest.raises(ValueError, match=r"options\['fused_activation_function'\]"):
        tflite_config({"fused_activation_function": 5})
    with pytest.raises(ValueError, match=r"options: expected keys among"):
        tflite_config({"cellclip": 1.0})


def kernel_params(rng, *, peepholes=True, projection=False, layer_norm=False):
    params = random_params(rng, D, H, np.float32)
    arrays = params.arrays()
    if projection:
        P = 3
        arrays["U"] = rng.normal(scale=0.5, size=(P, 4 * H)).astype(np.float32)
        arrays["W_proj"] = rng.normal(scale=0.5, size=(H, P)).astype(np.float32)
        arrays["b_proj"] = rng.normal(scale=0.5, size=P).astype(np.float32)
    if peepholes:
        arrays |= {f"p_{g}": rng.normal(scale=0.5, size=H).astype(np.float32) for g in "ifo"}
    if layer_norm:
        arrays["gamma"] = rng.normal(1.0, 0.3, size=4 * H).astype(np.float32)
    return LSTMParams(**arrays)


@pytest.mark.parametrize("cifg, projection, layer_norm", [
    (True, False, False), (False, True, False), (False, False, True), (True, True, True),
])
def test_every_option_of_the_kernel(rng, cifg, projection, layer_norm):
    """CIFG, projection with bias and clip, TFLite's layer norm, cell clip: one-operator models."""
    params = kernel_params(rng, projection=projection, layer_norm=layer_norm)
    X = rng.normal(size=(N, T, D)).astype(np.float32)
    options = dict(cell_clip=1.5, proj_clip=0.8 if projection else 0.0)
    flatbuffer = litert.lstm_op_model(to_tflite(params, cifg=cifg), N, T, **options)
    tensors, read_options = litert.fused_lstm(flatbuffer)
    mirror = TFLiteLSTM(tensors, read_options)
    assert (mirror.config.coupled_gates == "input_from_forget") == cifg
    assert mirror.params.layer_norm_form == ("tflite" if layer_norm else None)
    (y_tflite,) = litert.run(flatbuffer, X)
    config = tflite_config(read_options, cifg, mirror.params)
    y_ours, _ = lstm_sequence(X, params, config)
    verify.compare({"h_t": (y_ours, y_tflite), "h_t (TFLiteLSTM)": (mirror(X), y_tflite)},
                   against="LiteRT UNIDIRECTIONAL_SEQUENCE_LSTM (" + ", ".join(
                       name for name, on in (("CIFG", cifg), ("projection", projection),
                                             ("layer norm", layer_norm)) if on) + ")")


def test_round_trip_with_every_option(rng):
    params = kernel_params(rng, projection=True, layer_norm=True)
    back, config = from_tflite(to_tflite(params), {})
    for name, array in params.arrays().items():
        np.testing.assert_array_equal(getattr(back, name), array)
    assert config.layer_norm_epsilon == 1e-8 and config.coupled_gates is None
