"""LayerNormBasicLSTMCell, which no longer runs in TensorFlow 2.

Verified four ways: against the expected values TensorFlow published in its
own tests (tensorflow/contrib/rnn/python/kernel_tests/rnn_cell_test.py,
class LayerNormBasicLSTMCellTest); with layer_norm=False against the real
BasicLSTMCell; its layer normalization against Keras's LayerNormalization;
and the whole step against the cell's call transcribed into TF 2 ops.
"""

import numpy as np
import pytest

from lstm_ref import verify
from lstm_ref.activations import layer_norm
from lstm_ref.cell import normalize_gates
from lstm_ref.conventions import tf1
from lstm_ref.frameworks.tensorflow import keras, run_layer_norm_cell_tf, run_tf1_cell, tf1_cell
from lstm_ref.seeds import SEED_001, TF_LAYER_NORM_TESTS

TF = TF_LAYER_NORM_TESTS  # the expected values TF's own tests publish

PUBLISHED = "TensorFlow's published LayerNormBasicLSTMCellTest values"
# The published numbers are float32 results printed to 8 digits; TF's own
# test accepts rtol=1e-5 (plus atol=1e-6). lstm_ref is held to 1e-6.
PUBLISHED_TOLERANCE = 1e-6


def published_cells(layer_norm, dtype, n_layers, input_size):
    """Cells as TF's tests build them: every kernel (and bias) entry 0.5."""
    cells = []
    for k in range(n_layers):
        cell = tf1.LayerNormBasicLSTMCell(2, layer_norm=layer_norm)
        D = input_size if k == 0 else 2
        bias = None if layer_norm else np.full(8, 0.5, dtype)
        cell.set_kernel(np.full((D + 2, 8), 0.5, dtype), bias)
        cells.append(cell)
    return cells


def state(c, h, dtype):
    return tf1.LSTMStateTuple(c=0.1 * np.array([c], dtype), h=0.1 * np.array([h], dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layer_norm", [True, False])
def test_published_two_layers(dtype, layer_norm):
    new_h = TF.stack_ln_h if layer_norm else TF.stack_h_new
    new_c = TF.stack_ln_c if layer_norm else TF.stack_c_new
    expected = dict(h=new_h[1], c0=new_c[0], h0=new_h[0], c1=new_c[1], h1=new_h[1])
    multi = tf1.MultiRNNCell(published_cells(layer_norm, dtype, 2, 2))
    states = tuple(tf1.LSTMStateTuple(c=c.astype(dtype), h=h.astype(dtype))
                   for c, h in zip(TF.stack_c, TF.stack_h))
    h, (s0, s1) = multi(np.ones((1, 2), dtype), states)
    ours = dict(h=h, c0=s0.c, h0=s0.h, c1=s1.c, h1=s1.h)
    verify.compare({k: (ours[k], v) for k, v in expected.items()},
                   against=PUBLISHED, tolerance=PUBLISHED_TOLERANCE)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layer_norm, expected_h, expected_c", [
    (True, TF.ln_h[0], TF.ln_c[0]),
    (False, SEED_001.tf_h[0], SEED_001.tf_c[0]),  # seed 001's numbers
])
def test_published_input_size_3(dtype, layer_norm, expected_h, expected_c):
    (cell,) = published_cells(layer_norm, dtype, 1, 3)
    h, new = cell(np.ones((1, 3), dtype), state([0, 1], [2, 3], dtype))
    verify.compare({"h": (h, np.array([expected_h])), "c": (new.c, np.array([expected_c])),
                    "state h": (new.h, np.array([expected_h]))},
                   against=PUBLISHED, tolerance=PUBLISHED_TOLERANCE)


def test_published_dropout_values():
    """keep_prob 0.5, all weights 1, x = c = h = 1: each unit ends in c_low (dropped)
    or c_high (kept). TF checks these to 1e-4 (one-sided); so do we, both ways."""
    c_high, c_low = TF.dropout_c_high, TF.dropout_c_low
    h_low, h_high = TF.dropout_h_low, TF.dropout_h_high
    cell = tf1.LayerNormBasicLSTMCell(5, layer_norm=False, dropout_keep_prob=0.5)
    cell.set_kernel(np.ones((10, 20)), np.ones(20))
    mask = np.array([[1.0, 0.0, 1.0, 0.0, 0.0]])
    h, new = cell(np.ones((1, 5)), tf1.LSTMStateTuple(np.ones((1, 5)), np.ones((1, 5))), mask)
    kept = mask.astype(bool)
    verify.compare({"c kept": (new.c[kept], np.full(2, c_high)),
                    "c dropped": (new.c[~kept], np.full(3, c_low)),
                    "h kept": (h[kept], np.full(2, h_high)),
                    "h dropped": (h[~kept], np.full(3, h_low))},
                   against=PUBLISHED + " (dropout)", tolerance=1e-4)


def test_dropout_is_deterministic_given_a_seed():
    def run(seed):
        cell = tf1.LayerNormBasicLSTMCell(6, dropout_keep_prob=0.5, dropout_prob_seed=seed)
        cell.set_kernel(np.full((9, 24), 0.3))
        return cell(np.ones((4, 3)), cell.zero_state(4, np.float64))[1].c

    assert np.array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_without_layer_norm_it_is_the_real_basic_lstm_cell(dtype, rng):
    kernel, bias = rng.normal(size=(7, 16)).astype(dtype), rng.normal(size=16).astype(dtype)
    ln_cell = tf1.LayerNormBasicLSTMCell(4, layer_norm=False, forget_bias=0.7)
    ln_cell.set_weights([kernel, bias])
    basic = tf1.BasicLSTMCell(4, forget_bias=0.7)
    basic.set_weights([kernel, bias])
    x = rng.normal(size=(5, 3)).astype(dtype)
    state0 = tf1.LSTMStateTuple(*(rng.normal(size=(5, 4)).astype(dtype) for _ in range(2)))
    h, new = ln_cell(x, state0)
    h_tf, new_tf = run_tf1_cell(tf1_cell(basic), x, state0)
    verify.compare({"h": (h, h_tf), "c": (new.c, new_tf.c)},
                   against="tf.compat.v1 BasicLSTMCell",
                   tolerance=1e-12 if dtype == np.float64 else 1e-6)


def test_layer_norm_matches_keras_layer_normalization(rng):
    z = rng.normal(loc=2.0, scale=3.0, size=(6, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    layer = keras.layers.LayerNormalization(epsilon=1e-12, dtype="float64")
    layer.build(z.shape)
    layer.set_weights([gamma, beta])
    verify.compare({"layer_norm(z)": (layer_norm(z, gamma, beta, 1e-12), np.asarray(layer(z)))},
                   against="keras.layers.LayerNormalization")


def test_each_gate_block_is_normalized_separately(rng):
    cell = tf1.LayerNormBasicLSTMCell(3, norm_gain=1.0, norm_shift=0.0)
    cell.set_kernel(rng.normal(size=(7, 12)))
    z = rng.normal(loc=5.0, size=(2, 12))
    normalized = normalize_gates(z, cell.params, 1e-12)
    for block in np.split(normalized, 4, axis=1):
        np.testing.assert_allclose(block.mean(axis=1), 0, atol=1e-14)
        np.testing.assert_allclose(block.std(axis=1), 1, atol=1e-9)


def test_weight_names_follow_tf():
    assert tf1.LayerNormBasicLSTMCell(2).weight_names() == [
        "kernel", "input/gamma", "input/beta", "transform/gamma", "transform/beta",
        "forget/gamma", "forget/beta", "output/gamma", "output/beta", "state/gamma", "state/beta"]
    assert tf1.LayerNormBasicLSTMCell(2, layer_norm=False).weight_names() == ["kernel", "bias"]


def test_layer_norm_weights_round_trip(rng):
    cell = tf1.LayerNormBasicLSTMCell(3)
    weights = [rng.normal(size=(5, 12))] + [rng.normal(size=3) for _ in range(10)]
    cell.set_weights(weights)
    assert all(np.array_equal(a, b) for a, b in zip(cell.get_weights(), weights))
    assert cell.params.layer_norm and cell.params.b is None


def test_candidate_mask_shape_is_checked():
    cell = tf1.LayerNormBasicLSTMCell(3, dropout_keep_prob=0.5)
    cell.set_kernel(np.ones((5, 12)))
    with pytest.raises(ValueError, match=r"candidate_mask: expected shape \(N, H\) = \(1, 3\)"):
        cell(np.ones((1, 2)), cell.zero_state(1, np.float64), np.ones((1, 4)))


def random_ln_weights(cell, D, rng, dtype):
    """Random arrays for every variable of a LayerNormBasicLSTMCell, gains around 1."""
    H = cell.num_units
    shapes = {"kernel": (D + H, 4 * H), "bias": (4 * H,)}
    return [rng.normal(loc=1.0 if name.endswith("gamma") else 0.0, scale=0.5,
                       size=shapes.get(name, (H,))).astype(dtype)
            for name in cell.weight_names()]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layer_norm", [True, False])
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_against_the_cell_transcribed_into_tf_ops(dtype, layer_norm, keep_prob, rng):
    N, D, H = 3, 4, 5
    cell = tf1.LayerNormBasicLSTMCell(H, forget_bias=0.7, layer_norm=layer_norm,
                                      dropout_keep_prob=keep_prob)
    cell.set_weights(random_ln_weights(cell, D, rng, dtype))
    ours = theirs = tf1.LSTMStateTuple(*(rng.normal(size=(N, H)).astype(dtype) for _ in range(2)))
    pairs = {}
    for t in range(4):  # several steps: the normalized state is carried
        x = rng.normal(scale=2.0, size=(N, D)).astype(dtype)
        mask = (rng.random((N, H)) < keep_prob).astype(dtype) if keep_prob < 1 else None
        h, ours = cell(x, ours, mask)
        h_tf, theirs = run_layer_norm_cell_tf(cell, x, theirs, mask)
        pairs[f"h step {t}"] = (h, h_tf)
        assert h.dtype == h_tf.dtype == dtype
    pairs.update({"c": (ours.c, theirs.c), "state h": (ours.h, theirs.h)})
    verify.compare(pairs, against="LayerNormBasicLSTMCell.call in TF 2 ops",
                   tolerance=1e-12 if dtype == np.float64 else 1e-6)


def test_transcription_needs_a_mask_for_dropout():
    cell = tf1.LayerNormBasicLSTMCell(3, dropout_keep_prob=0.5)
    cell.set_kernel(np.ones((5, 12)))
    with pytest.raises(ValueError, match="candidate_mask: expected a mask of shape"):
        run_layer_norm_cell_tf(cell, np.ones((1, 2)), cell.zero_state(1, np.float64))


def test_published_dropout_values_are_those_of_a_zero_bias():
    """TF's dropout test expects the values of a cell whose bias is 0, to 1e-10;
    with the bias of 1 it sets up, every value is higher (up to 6.8e-5)."""
    expected = dict(c_high=TF.dropout_c_high, c_low=TF.dropout_c_low,
                    h_low=TF.dropout_h_low, h_high=TF.dropout_h_high)
    mask = np.array([[1.0, 0.0, 1.0, 0.0, 0.0]])
    kept = mask[0] == 1
    ones = np.ones((1, 5))
    results = {}
    for bias in (0.0, 1.0):
        cell = tf1.LayerNormBasicLSTMCell(5, layer_norm=False, dropout_keep_prob=0.5)
        cell.set_kernel(np.ones((10, 20)), np.full(20, bias))
        h, new = cell(ones, tf1.LSTMStateTuple(ones, ones), mask)
        results[bias] = dict(c_high=new.c[0, kept], c_low=new.c[0, ~kept],
                             h_high=h[0, kept], h_low=h[0, ~kept])
    verify.compare({k: (v, np.full(v.shape, expected[k])) for k, v in results[0.0].items()},
                   against=PUBLISHED + " (dropout, zero bias)", tolerance=1e-10)
    assert all((results[1.0][k] > expected[k] + 1e-5).all() for k in expected)
