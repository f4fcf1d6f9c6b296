"""The cuDNN canonical layout: PyTorch's nn.LSTM and Keras 2's CuDNNLSTM, checked on the CPU."""

import numpy as np
import pytest

from conftest import random_params
from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.conventions.cudnn import (from_cudnn, from_flat, from_keras_cudnn,
                                        from_torch_canonical, to_cudnn, to_flat, to_keras_cudnn)
from lstm_ref.conventions.keras import from_keras

N, T, D, H = 2, 5, 3, 4


def test_round_trips_are_exact(rng):
    params = random_params(rng, D, H)
    weights = to_cudnn(params)
    back = from_cudnn(*from_flat(to_flat(weights), D, H))
    for name in ("W", "U", "b"):
        np.testing.assert_array_equal(getattr(back, name), getattr(params, name))
    keras_weights = to_keras_cudnn(weights)
    np.testing.assert_array_equal(to_flat(from_keras_cudnn(*keras_weights)), to_flat(weights))


def test_torch_lstm_is_the_canonical_layout():
    """nn.LSTM on the CPU, weights through cuDNN's canonical form into lstm_ref."""
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(D, H, batch_first=True)
    state = [p.detach().numpy() for p in (lstm.weight_ih_l0, lstm.weight_hh_l0,
                                          lstm.bias_ih_l0, lstm.bias_hh_l0)]
    weights = from_torch_canonical(*state)
    flat_torch = np.concatenate([a.ravel() for a in state])
    np.testing.assert_array_equal(to_flat(weights), flat_torch)  # the same buffer, in order
    X = torch.randn(N, T, D)
    with torch.no_grad():
        y_torch, (h_torch, c_torch) = lstm(X)
    y, (h, c) = lstm_sequence(X.numpy(), from_cudnn(*weights))
    verify.compare({"h_t": (y, y_torch.numpy()), "c_T": (c, c_torch.numpy()[0])},
                   against="torch.nn.LSTM (CPU), weights as cuDNN's canonical matrices")


def test_keras_cudnn_lstm_weights_mean_what_tf_keras_says(rng):
    """Keras 2's CuDNNLSTM arrays, read by lstm_ref and by tf-keras's own converter.

    The converted weights go into a tf-keras LSTM, run on the CPU: the
    non-cuDNN layer of the same framework.
    """
    from lstm_ref.frameworks.tensorflow import keras_cudnn_lstm_weights_as_lstm, run_keras_lstm

    cudnn_weights = [rng.normal(scale=0.5, size=(D, 4 * H)).astype(np.float32),
                     rng.normal(scale=0.5, size=(H, 4 * H)).astype(np.float32),
                     rng.normal(scale=0.5, size=8 * H).astype(np.float32)]
    keras_lstm_weights = keras_cudnn_lstm_weights_as_lstm(cudnn_weights)
    X = rng.normal(size=(N, T, D)).astype(np.float32)
    y_keras, _ = run_keras_lstm(X, from_keras(*keras_lstm_weights), keras_version=2)
    ours = from_cudnn(*from_keras_cudnn(*cudnn_weights))
    y, _ = lstm_sequence(X, ours)
    verify.compare({"h_t": (y, y_keras)},
                   against="tf.keras.layers.LSTM holding tf-keras's conversion of CuDNNLSTM weights")
    # Read as an LSTM's kernel instead, the same arrays give another network.
    wrong = LSTMParams(W=cudnn_weights[0], U=cudnn_weights[1],
                       b=cudnn_weights[2][:4 * H] + cudnn_weights[2][4 * H:])
    assert np.abs(lstm_sequence(X, wrong)[0] - y_keras).max() > 1e-2


def test_bad_input_is_named(rng):
    weights = to_cudnn(random_params(rng, D, H))
    with pytest.raises(ValueError, match=r"flat: expected shape \(4HD \+ 4HH \+ 8H,\) = \(144,\)"):
        from_flat(np.zeros(10), D, H)
    with pytest.raises(TypeError, match=r"R: expected a list of 4 arrays"):
        from_cudnn(weights.W, weights.R[:3], weights.b_W, weights.b_R)
    with pytest.raises(ValueError, match=r"R\[2\]: expected shape \(H, H\) = \(4, 4\)"):
        from_cudnn(weights.W, [*weights.R[:2], np.zeros((4, 3)), weights.R[3]], weights.b_W,
                   weights.b_R)
    with pytest.raises(ValueError, match=r"params.p_i: cuDNN's LSTM has no such weight"):
        to_cudnn(LSTMParams(W=np.zeros((D, 4 * H)), U=np.zeros((H, 4 * H)), p_i=np.zeros(H)))
    with pytest.raises(ValueError, match=r"bias: expected shape \(8H,\) = \(32,\)"):
        from_keras_cudnn(np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H))
