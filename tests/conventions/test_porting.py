"""Porting weights between frameworks: TF 1.x cells into Keras layers and back."""

import numpy as np
import pytest

from conftest import random_state
from lstm_ref import LSTMConfig, LSTMParams, lstm_sequence, verify
from lstm_ref.conventions import tf1
from lstm_ref.conventions.keras import from_keras_layer, to_keras
from lstm_ref.frameworks.tensorflow import keras_lstm, run_keras_lstm, run_tf1_cell, tf1_cell

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("forget_bias", [1.0, 0.5])
def test_tf1_basic_cell_ported_to_keras(dtype, forget_bias, rng):
    """The real BasicLSTMCell stepped T times equals the real Keras layer holding
    the same weights with the forget bias folded into the bias."""
    N, T, D, H = 3, 12, 4, 5
    cell = tf1.BasicLSTMCell(H, forget_bias=forget_bias)
    cell.set_weights([rng.normal(scale=0.5, size=(D + H, 4 * H)).astype(dtype),
                      rng.normal(scale=0.5, size=4 * H).astype(dtype)])
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state = random_state(rng, N, H, dtype)
    real_cell, state_tf, outputs_tf = tf1_cell(cell), tf1.LSTMStateTuple(c=state.c, h=state.h), []
    for t in range(T):
        output, state_tf = run_tf1_cell(real_cell, X[:, t], state_tf)
        outputs_tf.append(output)
    keras_params = tf1.fold_forget_bias(cell.params, forget_bias)
    outputs_k, state_k = run_keras_lstm(X, keras_params, initial_state=state)
    verify.compare({"outputs": (outputs_k, np.stack(outputs_tf, axis=1)),
                    "c_T": (state_k.c, state_tf.c)},
                   against="tf.compat.v1 BasicLSTMCell vs keras.layers.LSTM (folded)",
                   tolerance=TOLERANCE[dtype])


def test_folding_equals_running_with_the_forget_bias(rng):
    params = LSTMParams(W=rng.normal(size=(3, 8)), U=rng.normal(size=(2, 8)))  # no bias
    X = rng.normal(size=(2, 6, 3))
    run_time, _ = lstm_sequence(X, params, LSTMConfig(forget_bias=1.0))
    folded, _ = lstm_sequence(X, tf1.fold_forget_bias(params, 1.0))
    verify.compare({"outputs": (folded, run_time)}, against="a run-time forget bias")
    assert tf1.fold_forget_bias(params, 1.0).b.tolist() == [0, 0, 1, 1, 0, 0, 0, 0]


def test_keras_layer_ported_to_tf1(rng):
    """Keras weights into an LSTMCell(forget_bias=0): to_tf1 stacks and reorders."""
    layer = keras_lstm(LSTMParams(W=rng.normal(size=(3, 16)), U=rng.normal(size=(4, 16)),
                                  b=rng.normal(size=16)))
    params, _ = from_keras_layer(layer)
    cell = tf1.LSTMCell(4, forget_bias=0.0)
    variables = tf1.to_tf1(params)
    cell.set_weights([variables["kernel"], variables["bias"]])
    x = rng.normal(size=(2, 3))
    state = random_state(rng, 2, 4)
    output, _ = run_tf1_cell(tf1_cell(cell), x, tf1.LSTMStateTuple(c=state.c, h=state.h))
    _, h, _ = layer(x[:, None, :], initial_state=[state.h, state.c])
    verify.compare({"h": (output, np.asarray(h))}, against="keras.layers.LSTM vs tf.compat.v1 LSTMCell")
    assert len(to_keras(params)) == 3
