"""The per-gate form of colah's diagrams: one step, against the fused cell and Keras 3."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstm_ref import LSTMState, lstm_sequence, verify
from lstm_ref.conventions.per_gate import PerGateParams, from_per_gate, per_gate_step, to_per_gate
from lstm_ref.frameworks.tensorflow import run_keras_lstm

from conftest import random_params, random_state

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(sizes=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4),
                       st.integers(1, 5), st.integers(0, 2**32 - 1)))
def test_per_gate_steps_equal_keras(dtype, sizes):
    """Stepping gate by gate over T steps equals keras.layers.LSTM on the fused weights."""
    N, T, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype)
    weights = to_per_gate(params)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state = random_state(rng, N, H, dtype)
    outputs_k, final_k = run_keras_lstm(X, params, initial_state=state)
    outputs = []
    for t in range(T):
        values = per_gate_step(X[:, t], state, weights)
        state = LSTMState(h=values.h, c=values.c)
        outputs.append(values.h)
    assert values.h.dtype == dtype
    verify.compare({"outputs": (np.stack(outputs, axis=1), outputs_k),
                    "c_T": (state.c, final_k.c)},
                   against="keras.layers.LSTM", tolerance=TOLERANCE[dtype])


def test_per_gate_step_values_equal_fused_step(rng):
    params = random_params(rng, 3, 4)
    x, state = rng.normal(size=(5, 3)), random_state(rng, 5, 4)
    values = per_gate_step(x, state, to_per_gate(params))
    outputs, (h, c) = lstm_sequence(x[:, None], params, initial_state=state)
    verify.compare({"h": (values.h, h), "c": (values.c, c), "m": (values.m, h)},
                   against="lstm_sequence on the fused weights")


def test_per_gate_step_checks_inputs(rng):
    weights = to_per_gate(random_params(rng, 3, 4))
    state = random_state(rng, 5, 4)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, D\) = \(N, 3\), got \(5, 2\)"):
        per_gate_step(np.zeros((5, 2)), state, weights)
    with pytest.raises(TypeError, match=r"state.c: expected dtype float64"):
        per_gate_step(np.zeros((5, 3)), state._replace(c=state.c.astype(np.float32)), weights)
    with pytest.raises(ValueError, match=r"W_o: expected shape \(D\+H, H\) = \(7, 4\)"):
        per_gate_step(np.zeros((5, 3)), state, weights._replace(W_o=np.zeros((6, 4))))


def test_from_per_gate_stacks_blocks_in_order():
    """eq-stacked-gates: [W; U] = [W_i | W_f | W_C | W_o], b likewise."""
    D, H = 2, 3
    weights = PerGateParams(*(np.full((D + H, H) if k % 2 == 0 else (H,), float(k))
                              for k in range(8)))  # W_f=0, b_f=1, W_i=2, b_i=3, ...
    params = from_per_gate(weights)
    kernel = np.concatenate([params.W, params.U])
    expected_kernel = np.repeat([2.0, 0.0, 4.0, 6.0], H)  # i, f, C, o
    assert np.array_equal(kernel, np.tile(expected_kernel, (D + H, 1)))
    assert np.array_equal(params.b, np.repeat([3.0, 1.0, 5.0, 7.0], H))


def test_from_per_gate_refuses_a_plain_list(rng):
    weights = to_per_gate(random_params(rng, 3, 2))
    with pytest.raises(TypeError, match=r"^weights: expected PerGateParams\(W_f, .*got list$"):
        from_per_gate(list(weights))
