"""The ONNX LSTM operator: lstm_ref's converter and mirror against ONNX Runtime and onnx.reference."""

import io
import warnings

import numpy as np
import onnx
import pytest

from conftest import random_params
from lstm_ref import LSTMParams, verify
from lstm_ref.conventions import onnx as onnx_convention
from lstm_ref.conventions.onnx import ONNXLSTM, from_onnx, reverse_within_lengths, to_onnx
from lstm_ref.conventions.torch import from_torch
from lstm_ref.frameworks import onnxruntime as ort_runner


def peephole_params(rng, D, H, dtype):
    params = random_params(rng, D, H, dtype)
    peepholes = {f"p_{g}": rng.normal(scale=0.5, size=H).astype(dtype) for g in "ifo"}
    return LSTMParams(**params.arrays(), **peepholes)


def problem(rng, *, direction, layout, dtype, peepholes=False, lens=False, state=False,
            N=3, T=5, D=4, H=3):
    """directions' params, the ONNX inputs (X, sequence_lens, initial_h, initial_c)."""
    dirs = onnx_convention.DIRECTIONS[direction]
    make = peephole_params if peepholes else random_params
    directions = [make(rng, D, H, dtype) for _ in range(dirs)]
    X = rng.normal(size=(T, N, D) if layout == 0 else (N, T, D)).astype(dtype)
    sequence_lens = rng.integers(1, T + 1, size=N).astype(np.int32) if lens else None
    initial_h = initial_c = None
    if state:
        shape = (dirs, N, H) if layout == 0 else (N, dirs, H)
        initial_h = rng.normal(size=shape).astype(dtype)
        initial_c = rng.normal(size=shape).astype(dtype)
    return directions, (X, sequence_lens, initial_h, initial_c)


def ours(directions, inputs, direction, layout, **attributes):
    X, lens, h0, c0 = inputs
    W, R, B, P = to_onnx(directions)
    op = ONNXLSTM(directions[0].hidden_size, direction, layout, **attributes)
    return op(X, W, R, B, lens, h0, c0, P)


def compare_outputs(mine, theirs, against, tolerance=None):
    return verify.compare({name: (a, b) for name, a, b in zip(("Y", "Y_h", "Y_c"), mine, theirs)},
                          against=against, tolerance=tolerance)


# ---------------------------------------------------------------------------
# The converter, NumPy only


def test_round_trip_is_exact(rng):
    directions = [peephole_params(rng, 4, 3, np.float64) for _ in range(2)]
    back = from_onnx(*to_onnx(directions))
    for p, q in zip(directions, back):
        for name, array in p.arrays().items():
            np.testing.assert_array_equal(getattr(q, name), array)


def test_gate_blocks_land_where_onnx_puts_them(rng):
    """W's rows are blocks i, o, f, c; P is i, o, f; B is [Wb; Rb]."""
    H, D = 2, 3
    W = np.concatenate([np.full((D, H), k, float) for k in range(4)], axis=1)  # i=0 f=1 g=2 o=3
    params = LSTMParams(W=W, U=W[:H] * 10, b=np.repeat(np.arange(4.0), H),
                        p_i=np.full(H, 0.0), p_f=np.full(H, 1.0), p_o=np.full(H, 3.0))
    onnx_W, onnx_R, B, P = to_onnx([params])
    assert onnx_W.shape == (1, 4 * H, D) and onnx_R.shape == (1, 4 * H, H)
    assert onnx_W[0, :, 0].tolist() == [0, 0, 3, 3, 1, 1, 2, 2]  # i, o, f, c
    assert onnx_R[0, :, 0].tolist() == [0, 0, 30, 30, 10, 10, 20, 20]
    assert B[0].tolist() == [0, 0, 3, 3, 1, 1, 2, 2] + [0] * 8
    assert P[0].tolist() == [0, 0, 3, 3, 1, 1]  # i, o, f


def test_both_biases_are_summed(rng):
    W = rng.normal(size=(1, 8, 3))
    R = rng.normal(size=(1, 8, 2))
    B = rng.normal(size=(1, 16))
    (params,) = from_onnx(W, R, B)
    summed = np.concatenate([B[:, :8] + B[:, 8:], np.zeros((1, 8))], axis=1)
    (params_summed,) = from_onnx(W, R, summed)
    np.testing.assert_array_equal(params.b, params_summed.b)


def test_reverse_within_lengths_keeps_padding_and_is_its_own_inverse():
    X = np.arange(8.0).reshape(2, 4)
    lens = np.array([2, 4])
    assert reverse_within_lengths(X, lens).tolist() == [[1, 0, 2, 3], [7, 6, 5, 4]]
    np.testing.assert_array_equal(reverse_within_lengths(reverse_within_lengths(X, lens), lens), X)


@pytest.mark.parametrize("call, message", [
    (lambda: from_onnx(np.zeros((1, 7, 3)), np.zeros((1, 7, 1))), "W: expected shape (dirs, 4H, D)"),
    (lambda: from_onnx(np.zeros((3, 8, 3)), np.zeros((3, 8, 2))), "dirs 1 or 2"),
    (lambda: from_onnx(np.zeros((1, 8, 3)), np.zeros((1, 8, 3))), "R: expected shape"),
    (lambda: from_onnx(np.zeros((1, 8, 3)), np.zeros((1, 8, 2)), np.zeros((1, 8))),
     "B: expected shape (dirs, 8H) = (1, 16)"),
    (lambda: from_onnx(np.zeros((1, 8, 3)), np.zeros((1, 8, 2)), None, np.zeros((1, 4))),
     "P: expected shape (dirs, 3H) = (1, 6)"),
    (lambda: ONNXLSTM(2, direction="backward"), "direction: expected one of"),
    (lambda: ONNXLSTM(2, layout=2), "layout: expected 0"),
    (lambda: ONNXLSTM(0), "hidden_size: expected a positive integer"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_bad_sequence_lens_and_states_are_named(rng):
    (params,), (X, _, _, _) = problem(rng, direction="forward", layout=0, dtype=np.float64)
    W, R, B, P = to_onnx([params])
    op = ONNXLSTM(3)
    with pytest.raises(ValueError, match=r"sequence_lens: expected lengths from 1 to T = 5"):
        op(X, W, R, B, np.array([1, 6, 2]))
    with pytest.raises(TypeError, match=r"sequence_lens: expected an integer array"):
        op(X, W, R, B, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"initial_h: expected shape \(dirs, N, H\) = \(1, 3, 3\)"):
        op(X, W, R, B, None, np.zeros((3, 1, 3)), np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match=r"W: expected shape \(dirs, 4H, D\) = \(1, 8, D\)"):
        ONNXLSTM(2)(X, W, R, B)
    with pytest.raises(ValueError, match=r"directions\[0\].W_proj: the ONNX LSTM operator"):
        to_onnx([LSTMParams(W=np.zeros((2, 8)), U=np.zeros((3, 8)), W_proj=np.zeros((2, 3)))])


def test_inputs_are_not_mutated(rng):
    directions, inputs = problem(rng, direction="bidirectional", layout=1, dtype=np.float64,
                                 peepholes=True, lens=True, state=True)
    weights = to_onnx(directions)
    copies = [None if a is None else a.copy() for a in (*inputs, *weights)]
    ours(directions, inputs, "bidirectional", 1)
    for before, after in zip(copies, (*inputs, *weights)):
        if before is not None:
            np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------------------
# Live: ONNX Runtime


DIRECTIONS = ("forward", "reverse", "bidirectional")
OPTIONS = [{}, {"peepholes": True}, {"lens": True, "state": True},
           {"peepholes": True, "lens": True, "state": True}]


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("options", OPTIONS)
def test_onnxruntime_float32(rng, direction, options):
    """ONNX Runtime's CPU kernel: float32, time-major (layout 0) only."""
    directions, inputs = problem(rng, direction=direction, layout=0, dtype=np.float32,
                                 **options)
    model = ort_runner.lstm_model(directions, direction=direction,
                                  sequence_lens=options.get("lens", False),
                                  initial_state=options.get("state", False))
    compare_outputs(ours(directions, inputs, direction, 0),
                    ort_runner.run_onnxruntime(model, *inputs), "onnxruntime LSTM")


@pytest.mark.parametrize("dtype, layout, message", [
    (np.float64, 0, "does not support double"),
    (np.float32, 1, r"layout == 1\) are not supported"),
])
def test_onnxruntime_refuses_float64_and_layout_1(rng, dtype, layout, message):
    """What the CPU kernel refuses, found by running it (the book says so)."""
    directions, inputs = problem(rng, direction="forward", layout=layout, dtype=dtype)
    model = ort_runner.lstm_model(directions, layout=layout)
    with pytest.raises(Exception, match=message):
        ort_runner.run_onnxruntime(model, *inputs)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", (0, 1))
@pytest.mark.parametrize("dtype", (np.float64, np.float32))
def test_onnx_reference(rng, direction, layout, dtype):
    """onnx.reference computes in NumPy in the model's dtype: float64 to 1e-12."""
    directions, inputs = problem(rng, direction=direction, layout=layout, dtype=dtype,
                                 peepholes=True, state=True)
    model = ort_runner.lstm_model(directions, direction=direction, layout=layout,
                                  initial_state=True)
    compare_outputs(ours(directions, inputs, direction, layout),
                    ort_runner.run_reference(model, *inputs), "onnx.reference LSTM")


def test_lstm_node_reads_back_what_was_built(rng):
    directions, _ = problem(rng, direction="bidirectional", layout=0, dtype=np.float32,
                            peepholes=True)
    model = ort_runner.lstm_model(directions, direction="bidirectional")
    attributes, weights, back = ort_runner.lstm_node(model)
    assert attributes["direction"] == "bidirectional" and attributes["hidden_size"] == 3
    for p, q in zip(directions, back):
        for name, array in p.arrays().items():
            np.testing.assert_array_equal(getattr(q, name), array)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_onnx_reference_ignores_sequence_lens(rng, direction):
    """onnx.reference reads every step of every sequence; ONNX Runtime stops at each length."""
    directions, inputs = problem(rng, direction=direction, layout=0, dtype=np.float32,
                                 lens=True)
    X, lens, _, _ = inputs
    lens[0] = 2  # at least one sequence shorter than T
    model = ort_runner.lstm_model(directions, direction=direction, sequence_lens=True)
    reference = ort_runner.run_reference(model, *inputs)
    compare_outputs(ours(directions, (X, None, None, None), direction, 0), reference,
                    "onnx.reference LSTM (sequence_lens ignored)")
    runtime = ort_runner.run_onnxruntime(model, *inputs)
    assert np.abs(runtime[1] - reference[1]).max() > 1e-3


# ---------------------------------------------------------------------------
# Live: an nn.LSTM exported by torch.onnx.export


@pytest.mark.parametrize("bidirectional", (False, True))
def test_torch_export_reads_back(bidirectional):
    """lstm_ref reads the exported file's weights and gives PyTorch's outputs."""
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 3, bidirectional=bidirectional)
    X = torch.randn(5, 2, 4)  # (T, N, D): nn.LSTM is time-major by default, like ONNX
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(lstm, (X,), buffer, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    attributes, weights, directions = ort_runner.lstm_node(model)
    assert attributes["hidden_size"] == 3
    direction = attributes.get("direction", "forward")
    assert direction == ("bidirectional" if bidirectional else "forward")

    # The forward direction's weights are PyTorch's layer-0 weights, converted.
    state = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    expected = from_torch(state["weight_ih_l0"], state["weight_hh_l0"], state["bias_ih_l0"],
                          state["bias_hh_l0"])
    np.testing.assert_array_equal(directions[0].W, expected.W)
    np.testing.assert_array_equal(directions[0].U, expected.U)

    with torch.no_grad():
        Y_torch, (h_torch, c_torch) = lstm(X)
    Y, Y_h, Y_c = ONNXLSTM(3, direction)(X.numpy(), *weights[:3], None, None, None, weights.P)
    T, N = X.shape[:2]
    Y_as_torch = Y.transpose(0, 2, 1, 3).reshape(T, N, -1)  # (T, N, dirs * H)
    verify.compare({"Y": (Y_as_torch, Y_torch.numpy()), "Y_h": (Y_h, h_torch.numpy()),
                    "Y_c": (Y_c, c_torch.numpy())},
                   against="torch.nn.LSTM (weights read from its ONNX export)")


# ---------------------------------------------------------------------------
# Attributes: activations


ACTIVATION_CASES = [
    (["HardSigmoid", "ScaledTanh", "ScaledTanh"], [0.3, 1.5, 1.5], [0.4, 0.7, 0.7]),
    (["Sigmoid", "LeakyRelu", "LeakyRelu"], [0.25, 0.25], None),
    (["Sigmoid", "Elu", "Elu"], [0.5, 0.5], None),
    (["Sigmoid", "Affine", "Affine"], [0.5, 0.5], [0.1, 0.1]),
    (["Sigmoid", "ThresholdedRelu", "ThresholdedRelu"], [0.3, 0.3], None),
    (["Sigmoid", "Softsign", "Softsign"], None, None),
    (["Sigmoid", "Softplus", "Softplus"], None, None),
    (["Sigmoid", "Relu", "Relu"], None, None),
    (["HardSigmoid", "Tanh", "Tanh"], None, None),  # HardSigmoid's defaults 0.2, 0.5
]


@pytest.mark.parametrize("activations, alpha, beta", ACTIVATION_CASES)
def test_activations_in_onnxruntime(rng, activations, alpha, beta):
    directions, inputs = problem(rng, direction="forward", layout=0, dtype=np.float32)
    attributes = dict(activations=activations, activation_alpha=alpha, activation_beta=beta)
    model = ort_runner.lstm_model(directions, **attributes)
    compare_outputs(ours(directions, inputs, "forward", 0, **attributes),
                    ort_runner.run_onnxruntime(model, *inputs),
                    f"onnxruntime LSTM ({'/'.join(activations)})")


@pytest.mark.parametrize("name", ["ThresholdedRelu", "ScaledTanh", "Affine"])
def test_onnxruntime_defaults_alpha_and_beta_to_zero(rng, name):
    """Given no alpha or beta, ONNX Runtime uses 0 for these three, not the ONNX operators' defaults."""
    directions, inputs = problem(rng, direction="forward", layout=0, dtype=np.float32)
    runtime = ort_runner.run_onnxruntime(
        ort_runner.lstm_model(directions, activations=["Sigmoid", name, name]), *inputs)
    zeros = [0.0, 0.0]
    compare_outputs(ours(directions, inputs, "forward", 0, activations=["Sigmoid", name, name],
                         activation_alpha=zeros, activation_beta=zeros), runtime,
                    f"onnxruntime LSTM ({name}, no alpha or beta)")
    spec = ours(directions, inputs, "forward", 0, activations=["Sigmoid", name, name])
    assert np.abs(spec[0] - runtime[0]).max() > 1e-3


def test_onnx_reference_ignores_activations(rng):
    directions, inputs = problem(rng, direction="forward", layout=0, dtype=np.float64)
    model = ort_runner.lstm_model(directions, activations=["HardSigmoid", "Relu", "Relu"])
    compare_outputs(ours(directions, inputs, "forward", 0), ort_runner.run_reference(model, *inputs),
                    "onnx.reference LSTM (activations ignored)")


def test_bad_activations_are_named():
    with pytest.raises(ValueError, match=r"activations: expected 6 names"):
        ONNXLSTM(2, "bidirectional", activations=["Sigmoid", "Tanh", "Tanh"])
    with pytest.raises(ValueError, match=r"activations: expected names among .* got 'Swish'"):
        ONNXLSTM(2, activations=["Sigmoid", "Swish", "Tanh"])
    with pytest.raises(ValueError, match=r"input_forget: expected 0 or 1"):
        ONNXLSTM(2, input_forget=2)


# ---------------------------------------------------------------------------
# Attributes: clip, input_forget, activations per direction


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("attributes", [
    {"clip": 0.6}, {"input_forget": 1}, {"clip": 1.5, "input_forget": 1},
    {"activations": ["Sigmoid", "Tanh", "Softsign"]},
])
def test_attributes_in_onnxruntime(rng, direction, attributes):
    """Large weights, so that the clip bites, with peepholes, states and sequence lengths."""
    if "activations" in attributes and direction == "bidirectional":
        attributes = {"activations": attributes["activations"] + ["HardSigmoid", "Relu", "Tanh"],
                      "activation_alpha": [0.3], "activation_beta": [0.6]}
    directions, inputs = problem(rng, direction=direction, layout=0, dtype=np.float32,
                                 peepholes=True, lens=True, state=True)
    directions = [LSTMParams(**{k: v * 2 for k, v in p.arrays().items()}) for p in directions]
    model = ort_runner.lstm_model(directions, direction=direction, sequence_lens=True,
                                  initial_state=True, **attributes)
    runtime = ort_runner.run_onnxruntime(model, *inputs)
    compare_outputs(ours(directions, inputs, direction, 0, **attributes), runtime,
                    f"onnxruntime LSTM ({', '.join(attributes)})")
    plain = ours(directions, inputs, direction, 0)
    assert np.abs(plain[0] - runtime[0]).max() > 1e-3  # the attribute changed the outputs


@pytest.mark.parametrize("attributes", [{"clip": 0.6}, {"input_forget": 1}])
def test_onnx_reference_ignores_clip_and_input_forget(rng, attributes):
    directions, inputs = problem(rng, direction="forward", layout=0, dtype=np.float64)
    directions = [LSTMParams(**{k: v * 2 for k, v in p.arrays().items()}) for p in directions]
    model = ort_runner.lstm_model(directions, **attributes)
    compare_outputs(ours(directions, inputs, "forward", 0), ort_runner.run_reference(model, *inputs),
                    f"onnx.reference LSTM ({', '.join(attributes)} ignored)")
