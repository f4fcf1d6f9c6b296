"""The seed-004 exercise cell: NumPy class, TensorFlow-ops class, canonical core."""

import numpy as np
import pytest

from lstm_ref import LSTMParams, LSTMState, lstm_step, verify
from lstm_ref.conventions import seed004
from lstm_ref.frameworks.tensorflow import MyLSTMCellTF
from lstm_ref.seeds import SEED_004

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_cell_equals_tensorflow_ops_cell(dtype):
    cell = seed004.MyLSTMCell(SEED_004.n_hidden, SEED_004.n_output, seed=4)
    x = SEED_004.x.astype(dtype)
    cell._init_weights(SEED_004.n_features)
    cell.weights = seed004.ExerciseWeights(*(w.astype(dtype) for w in cell.weights))
    tf_cell = MyLSTMCellTF(cell.weights)
    pairs = {}
    for step in range(5):  # the same input five times: the states carry over
        h, h_tf = cell(x), np.asarray(tf_cell(x))
        pairs[f"h step {step}"] = (h, h_tf)
    pairs.update({"c": (cell.c, np.asarray(tf_cell.c)), "m": (cell.m, np.asarray(tf_cell.m))})
    verify.compare(pairs, against="the exercise's cell in TensorFlow ops", tolerance=TOLERANCE[dtype])
    assert h.shape == (1, SEED_004.n_output)


def test_round_trip_exactly():
    weights = seed004.init_weights(7, 5, 3, np.random.default_rng(0))
    params, w_h, b_h = seed004.to_params(weights)
    back = seed004.from_params(params, w_h, b_h)
    assert all(np.array_equal(a, b) for a, b in zip(back, weights))
    assert params.V_o is weights.v_o and params.p_i is None


def test_full_matrix_peephole_generalizes_the_diagonal(rng):
    """c V_o with V_o = diag(p_o) is TF's diagonal output peephole p_o ⊙ c."""
    D, H = 3, 4
    base = dict(W=rng.normal(size=(D, 4 * H)), U=rng.normal(size=(H, 4 * H)),
                b=rng.normal(size=4 * H))
    p_o = rng.normal(size=H)
    state = LSTMState(rng.normal(size=(2, H)), rng.normal(size=(2, H)))
    x = rng.normal(size=(2, D))
    diagonal = lstm_step(x, state, LSTMParams(**base, p_o=p_o))
    full = lstm_step(x, state, LSTMParams(**base, V_o=np.diag(p_o)))
    verify.compare({"h": (full.h, diagonal.h)}, against="the diagonal peephole")


def test_output_must_not_exceed_hidden():
    with pytest.raises(ValueError, match="n_output: expected at most n_hidden = 5, got 6"):
        seed004.MyLSTMCell(5, 6)


def test_read_out_shape_is_checked():
    weights = seed004.init_weights(7, 5, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"w_h, b_h: expected shapes \(H, n_output\)"):
        seed004.to_params(weights._replace(b_h=np.zeros(2)))
