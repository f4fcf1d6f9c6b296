"""Bad input gets a ValueError/TypeError naming the argument, expected and actual."""

import re

import numpy as np
import pytest

from conftest import check_raises, random_params, random_state
from lstm_ref import LSTMConfig, LSTMParams, LSTMState, lstm_sequence, lstm_step, verify
from lstm_ref.conventions import tf1
from lstm_ref.conventions.keras import LSTM as KerasLSTM
from lstm_ref.conventions.keras import LSTMCell as KerasLSTMCell
from lstm_ref.conventions.keras import from_keras
from lstm_ref.conventions.torch import from_torch
from lstm_ref.layout import split_gates


@pytest.fixture
def params(rng):
    return random_params(rng, D=3, H=2)


@pytest.fixture
def state(rng):
    return random_state(rng, N=4, H=2)


def test_wrong_feature_size(params, state):
    message = check_raises(ValueError, r"^x: expected shape", lstm_step, np.zeros((4, 5)), state, params)
    assert "(N, D) = (N, 3)" in message and "got (4, 5)" in message


def test_wrong_rank_of_sequence(params):
    message = check_raises(ValueError, r"^X: expected shape", lstm_sequence, np.zeros((4, 3)), params)
    assert "(N, T, D) = (N, T, 3)" in message and "got (4, 3)" in message


@pytest.mark.parametrize("which, shape, expected", [
    ("h", (4, 3), "state.h: expected shape (N, P) = (4, 2), got (4, 3)"),
    ("c", (5, 2), "state.c: expected shape (N, H) = (4, 2), got (5, 2)"),
])
def test_state_of_wrong_shape(params, state, which, shape, expected):
    bad = state._replace(**{which: np.zeros(shape)})
    message = check_raises(ValueError, "state", lstm_step, np.zeros((4, 3)), bad, params)
    assert message == expected


def test_state_not_a_pair(params):
    check_raises(TypeError, r"^state: expected an LSTMState\(h, c\)", lstm_step,
                 np.zeros((4, 3)), np.zeros((4, 2)), params)


def test_initial_state_batch_must_match(params, rng):
    bad = random_state(rng, N=3, H=2)
    message = check_raises(ValueError, "state.h", lstm_sequence, np.zeros((4, 5, 3)), params,
                           initial_state=bad)
    assert "(N, P) = (4, 2), got (3, 2)" in message


@pytest.mark.parametrize("columns", [7, 10, 0])
def test_kernel_not_a_multiple_of_four(columns):
    message = check_raises(ValueError, r"^kernel: expected shape \(D, 4H\)", from_keras,
                           np.zeros((3, columns)), np.zeros((2, 8)))
    assert f"got (3, {columns})" in message


def test_recurrent_kernel_wrong_shape():
    message = check_raises(ValueError, r"^recurrent_kernel: expected shape", from_keras,
                           np.zeros((3, 8)), np.zeros((3, 8)), np.zeros(8))
    assert "(H, 4H) = (2, 8), got (3, 8)" in message


def test_bias_wrong_shape():
    message = check_raises(ValueError, r"^b: expected shape", LSTMParams,
                           W=np.zeros((3, 8)), U=np.zeros((2, 8)), b=np.zeros((1, 8)))
    assert "(4H,) = (8,), got (1, 8)" in message


def test_integer_weights_are_refused():
    message = check_raises(TypeError, r"^W: expected a floating-point array", LSTMParams,
                           W=np.zeros((3, 8), int), U=np.zeros((2, 8)))
    assert "int64" in message


def test_mismatched_weight_dtypes():
    message = check_raises(TypeError, r"^U: expected dtype float32", LSTMParams,
                           W=np.zeros((3, 8), np.float32), U=np.zeros((2, 8)))
    assert "got float64" in message


def test_input_dtype_must_match_weights(params, state):
    message = check_raises(TypeError, r"^x: expected dtype float64", lstm_step,
                           np.zeros((4, 3), np.float32), state, params)
    assert "got float32" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_names_the_index(params, state, bad):
    x = np.zeros((4, 3))
    x[2, 1] = bad
    message = check_raises(ValueError, r"^x: contains", lstm_step, x, state, params)
    assert re.search(r"at index \(2, 1\)", message)


def test_non_finite_weight_names_the_index():
    U = np.zeros((2, 8))
    U[1, 5] = np.nan
    message = check_raises(ValueError, r"^U: contains nan", LSTMParams, W=np.zeros((3, 8)), U=U)
    assert "(1, 5)" in message


def test_non_finite_state(params, state):
    bad = state._replace(c=np.full((4, 2), np.inf))
    check_raises(ValueError, r"^state.c: contains inf at index \(0, 0\)", lstm_step,
                 np.zeros((4, 3)), bad, params)


def test_unknown_activation():
    check_raises(ValueError, r"^recurrent_activation: expected a function or one of",
                 LSTMConfig, recurrent_activation="sigmod")


def test_no_warnings_at_extreme_preactivations(rng):
    """Huge weights saturate every gate without an overflow warning (pytest turns
    RuntimeWarnings from lstm_ref into errors, see pyproject.toml)."""
    for dtype in (np.float32, np.float64):
        params = LSTMParams(W=np.full((1, 8), 1e4, dtype), U=np.full((2, 8), -1e4, dtype),
                            b=np.zeros(8, dtype))
        x = np.array([[1.0], [-1.0]], dtype)
        state = LSTMState(np.ones((2, 2), dtype), np.ones((2, 2), dtype))
        with np.errstate(all="raise"):
            new = lstm_step(x, state, params)
        assert np.isfinite(new.h).all() and np.isfinite(new.c).all()


def test_peephole_of_wrong_shape():
    check_raises(ValueError, r"^p_f: expected shape \(H,\) = \(2,\), got \(3,\)", LSTMParams,
                 W=np.zeros((3, 8)), U=np.zeros((2, 8)), p_f=np.zeros(3))


def test_projection_must_match_recurrent_weights():
    message = check_raises(ValueError, r"^U: expected shape \(P, 4H\)", LSTMParams,
                           W=np.zeros((3, 8)), U=np.zeros((2, 8)), W_proj=np.zeros((2, 5)))
    assert "(5, 8), got (2, 8)" in message


def test_layer_norm_needs_all_four_arrays():
    check_raises(ValueError, r"^gamma_c: layer normalization needs all of", LSTMParams,
                 W=np.zeros((3, 8)), U=np.zeros((2, 8)), gamma=np.ones(8), beta=np.zeros(8))


@pytest.mark.parametrize("option, value", [("cell_clip", 0.0), ("proj_clip", -1.0),
                                           ("dropout_keep_prob", 1.5)])
def test_config_values_are_checked(option, value):
    check_raises(ValueError, f"^{option}: expected", LSTMConfig, **{option: value})


def test_projected_state_has_size_p(rng):
    params = LSTMParams(W=np.zeros((3, 8)), U=np.zeros((5, 8)), W_proj=np.zeros((2, 5)))
    bad = LSTMState(h=np.zeros((4, 2)), c=np.zeros((4, 2)))
    message = check_raises(ValueError, r"^state.h: expected shape \(N, P\) = \(4, 5\)", lstm_step,
                           np.zeros((4, 3)), bad, params)
    assert "got (4, 2)" in message


# ---------------------------------------------------------------------------
# The other framework's state, the wrong type of argument


def test_tf1_state_tuple_is_read_by_name(params, state, rng):
    """lstm_ref's LSTMState is (h, c), TF's LSTMStateTuple (c, h): each is read by
    its field names wherever a state is expected, so neither is mistaken."""
    from lstm_ref.conventions import tf1
    from lstm_ref.conventions.keras import LSTM as KerasLSTM
    from lstm_ref.conventions.keras import to_keras

    x = rng.normal(size=(4, 3))
    expected = lstm_step(x, state, params)
    swapped = tf1.LSTMStateTuple(c=state.c, h=state.h)
    verify.compare({"h": (lstm_step(x, swapped, params).h, expected.h)},
                   against="lstm_step with LSTMState", tolerance=0.0)
    X = rng.normal(size=(4, 5, 3))
    outputs, _ = lstm_sequence(X, params, initial_state=state)
    for initial_state in (swapped, [state.h, state.c]):
        verify.compare({"outputs": (lstm_sequence(X, params, initial_state=initial_state)[0],
                                    outputs)}, against="lstm_sequence with LSTMState",
                       tolerance=0.0)
    layer = KerasLSTM(2, return_sequences=True)
    layer.set_weights(to_keras(params))
    verify.compare({"outputs": (layer(X, initial_state=swapped), outputs)},
                   against="lstm_sequence with LSTMState", tolerance=0.0)
    cell = tf1.BasicLSTMCell(2, forget_bias=0.0)
    cell.set_weights(list(tf1.to_tf1(params).values()))
    h_tf1, new_state = cell(x, state)  # an LSTMState given to a TF 1.x cell
    verify.compare({"h": (h_tf1, expected.h), "c": (new_state.c, expected.c)},
                   against="lstm_step", tolerance=0.0)


def test_other_named_tuples_are_refused(params):
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    check_raises(TypeError, r"^state: expected an LSTMState\(h, c\) or a pair \(h, c\), got Pair "
                            r"with fields \('a', 'b'\)$",
                 lstm_step, np.zeros((4, 3)), Pair(np.zeros((4, 2)), np.zeros((4, 2))), params)


def test_framework_weights_are_not_params(params):
    from lstm_ref.fast import FastLSTM

    weights = [params.W, params.U, params.b]
    message = check_raises(TypeError, r"^params: expected LSTMParams, got list", lstm_sequence,
                           np.zeros((4, 5, 3)), weights)
    assert "from_keras(*layer.get_weights())" in message
    check_raises(TypeError, r"^params: expected LSTMParams, got list", lstm_step,
                 np.zeros((4, 3)), LSTMState(np.zeros((4, 2)), np.zeros((4, 2))), weights)
    check_raises(TypeError, r"^params: expected LSTMParams, got list", FastLSTM, weights)


# ---------------------------------------------------------------------------
# Overflow from finite inputs


def test_an_overflowing_sequence_says_so():
    """Unbounded gates (linear) square the state at every step: from finite inputs
    the state overflows, and the error says where and why, without a warning."""
    from lstm_ref.fast import FastLSTM
    from lstm_ref.grad import forward

    params = LSTMParams(W=np.full((1, 4), 2.0), U=np.full((1, 4), 2.0), b=np.ones(4))
    config = LSTMConfig(activation="linear", recurrent_activation="linear")
    X = np.ones((1, 12, 1))
    pattern = r"^(outputs|c): the (sequence|forward pass) overflowed: (inf|nan) at index .*'linear'"
    for run in (lambda: lstm_sequence(X, params, config), lambda: forward(X, params, config),
                lambda: FastLSTM(params, config)(X), lambda: FastLSTM(params, config).forward(X)):
        check_raises(ValueError, pattern, run)
    state = LSTMState(np.full((1, 1), 1e200), np.full((1, 1), 1e200))
    check_raises(ValueError, r"^h: the step overflowed: inf", lstm_step, X[:, 0], state, params,
                 config)


@pytest.mark.parametrize("name, check, array", [
    ("W", lambda a: LSTMParams(W=a, U=np.zeros((2, 8))), np.zeros((3, 6))),
    ("weight_ih", lambda a: from_torch(a, np.zeros((8, 2))), np.zeros((6, 3))),
    ("kernel", lambda a: tf1.from_tf1(a), np.zeros((5, 6))),
    ("z", split_gates, np.zeros((2, 6))),
    ("W", lambda a: LSTMParams(W=a, U=np.zeros((2, 8))), np.zeros((3, 0))),
    ("W", lambda a: LSTMParams(W=a, U=np.zeros((2, 8))), np.zeros(8)),
])
def test_every_gate_axis_is_checked_by_one_helper(name, check, array):
    """The 4H axis: one check (lstm_ref.layout.gate_hidden_size), one message everywhere."""
    message = check_raises(ValueError, rf"^{name}: expected shape \(", check, array)
    assert "axis that is a positive multiple of 4 (one block per gate" in message
    assert f"got {array.shape}" in message
    if name == "kernel":
        assert "(one block per gate i, j, f, o)" in message


@pytest.mark.parametrize("make, name, optional", [
    (lambda v: KerasLSTM(v), "units", False),
    (lambda v: KerasLSTMCell(v), "units", False),
    (lambda v: tf1.BasicLSTMCell(v), "num_units", False),
    (lambda v: tf1.LayerNormBasicLSTMCell(v), "num_units", False),
    (lambda v: tf1.LSTMCell(3, num_proj=v), "num_proj", True),
])
@pytest.mark.parametrize("bad", [0, -2, 2.5, "3", True])
def test_mirrors_refuse_sizes_that_are_not_positive_integers(make, name, optional, bad):
    expected = "a positive integer or None" if optional else "a positive integer"
    check_raises(ValueError, rf"^{name}: expected {expected}, got {re.escape(repr(bad))}$",
                 make, bad)


@pytest.mark.parametrize("mirror", [KerasLSTM(2), KerasLSTMCell(2), tf1.BasicLSTMCell(2),
                                    tf1.LSTMCell(2), tf1.LayerNormBasicLSTMCell(2)])
def test_mirrors_without_weights_say_so(mirror):
    check_raises(ValueError, rf"^{type(mirror).__name__}: no weights yet; call set_weights first$",
                 mirror.get_weights)
