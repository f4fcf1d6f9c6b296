"""Peepholes, clipping and projection over sequences, against the real
tf.compat.v1 LSTMCell; and the seed-004 exercise cell as a special case of it."""

import numpy as np
import pytest

from lstm_ref import verify
from lstm_ref.conventions import seed004, tf1
from lstm_ref.frameworks.tensorflow import run_tf1_cell, tf1_cell

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}


def run_sequence(cell, X, state):
    """Outputs and cell states of the mirror and the real cell over X (N, T, D)."""
    real = tf1_cell(cell)
    ours = theirs = state
    trace = {"h": [], "h_tf": [], "c": [], "c_tf": []}
    for t in range(X.shape[1]):
        h, ours = cell(X[:, t], ours)
        h_tf, theirs = run_tf1_cell(real, X[:, t], theirs)
        for name, value in (("h", h), ("h_tf", h_tf), ("c", ours.c), ("c_tf", theirs.c)):
            trace[name].append(value)
    return {name: np.stack(values, axis=1) for name, values in trace.items()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_active_clipping_over_a_sequence(dtype, rng):
    """Both clips are reached, in lstm_ref and TF at the same places, and the rest agrees."""
    D, H, P, N, T = 3, 5, 3, 4, 8
    cell = tf1.LSTMCell(H, use_peepholes=True, cell_clip=1.0, num_proj=P, proj_clip=0.5)
    shapes = {"kernel": (D + P, 4 * H), "bias": (4 * H,), "projection/kernel": (H, P)}
    cell.set_weights([rng.normal(size=shapes.get(n, (H,))).astype(dtype)
                      for n in cell.weight_names()])
    X = rng.normal(scale=2.0, size=(N, T, D)).astype(dtype)
    state = tf1.LSTMStateTuple(rng.normal(size=(N, H)).astype(dtype),
                               rng.normal(size=(N, P)).astype(dtype))
    trace = run_sequence(cell, X, state)
    on_c_clip, on_h_clip = np.abs(trace["c_tf"]) == 1.0, np.abs(trace["h_tf"]) == 0.5
    assert on_c_clip.sum() > 0 and on_h_clip.sum() > 0
    assert np.array_equal(np.abs(trace["c"]) == 1.0, on_c_clip)
    assert np.array_equal(np.abs(trace["h"]) == 0.5, on_h_clip)
    verify.compare({"h": (trace["h"], trace["h_tf"]), "c": (trace["c"], trace["c_tf"])},
                   against="tf.compat.v1 LSTMCell, clipping active",
                   tolerance=TOLERANCE[dtype])


def test_exercise_cell_with_diagonal_peephole_is_tf_lstm_cell_plus_read_out(rng):
    D, H, n_out = 7, 5, 3
    weights = seed004.init_weights(D, H, n_out, rng)
    weights = weights._replace(v_o=np.diag(np.diag(weights.v_o)))
    params, w_h, b_h = seed004.to_params(weights)
    variables = tf1.to_tf1(params)
    tf_twin = tf1.LSTMCell(H, use_peepholes=True, forget_bias=0.0)
    tf_twin.set_weights([variables["kernel"], variables["bias"], np.zeros(H), np.zeros(H),
                         np.diag(weights.v_o)])
    exercise = seed004.MyLSTMCell(H, n_out)
    exercise.weights = weights
    real = tf1_cell(tf_twin)
    state = tf1.LSTMStateTuple(np.zeros((2, H)), np.zeros((2, H)))
    pairs = {}
    for t in range(4):
        x = rng.random((2, D))
        y = exercise(x)
        m_tf, state = run_tf1_cell(real, x, state)
        pairs[f"y step {t}"] = (y, seed004.read_out(m_tf, w_h, b_h))
    pairs.update({"m": (exercise.m, state.h), "c": (exercise.c, state.c)})
    verify.compare(pairs, against="tf.compat.v1 LSTMCell (diagonal V_o, read out)")
