"""Activations: no overflow warnings, and each definition matches its framework."""

import warnings

import numpy as np
import pytest

from lstm_ref import activations
from lstm_ref.activations import get_activation

EXTREMES = np.array([-1e4, -1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0, 1e4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", activations.activation_names())
def test_no_warnings_and_dtype_kept(name, dtype):
    z = EXTREMES.astype(dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        out = get_activation(name)(z)
    assert out.dtype == dtype
    assert np.isfinite(out).all()


def test_sigmoid_values():
    z = EXTREMES
    assert activations.sigmoid(np.array(1e4)) == 1.0
    assert activations.sigmoid(np.array(-1e4)) == 0.0
    np.testing.assert_allclose(activations.sigmoid(z[3:-3]), 1 / (1 + np.exp(-z[3:-3])), rtol=1e-15)
    # symmetric: sigma(-z) = 1 - sigma(z)
    np.testing.assert_allclose(activations.sigmoid(-z), 1 - activations.sigmoid(z), atol=1e-16)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"activation: expected one of .*got 'sigmod'"):
        get_activation("sigmod")


def test_keras_version_must_be_2_or_3():
    with pytest.raises(ValueError, match="keras_version: expected 2 or 3, got 4"):
        get_activation("hard_sigmoid", keras_version=4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_match_keras_3(dtype):
    from lstm_ref.frameworks.tensorflow import keras

    z = np.linspace(-8, 8, 161).astype(dtype)
    for name in activations.activation_names():
        ours = get_activation(name, keras_version=3)(z)
        theirs = np.asarray(keras.activations.get(name)(z))
        np.testing.assert_allclose(ours, theirs, atol=1e-6 if dtype == np.float32 else 1e-15,
                                   err_msg=name)


def test_hard_sigmoid_keras_2_matches_tf_keras():
    from lstm_ref.frameworks.tensorflow import tf

    z = np.linspace(-4, 4, 81)
    np.testing.assert_allclose(activations.hard_sigmoid_keras2(z),
                               tf.keras.activations.hard_sigmoid(tf.constant(z)).numpy(), atol=1e-15)
    # The two definitions differ: slope 1/5 saturating at +-2.5 versus 1/6 at +-3.
    assert activations.hard_sigmoid_keras2(np.array(2.5)) == 1.0
    assert activations.hard_sigmoid_keras3(np.array(2.5)) < 1.0


def test_layer_norm_normalizes_the_last_axis(rng):
    z = rng.normal(loc=3, scale=2, size=(4, 6))
    out = activations.layer_norm(z, np.ones(6), np.zeros(6), epsilon=1e-12)
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-15)
    np.testing.assert_allclose(out.var(axis=-1), 1, atol=1e-12)
    # The last axis of any array, e.g. (T, N, K): each row on its own.
    stacked = np.stack([z, 2 * z + 1])
    out3 = activations.layer_norm(stacked, np.ones(6), np.zeros(6), epsilon=1e-12)
    np.testing.assert_allclose(out3.mean(axis=-1), 0, atol=1e-14)
    np.testing.assert_allclose(out3.var(axis=-1), 1, atol=1e-12)
