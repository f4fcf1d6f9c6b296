"""Every deterministic number the seed notebooks printed, recomputed by lstm_ref."""

import numpy as np
import pytest

from lstm_ref import LSTMState, lstm_sequence, lstm_step, verify
from lstm_ref.activations import sigmoid
from lstm_ref.conventions import per_gate, tf1
from lstm_ref.conventions.keras import from_keras
from lstm_ref.seeds import SEED_001, SEED_002, SEED_003, SEED_003_PRINTED, seed003_weights

PRINTED_8_DECIMALS = 5e-9  # a value printed to 8 decimals is within half a unit of the 8th


def seed003_first_step():
    w = seed003_weights()
    x, h, c = SEED_003.data_x1, np.zeros((7, 3)), np.zeros((7, 3))
    f = per_gate.gate_layer(x, h, w.W_f, w.b_f)
    i = per_gate.gate_layer(x, h, w.W_i, w.b_i)
    g = per_gate.gate_layer(x, h, w.W_C, w.b_C, np.tanh)
    c1 = f * c + i * g
    o = per_gate.gate_layer(x, h, w.W_o, w.b_o)
    return dict(forget_gate1=f, input_gate1=i, tanh_gate1=g, lt_memory1=c1,
                output1=o * np.tanh(c1))


def test_seed_003_every_printed_array():
    ours = seed003_first_step()
    verify.compare({name: (ours[name], printed) for name, printed in SEED_003_PRINTED.items()},
                   against="seed 003's printed arrays", tolerance=PRINTED_8_DECIMALS)


def test_seed_003_needs_the_replayed_stream():
    """Run top to bottom once, the notebook would have printed other numbers."""
    w = seed003_weights(runs_of_input_cell=1, runs_of_output_cell=1)
    x = SEED_003.data_x1
    i = per_gate.gate_layer(x, np.zeros((7, 3)), w.W_i, w.b_i)
    assert np.abs(i - SEED_003_PRINTED["input_gate1"]).max() > 0.01


def test_seed_003_per_gate_equals_fused_over_two_steps():
    w = seed003_weights()
    params = per_gate.from_per_gate(w)
    X = np.stack([SEED_003.data_x1, SEED_003.data_x2], axis=1)  # (N, T, D) = (7, 2, 2)
    outputs, state = lstm_sequence(X, params)
    h, c = np.zeros((7, 3)), np.zeros((7, 3))
    for t in range(2):
        x = X[:, t]
        f = per_gate.gate_layer(x, h, w.W_f, w.b_f)
        i = per_gate.gate_layer(x, h, w.W_i, w.b_i)
        g = per_gate.gate_layer(x, h, w.W_C, w.b_C, np.tanh)
        o = per_gate.gate_layer(x, h, w.W_o, w.b_o)
        c = f * c + i * g
        h = o * np.tanh(c)
    verify.compare({"h_2": (state.h, h), "c_2": (state.c, c)}, against="the per-gate form")
    verify.compare({"h_1": (outputs[:, 0], seed003_first_step()["output1"])},
                   against="the per-gate form")


def test_per_gate_round_trip_exactly():
    w = seed003_weights()
    back = per_gate.to_per_gate(per_gate.from_per_gate(w))
    assert all(np.array_equal(a, b) for a, b in zip(back, w))


def test_per_gate_shapes_are_checked():
    w = seed003_weights()._replace(b_o=np.zeros(4))
    with pytest.raises(ValueError, match=r"b_o: expected shape \(H,\) = \(3,\), got \(4,\)"):
        per_gate.from_per_gate(w)


def test_seed_001_hand_calculation():
    s = SEED_001
    args = np.concatenate([s.x, s.h], axis=1)
    out = args @ np.full((5, 8), s.weight)
    concat = out + s.weight
    i, j, f, o = np.split(concat, 4, axis=1)
    g = np.tanh(j)
    sigmoid_f = sigmoid(f + s.forget_bias)
    new_c = s.c * sigmoid_f + sigmoid(i) * g
    new_h = np.tanh(new_c) * sigmoid(o)
    verify.compare({
        "args": (args, s.args), "out": (out, np.full((1, 8), s.out)),
        "concat": (concat, np.full((1, 8), s.concat)), "g": (g, np.full((1, 2), s.g)),
        "sigmoid_f": (sigmoid_f, np.full((1, 2), s.sigmoid_f)),
        "sigmoid_i_g": (sigmoid(i) * g, np.full((1, 2), s.sigmoid_i_g)),
        "new_c": (new_c, s.new_c), "new_h": (new_h, s.new_h),
    }, against="seed 001's printed numbers", tolerance=PRINTED_8_DECIMALS)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-7), (np.float32, 1e-7)])
def test_seed_001_against_tensorflow_printed(dtype, tolerance):
    s = SEED_001
    cell = tf1.BasicLSTMCell(s.num_units, forget_bias=s.forget_bias)
    cell.set_weights([np.full((5, 8), s.weight, dtype), np.full(8, s.weight, dtype)])
    h, state = cell(s.x.astype(dtype), tf1.LSTMStateTuple(s.c.astype(dtype), s.h.astype(dtype)))
    verify.compare({"h": (h, s.tf_h), "c": (state.c, s.tf_c)},
                   against="TensorFlow's result printed in seed 001", tolerance=tolerance)


def test_seed_002_through_per_step_api():
    s = SEED_002
    params = from_keras(s.kernel, s.recurrent_kernel, s.bias)
    state = lstm_step(np.array([[s.x]]), LSTMState(np.zeros((1, 1)), np.zeros((1, 1))), params)
    assert np.float32(state.c[0, 0]) == np.float32(s.c_t)
    assert np.float32(state.h[0, 0]) == np.float32(s.h_t)
