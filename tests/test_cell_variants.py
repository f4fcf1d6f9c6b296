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
