"""The conversion matrix (lstm_ref.frameworks.matrix): every layout into every real framework."""

import numpy as np
import pytest
from conftest import random_params

from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.conventions.registry import LAYOUTS
from lstm_ref.frameworks import matrix


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 4, 3)], ids=["smallest", "small"])
def test_every_cell_of_the_matrix(shape):
    N, T, D, H = shape
    rng = np.random.default_rng(sum(shape))
    params = random_params(rng, D, H)
    X = rng.normal(size=(N, T, D))
    columns = matrix.columns(D, H)
    assert list(columns) == list(LAYOUTS)
    cells = matrix.conversion_matrix(params, X, cols=columns)
    assert {(c.row, c.column) for c in cells} == {(r, k) for r in LAYOUTS for k in LAYOUTS}
    for key, column in columns.items():
        assert np.dtype(column.dtype) == np.dtype(matrix.COLUMN_DTYPES[key])
        pairs = {f"{c.row} -> {key}": (c.h_lstm_ref, c.h_real) for c in cells if c.column == key}
        for ours, theirs in pairs.values():
            assert ours.shape == theirs.shape == (N, T, H)
            assert theirs.dtype == column.dtype
        verify.compare(pairs, against=column.framework)


def test_a_column_tells_a_wrong_conversion_apart():
    """The columns are live: weights read in the wrong gate order do not pass."""
    rng = np.random.default_rng(7)
    params = random_params(rng, 2, 2)
    X = rng.normal(size=(2, 3, 2))
    columns = matrix.columns(2, 2, keys=["torch", "onnx"])
    # ONNX's arrays (blocks i, o, f, c) read as PyTorch's (i, f, g, o) without reordering.
    onnx = LAYOUTS["onnx"].to_arrays(params)
    misread = LAYOUTS["torch"].from_arrays({
        "weight_ih_l0": onnx["W"][0], "weight_hh_l0": onnx["R"][0],
        "bias_ih_l0": onnx["B"][0, :8], "bias_hh_l0": onnx["B"][0, 8:]})
    right = columns["torch"].run(params, X)
    # Not a comparison for the summary: a plain difference, which must be large.
    assert np.abs(columns["torch"].run(misread, X) - right).max() > 1e-2
    assert np.abs(columns["onnx"].run(params.astype(np.float32), X.astype(np.float32))
                  - right).max() < 1e-6


def test_bad_input():
    with pytest.raises(ValueError, match=r"layout: expected one of keras3, .*got 'caffe'"):
        matrix.columns(2, 2, keys=["caffe"])
    with pytest.raises(TypeError, match=r"params: expected LSTMParams, got dict"):
        matrix.conversion_matrix({"W": np.ones((2, 8))}, np.ones((1, 1, 2)))
    with pytest.raises(ValueError, match=r"layout: expected one of"):
        matrix.conversion_matrix(random_params(np.random.default_rng(0), 2, 2),
                                 np.ones((1, 1, 2)), rows=["caffe"], cols={})


def test_peepholes_and_projection_run_where_a_layout_holds_them():
    rng = np.random.default_rng(11)
    D, H, P = 3, 2, 1
    base = random_params(rng, D, H)
    peepholes = LSTMParams(W=base.W, U=base.U, b=base.b, p_i=rng.normal(size=H),
                           p_f=rng.normal(size=H), p_o=rng.normal(size=H))
    projection = LSTMParams(W=base.W, U=rng.normal(size=(P, 4 * H)), b=base.b,
                            W_proj=rng.normal(size=(H, P)))
    X = rng.normal(size=(2, 3, D))
    holds = {"peepholes": ["tf1", "raw_ops", "onnx", "tflite"],
             "projection": ["tf1", "torch", "tflite"]}
    columns = matrix.columns(D, H, keys=["tf1", "raw_ops", "torch", "onnx", "tflite"])
    for what, params in (("peepholes", peepholes), ("projection", projection)):
        for key in holds[what]:
            column = columns[key]
            p, X_c = params.astype(column.dtype), X.astype(column.dtype)
            verify.compare({f"h_t with {what}": (lstm_sequence(X_c, p)[0], column.run(p, X_c))},
                           against=column.framework)
