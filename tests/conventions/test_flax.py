"""Flax's LSTM layouts, without JAX: round trips, the carry order, nn.RNN's padding, errors.
tests/conventions/test_flax_live.py runs the real Flax cells."""

import numpy as np
import pytest

from conftest import random_params, random_state
from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.conventions.flax import (RNN, Carry, LSTMCell, flax_layout, flip_sequences,
                                       from_carry, from_flax, gate_layer_names, to_carry,
                                       to_flax)


@pytest.mark.parametrize("layout", ["linen", "nnx", "nnx_optimized"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact(layout, dtype, rng):
    params = random_params(rng, 3, 4, dtype)
    flax_params = to_flax(params, layout)
    assert flax_layout(flax_params) == layout
    back = from_flax(flax_params)
    verify.compare({name: (getattr(back, name), getattr(params, name)) for name in "WUb"},
                   against="the original parameters", tolerance=0.0)


def test_per_gate_shapes(rng):
    flax_params = to_flax(random_params(rng, 3, 4), "nnx")
    assert sorted(flax_params) == ["hf", "hg", "hi", "ho", "if_", "ig", "ii", "io"]
    assert flax_params["if_"]["kernel"].shape == (3, 4) and "bias" not in flax_params["ii"]
    assert flax_params["hg"]["kernel"].shape == (4, 4) and flax_params["hg"]["bias"].shape == (4,)


def test_gate_blocks_land_in_canonical_order(rng):
    params = random_params(rng, 2, 3)
    linen = to_flax(params)
    W_i, W_f, W_g, W_o = np.split(params.W, 4, axis=1)
    np.testing.assert_array_equal(linen["if"]["kernel"], W_f)
    np.testing.assert_array_equal(linen["ig"]["kernel"], W_g)
    np.testing.assert_array_equal(linen["ho"]["bias"], params.b[9:])


def test_without_bias_the_flax_bias_is_zero(rng):
    params = random_params(rng, 2, 3, bias=False)
    assert all((to_flax(params)[name]["bias"] == 0).all() for name in gate_layer_names()[1])


def test_carry_is_c_first(rng):
    state = random_state(rng, 2, 3)
    carry = to_carry(state)
    assert carry.c is state.c and carry[0] is state.c
    assert from_carry(tuple(carry)).h is state.h
    with pytest.raises(TypeError, match=r"^carry: expected Flax's pair \(c, h\), got list"):
        from_carry([state.c, state.h])


def test_cell_mirror_is_one_step(rng):
    params = random_params(rng, 3, 4)
    x, state = rng.normal(size=(2, 3)), random_state(rng, 2, 4)
    (c, h), y = LSTMCell(params)(to_carry(state), x)
    _, expected = lstm_sequence(x[:, None], params, initial_state=state)
    assert y is h
    verify.compare({"h": (h, expected.h), "c": (c, expected.c)}, against="lstm_ref.lstm_sequence",
                   tolerance=0.0)


def test_flip_sequences_keeps_padding_at_the_end():
    X = np.array([[1, 0, 0], [2, 3, 0], [4, 5, 6]])[..., None]
    flipped = flip_sequences(X, np.array([1, 2, 3]))[..., 0]
    np.testing.assert_array_equal(flipped, [[1, 0, 0], [3, 2, 0], [6, 5, 4]])


def test_rnn_runs_on_through_the_padding_but_returns_the_last_valid_carry(rng):
    params = random_params(rng, 2, 3)
    X = rng.normal(size=(2, 5, 2))
    carry, outputs = RNN(LSTMCell(params))(X, seq_lengths=np.array([2, 5]), return_carry=True)
    unmasked, _ = lstm_sequence(X, params)
    np.testing.assert_array_equal(outputs, unmasked)  # padding not zeroed, not held
    _, alone = lstm_sequence(X[:1, :2], params)
    verify.compare({"h": (carry.h[0], alone.h[0]), "c": (carry.c[0], alone.c[0])},
                   against="the first sequence run alone")


@pytest.mark.parametrize("params, message", [
    ({"ii": {}}, r"^params: expected the layers \['hf', 'hg', 'hi', 'ho', 'if', 'ig', 'ii', "
                 r"'io'\] \(linen; nnx names"),
    ({"cell": {}}, r"^params: got the parameters of nn.RNN \(one entry 'cell'\); pass "
                   r"params\['cell'\]"),
])
def test_bad_layouts_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        from_flax(params)


def test_bad_gate_shapes_are_named(rng):
    flax_params = to_flax(random_params(rng, 3, 4))
    flax_params["hf"]["kernel"] = flax_params["hf"]["kernel"][:, :3]
    with pytest.raises(ValueError, match=r"^params\['hf'\]\['kernel'\]: expected shape \(H, H\) "
                                         r"= \(4, 4\), got \(4, 3\)"):
        from_flax(flax_params)
    del flax_params["ig"]["kernel"]
    with pytest.raises(ValueError, match=r"^params\['ig'\]: expected an entry 'kernel', got \[\]"):
        from_flax(flax_params)


def test_to_flax_refuses_what_flax_lacks(rng):
    params = random_params(rng, 2, 3)
    with pytest.raises(ValueError, match=r"^params.p_i: Flax's LSTM cells have no such weight"):
        to_flax(LSTMParams(W=params.W, U=params.U, p_i=np.ones(3)))
    with pytest.raises(ValueError, match=r"^layout: expected one of 'linen', 'nnx', "
                                         r"'nnx_optimized', got 'keras'"):
        to_flax(params, "keras")


def test_carry_type_is_a_pair(rng):
    state = random_state(rng, 1, 2)
    assert isinstance(to_carry(state), Carry) and len(to_carry(state)) == 2
