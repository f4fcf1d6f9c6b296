"""PyTorch's nn.LSTM layout, without torch: against PyTorch's documented equations,
round trips and errors. tests/conventions/test_torch_live.py runs the real nn.LSTM."""

import numpy as np
import pytest

from conftest import random_params, random_state
from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.activations import sigmoid
from lstm_ref.conventions.torch import (LSTM, LSTMCell, from_state_dict, from_torch,
                                       lengths_mask, state_dict_names, to_state_dict, to_torch,
                                       torch_options)


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


def random_layers(rng, D, H, num_layers, directions, P=None, bias=True, dtype=np.float64):
    """Canonical layers[k][d] of an nn.LSTM: layer k > 0 reads directions * P features."""
    P = P or H
    layers = []
    for k in range(num_layers):
        D_k = D if k == 0 else directions * P
        layers.append([LSTMParams(
            W=rng.normal(size=(D_k, 4 * H)).astype(dtype),
            U=rng.normal(size=(P, 4 * H)).astype(dtype),
            b=rng.normal(size=4 * H).astype(dtype) if bias else None,
            W_proj=rng.normal(size=(H, P)).astype(dtype) if P != H else None)
            for _ in range(directions)])
    return layers


@pytest.mark.parametrize("num_layers, directions, P, bias", [
    (1, 1, None, True), (2, 2, None, True), (3, 1, 2, False), (2, 2, 3, True), (1, 2, 1, False)])
def test_state_dict_round_trip_is_exact(num_layers, directions, P, bias, rng):
    layers = random_layers(rng, 3, 4, num_layers, directions, P, bias)
    state_dict = to_state_dict(layers)
    options = torch_options(layers)
    assert list(state_dict) == state_dict_names(options["num_layers"], options["bidirectional"],
                                                options["bias"], options["proj_size"])
    back = from_state_dict(state_dict)
    pairs = {f"layers[{k}][{d}].{name}": (getattr(back[k][d], name), array)
             for k, directions_ in enumerate(layers) for d, params in enumerate(directions_)
             for name, array in params.arrays().items()}
    verify.compare(pairs, against="the original parameters", tolerance=0.0)
    # and the other way: PyTorch's arrays come back exactly, the bias pair as its sum
    again = to_state_dict(back)
    for name, array in state_dict.items():
        np.testing.assert_array_equal(again[name], array)


def test_state_dict_shapes_are_pytorchs(rng):
    layers = random_layers(rng, 3, 4, 2, 2, P=2)
    shapes = {name: a.shape for name, a in to_state_dict(layers).items()}
    assert shapes["weight_ih_l0"] == (16, 3) and shapes["weight_hh_l0"] == (16, 2)
    assert shapes["weight_hr_l0_reverse"] == (2, 4)
    assert shapes["weight_ih_l1"] == (16, 4)  # both directions of layer 0, P each


def test_from_torch_converts_the_projection(rng):
    params = random_layers(rng, 3, 4, 1, 1, P=2)[0][0]
    weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = to_torch(params)
    assert weight_hh.shape == (16, 2) and weight_hr.shape == (2, 4)
    back = from_torch(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr)
    np.testing.assert_array_equal(back.W_proj, params.W_proj)


@pytest.mark.parametrize("arguments, error, message", [
    (lambda w: w * 2, TypeError, r"^from_torch: expected the arrays of one layer and direction "
     r".*got 10 arrays: an nn.LSTM with several layers or directions; pass its state_dict to "
     r"from_state_dict instead"),
    (lambda w: (w[0], w[1], w[4]), ValueError, r"^bias_ih: expected shape \(4H,\) = \(16,\), "
     r"got \(2, 4\): this looks like weight_hr \(P, H\) of an nn.LSTM with proj_size and "
     r"bias=False; pass it as weight_hr="),
    (lambda w: w[:4], ValueError, r"^weight_hh: expected shape \(4H, H\) = \(16, 4\), got "
     r"\(16, 2\): an nn.LSTM with proj_size = 2 has weight_hh \(4H, P\); pass its weight_hr"),
    (lambda w: (*w[:4], w[4][:, :3]), ValueError,
     r"^weight_hr: expected shape \(P, H\) = \(P, 4\), got \(2, 3\)"),
])
def test_from_torch_says_what_it_got_and_what_to_call(arguments, error, message, rng):
    weights = to_torch(random_layers(rng, 3, 4, 1, 1, P=2)[0][0])
    with pytest.raises(error, match=message):
        from_torch(*arguments(weights))


def test_from_state_dict_names_the_bad_key(rng):
    state_dict = to_state_dict(random_layers(rng, 3, 4, 2, 1))
    with pytest.raises(ValueError, match=r"^state_dict: unexpected name 'lstm.weight_ih_l0'"):
        from_state_dict({"lstm.weight_ih_l0": state_dict["weight_ih_l0"]})
    del state_dict["bias_hh_l1"]
    with pytest.raises(ValueError, match=r"missing \['bias_hh_l1'\]"):
        from_state_dict(state_dict)
    with pytest.raises(TypeError, match=r"^state_dict: expected a non-empty mapping"):
        from_state_dict([])


def test_from_state_dict_checks_the_layers_fit(rng):
    state_dict = to_state_dict(random_layers(rng, 3, 4, 2, 1))
    state_dict["weight_ih_l1"] = state_dict["weight_ih_l1"][:, :3]
    with pytest.raises(ValueError, match=r"^layers\[1\]\[0\].W: expected D = 4 rows"):
        from_state_dict(state_dict)


def test_to_state_dict_wants_a_list_per_layer(rng):
    params = random_params(rng, 3, 4)
    with pytest.raises(TypeError, match=r"one LSTMParams \(wrap it: \[\[params\]\]\)"):
        to_state_dict(params)


def test_mirror_one_layer_is_the_documented_equations(rng):
    weights = torch_weights(rng, 4, 5)
    X = rng.normal(size=(6, 3, 4))  # (T, N, D): not batch first
    lstm = LSTM(4, 5)
    lstm.load_state_dict(dict(zip(state_dict_names(), weights)))
    h0, c0 = rng.normal(size=(1, 3, 5)), rng.normal(size=(1, 3, 5))
    output, (h_n, c_n) = lstm(X, (h0, c0))
    expected = torch_documented_lstm(X.transpose(1, 0, 2), *weights, h0[0], c0[0])
    verify.compare({"output": (output, expected.transpose(1, 0, 2)),
                    "h_n": (h_n[0], expected[:, -1])},
                   against="nn.LSTM's documented equations, in NumPy")


def test_mirror_unbatched_input_is_a_batch_of_one(rng):
    lstm = LSTM.from_params(random_layers(rng, 3, 4, 2, 2), batch_first=True)
    X = rng.normal(size=(5, 3))
    output, (h_n, c_n) = lstm(X)
    batched, (h_b, c_b) = lstm(X[None])
    assert output.shape == (5, 8) and h_n.shape == (4, 4)
    verify.compare({"output": (output, batched[0]), "h_n": (h_n, h_b[:, 0])},
                   against="the same mirror on a batch of one")


def test_mirror_lengths_stop_each_sequence(rng):
    layers = random_layers(rng, 3, 4, 1, 2)
    lstm = LSTM.from_params(layers, batch_first=True)
    X = rng.normal(size=(2, 5, 3))
    output, (h_n, _) = lstm(X, lengths=np.array([2, 4]))
    assert output.shape == (2, 4, 8)  # cut to the longest sequence
    np.testing.assert_array_equal(output[0, 2:], 0)
    alone, (h_alone, _) = lstm(X[:1, :2])  # the first sequence on its own
    # (a batch of one multiplies in another order: equal to rounding, not bit for bit)
    verify.compare({"output": (output[0, :2], alone[0]), "h_n": (h_n[:, 0], h_alone[:, 0])},
                   against="the first sequence run alone")


@pytest.mark.parametrize("lengths, message", [
    (np.array([0, 3]), r"^lengths: expected lengths from 1 to T = 3, got \[0, 3\]"),
    (np.array([1.0, 2.0]), r"^lengths: expected 2 integers \(one per sequence\), got float64"),
    (np.array([1]), r"^lengths: expected 2 integers .* shape \(1,\)"),
])
def test_lengths_are_checked(lengths, message):
    with pytest.raises(ValueError, match=message):
        lengths_mask(lengths, 2, 3)


def test_mirror_checks_the_initial_state(rng):
    lstm = LSTM.from_params(random_layers(rng, 3, 4, 2, 2, P=2))
    X = rng.normal(size=(5, 3, 3))
    with pytest.raises(ValueError, match=r"^h_0: expected shape \(L\*directions, N, P\) = "
                                         r"\(4, 3, 2\), got \(4, 3, 4\)"):
        lstm(X, (np.zeros((4, 3, 4)), np.zeros((4, 3, 4))))
    with pytest.raises(TypeError, match=r"^hx: expected a pair \(h_0, c_0\), got list"):
        lstm(X, [np.zeros((4, 3, 2)), np.zeros((4, 3, 4))])


def test_mirror_refuses_weights_of_other_options(rng):
    lstm = LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"^state_dict: expected the names \['weight_ih_l0'"):
        lstm.load_state_dict(to_state_dict(random_layers(rng, 3, 4, 1, 1)))
    with pytest.raises(ValueError, match=r"^layers: no weights loaded; call load_state_dict"):
        lstm(np.zeros((2, 1, 3)))


def test_mirror_cell_is_one_step_of_the_lstm(rng):
    params = random_params(rng, 3, 4)
    cell = LSTMCell(3, 4)
    cell.load_state_dict(dict(zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
                                  to_torch(params))))
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    h1, c1 = cell(x, (h, c))
    output, (h_n, c_n) = LSTM.from_params([[params]])(x[None], (h[None], c[None]))
    h_unbatched, _ = cell(x[0], (h[0], c[0]))
    verify.compare({"h": (h1, h_n[0]), "c": (c1, c_n[0]), "h, unbatched": (h_unbatched, h1[0])},
                   against="one step of the nn.LSTM mirror")


def test_mirror_gradients_match_finite_differences(rng):
    layers = random_layers(rng, 2, 3, 2, 2, P=2)
    lstm = LSTM.from_params(layers)
    X = rng.normal(size=(4, 2, 2))
    hx = (rng.normal(size=(4, 2, 2)), rng.normal(size=(4, 2, 3)))
    output, (h_n, c_n) = lstm(X, hx)
    d_output = rng.normal(size=output.shape)
    d_hn = (rng.normal(size=h_n.shape), rng.normal(size=c_n.shape))
    grads = lstm.gradients(X, d_output, hx, d_hn)

    def loss(X, hx):
        output, (h_n, c_n) = lstm(X, hx)
        return (output * d_output).sum() + (h_n * d_hn[0]).sum() + (c_n * d_hn[1]).sum()

    epsilon = 1e-6
    for name, array, index in [("input", X, (1, 0, 1)), ("h_0", hx[0], (3, 1, 0)),
                               ("c_0", hx[1], (0, 0, 2))]:
        plus, minus = array.copy(), array.copy()
        plus[index] += epsilon
        minus[index] -= epsilon
        args = {"input": lambda a: (a, hx), "h_0": lambda a: (X, (a, hx[1])),
                "c_0": lambda a: (X, (hx[0], a))}[name]
        numeric = (loss(*args(plus)) - loss(*args(minus))) / (2 * epsilon)
        verify.compare({f"d {name}{index}": (grads[name][index], numeric)},
                       against="central finite differences", tolerance=1e-7)
    assert set(grads) == {"input", "h_0", "c_0", *to_state_dict(layers)}


def test_mirror_gradients_check_the_state_gradients(rng):
    lstm = LSTM.from_params(random_layers(rng, 2, 3, 1, 2))
    X = rng.normal(size=(4, 2, 2))
    d_output = np.zeros((4, 2, 6))
    with pytest.raises(ValueError, match=r"^d_c_n: expected shape \(L\*directions, N, H\) = "
                                         r"\(2, 2, 3\), got \(1, 2, 3\)"):
        lstm.gradients(X, d_output, d_hn=(np.zeros((2, 2, 3)), np.zeros((1, 2, 3))))


@pytest.mark.parametrize("arguments, message", [
    (dict(input_size=0, hidden_size=3), r"^input_size: expected a positive integer, got 0"),
    (dict(input_size=2, hidden_size=3, num_layers=1.5),
     r"^num_layers: expected a positive integer, got 1.5"),
    (dict(input_size=2, hidden_size=3, proj_size=3),
     r"^proj_size: expected 0 <= proj_size < hidden_size = 3, got 3"),
])
def test_mirror_options_are_checked(arguments, message):
    with pytest.raises(ValueError, match=message):
        LSTM(**arguments)
