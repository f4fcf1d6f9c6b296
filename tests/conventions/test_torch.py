"""PyTorch's nn.LSTM layout, without torch: against PyTorch's documented equations.

torch is not a requirement of the tests; the benchmark (lstm_ref.bench)
checks the conversion against a real nn.LSTM when torch is installed.
"""

import numpy as np
import pytest

from conftest import random_params, random_state
from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.activations import sigmoid
from lstm_ref.conventions.torch import from_torch, to_torch


def torch_documented_lstm(X, weight_ih, weight_hh, bias_ih, bias_hh, h, c):
    """nn.LSTM as its documentation writes it, one row per gate, weights on the left.

    i = σ(W_ii x + b_ii + W_hi h + b_hi), f likewise, g = tanh(...), o = σ(...),
    c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'); W_ii is rows [0, H) of weight_ih,
    W_if rows [H, 2H), W_ig [2H, 3H), W_io [3H, 4H). Works on column vectors
    per example, as the documentation does.
    """
    N, T, _ = X.shape
    H = weight_hh.shape[1]
    rows = {gate: slice(k * H, (k + 1) * H) for k, gate in enumerate("ifgo")}
    outputs = np.empty((N, T, H))
    for n in range(N):
        h_n, c_n = h[n], c[n]
        for t in range(T):
            x = X[n, t]

            def gate(name, activation):
                r = rows[name]
                return activation(weight_ih[r] @ x + bias_ih[r] + weight_hh[r] @ h_n + bias_hh[r])

            i, f, g, o = (gate("i", sigmoid), gate("f", sigmoid), gate("g", np.tanh),
                          gate("o", sigmoid))
            c_n = f * c_n + i * g
            h_n = o * np.tanh(c_n)
            outputs[n, t] = h_n
    return outputs


def torch_weights(rng, D, H, dtype=np.float64):
    return [rng.normal(scale=0.5, size=shape).astype(dtype)
            for shape in [(4 * H, D), (4 * H, H), (4 * H,), (4 * H,)]]


def test_from_torch_matches_pytorchs_documented_equations(rng):
    N, T, D, H = 3, 6, 4, 5
    weights = torch_weights(rng, D, H)
    X = rng.normal(size=(N, T, D))
    state = random_state(rng, N, H)
    outputs, _ = lstm_sequence(X, from_torch(*weights), initial_state=state)
    expected = torch_documented_lstm(X, *weights, state.h, state.c)
    verify.compare({"outputs": (outputs, expected)},
                   against="nn.LSTM's documented equations, in NumPy")


def test_from_torch_transposes_and_sums(rng):
    weight_ih, weight_hh, bias_ih, bias_hh = torch_weights(rng, 3, 2, np.float32)
    params = from_torch(weight_ih, weight_hh, bias_ih, bias_hh)
    assert params.W.shape == (3, 8) and params.U.shape == (2, 8)
    assert params.W.flags.c_contiguous and params.W.dtype == np.float32
    np.testing.assert_array_equal(params.W, weight_ih.T)
    np.testing.assert_array_equal(params.U, weight_hh.T)
    np.testing.assert_array_equal(params.b, bias_ih + bias_hh)


def test_to_torch_round_trip(rng):
    params = random_params(rng, 3, 4)
    weight_ih, weight_hh, bias_ih, bias_hh = to_torch(params)
    assert weight_ih.shape == (16, 3) and weight_hh.shape == (16, 4)
    np.testing.assert_array_equal(bias_hh, 0)
    back = from_torch(weight_ih, weight_hh, bias_ih, bias_hh)
    verify.compare({"W": (back.W, params.W), "U": (back.U, params.U), "b": (back.b, params.b)},
                   against="the original parameters", tolerance=0.0)


def test_without_bias(rng):
    params = random_params(rng, 3, 4, bias=False)
    weights = to_torch(params)
    assert len(weights) == 2
    assert from_torch(*weights).b is None


@pytest.mark.parametrize("arguments, error, message", [
    (lambda w: (w[0][:7], w[1]), ValueError,
     r"^weight_ih: expected shape \(4H, D\), a first axis that is a positive multiple of 4"),
    (lambda w: (w[0], w[1][:, :1]), ValueError,
     r"^weight_hh: expected shape \(4H, H\) = \(8, 2\), got \(8, 1\)"),
    (lambda w: (w[0], w[1], w[2]), ValueError, r"^bias_hh: PyTorch has both biases or neither"),
    (lambda w: (w[0], w[1], w[2][:4], w[3]), ValueError,
     r"^bias_ih: expected shape \(4H,\) = \(8,\), got \(4,\)"),
    (lambda w: (w[0], w[1].astype(np.float32)), TypeError,
     r"^weight_hh: expected dtype float64 \(the dtype of weight_ih\), got float32"),
    (lambda w: (w[0], w[1], w[2], w[3] * np.nan), ValueError, r"^bias_hh: contains nan"),
])
def test_bad_weights_are_named(arguments, error, message, rng):
    weights = torch_weights(rng, 3, 2)
    with pytest.raises(error, match=message):
        from_torch(*arguments(weights))


def test_to_torch_refuses_what_nn_lstm_lacks(rng):
    params = random_params(rng, 2, 3)
    peephole = LSTMParams(W=params.W, U=params.U, b=params.b, p_f=np.ones(3))
    with pytest.raises(ValueError, match=r"^params.p_f: nn.LSTM has no such weight"):
        to_torch(peephole)
