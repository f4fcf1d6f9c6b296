"""lstm_ref.conventions.registry: nine layouts, each converting both ways exactly, any into any."""

import numpy as np
import pytest
from conftest import random_params, sequence_shapes
from hypothesis import given

from lstm_ref import LSTMParams
from lstm_ref.conventions.registry import LAYOUTS, TF_FORGET_BIAS, convert, layout

KEYS = list(LAYOUTS)


def same_params(a: LSTMParams, b: LSTMParams, exact: bool) -> None:
    for name in ("W", "U", "b"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        if exact:
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:  # a run-time forget bias is folded out and back in: one rounding each way
            np.testing.assert_allclose(x, y, rtol=0, atol=4 * np.finfo(x.dtype).eps, err_msg=name)
    assert b.extras() == a.extras()


def test_the_nine_layouts():
    assert KEYS == ["keras3", "keras2", "tf1", "raw_ops", "torch", "flax", "onnx", "tflite",
                    "cudnn"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(shape=sequence_shapes(1, 1, 5, 5))
def test_every_layout_round_trips(shape, dtype):
    _, _, D, H, seed = shape
    params = random_params(np.random.default_rng(seed), D, H, dtype)
    before = {name: a.copy() for name, a in params.arrays().items()}
    for key in KEYS:
        arrays = LAYOUTS[key].to_arrays(params)
        back = LAYOUTS[key].from_arrays(arrays)
        same_params(params, back, exact=key not in ("tf1", "raw_ops"))
    for name, a in params.arrays().items():  # the input is left as it was
        np.testing.assert_array_equal(a, before[name])


def test_layout_arrays_by_the_frameworks_names_and_shapes():
    D, H = 3, 2
    params = random_params(np.random.default_rng(0), D, H)
    shapes = {key: {name: np.shape(a) for name, a in LAYOUTS[key].to_arrays(params).items()}
              for key in KEYS}
    assert shapes["keras3"] == {"kernel": (D, 4 * H), "recurrent_kernel": (H, 4 * H),
                                "bias": (4 * H,)}
    assert shapes["tf1"] == {"kernel": (D + H, 4 * H), "bias": (4 * H,), "forget_bias": ()}
    assert shapes["raw_ops"] == {"w": (D + H, 4 * H), "b": (4 * H,), "forget_bias": ()}
    assert shapes["torch"] == {"weight_ih_l0": (4 * H, D), "weight_hh_l0": (4 * H, H),
                               "bias_ih_l0": (4 * H,), "bias_hh_l0": (4 * H,)}
    assert shapes["onnx"] == {"W": (1, 4 * H, D), "R": (1, 4 * H, H), "B": (1, 8 * H)}
    assert len(shapes["flax"]) == 12 and shapes["flax"]["ii/kernel"] == (D, H)
    assert shapes["flax"]["hf/bias"] == (H,)
    assert len(shapes["tflite"]) == 12
    assert shapes["tflite"]["input_to_forget_weights"] == (H, D)
    assert shapes["cudnn"]["flat"] == (4 * H * D + 4 * H * H + 8 * H,)


def test_tf_layouts_store_the_bias_less_the_run_time_forget_bias():
    H = 2
    params = random_params(np.random.default_rng(1), 3, H)
    tf1 = LAYOUTS["tf1"].to_arrays(params)
    # TF 1.x's blocks are i, j, f, o: the forget block is the third.
    np.testing.assert_allclose(tf1["bias"][2 * H:3 * H], params.b[H:2 * H] - TF_FORGET_BIAS)
    assert float(tf1["forget_bias"]) == TF_FORGET_BIAS


@pytest.mark.parametrize("source", KEYS)
def test_convert_is_the_targets_to_arrays_of_the_sources_from_arrays(source):
    params = random_params(np.random.default_rng(2), 2, 3)
    arrays = LAYOUTS[source].to_arrays(params)
    for target in KEYS:
        converted = convert(arrays, source, target)
        expected = LAYOUTS[target].to_arrays(LAYOUTS[source].from_arrays(arrays))
        assert converted.keys() == expected.keys()
        for name in expected:
            np.testing.assert_array_equal(converted[name], expected[name])


def test_what_a_layout_cannot_hold_is_refused_by_name():
    rng = np.random.default_rng(3)
    base = random_params(rng, 2, 2)
    peepholes = LSTMParams(W=base.W, U=base.U, b=base.b, p_i=np.ones(2), p_f=np.ones(2),
                           p_o=np.ones(2))
    projection = LSTMParams(W=base.W, U=rng.normal(size=(1, 8)), b=base.b,
                            W_proj=rng.normal(size=(2, 1)))
    holds = {"peepholes": {"tf1", "raw_ops", "onnx", "tflite"},
             "projection": {"tf1", "torch", "tflite"}}
    for what, params in (("peepholes", peepholes), ("projection", projection)):
        for key in KEYS:
            if key in holds[what]:
                back = LAYOUTS[key].from_arrays(LAYOUTS[key].to_arrays(params))
                assert back.extras() == params.extras()
            else:
                with pytest.raises(ValueError, match=r"p_i|W_proj"):
                    LAYOUTS[key].to_arrays(params)


def test_keras_refuses_what_it_would_drop():
    params = LSTMParams(W=np.ones((2, 8)), U=np.ones((2, 8)), b=np.zeros(8), p_f=np.ones(2))
    with pytest.raises(ValueError, match=r"params.p_f: Keras's LSTM has no such weight"):
        LAYOUTS["keras3"].to_arrays(params)


def test_bad_input():
    with pytest.raises(ValueError, match=r"layout: expected one of keras3, .*got 'keras4'"):
        layout("keras4")
    with pytest.raises(ValueError, match=r"layout: expected one of"):
        convert({}, "keras3", "caffe")
    with pytest.raises(TypeError, match=r"params: expected LSTMParams, got dict"):
        LAYOUTS["torch"].to_arrays({"W": np.ones((2, 8))})
