"""Unrolling over time against Keras 3: masks, go_backwards, stateful, stacks, Bidirectional."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import random_params, random_sequence_problem, random_state, sequence_shapes
from lstm_ref import LSTMState, lstm_sequence, verify
from lstm_ref.conventions.keras import LSTM as KerasLSTM
from lstm_ref.conventions.keras import Bidirectional as KerasBidirectional
from lstm_ref.conventions.keras import to_keras
from lstm_ref.frameworks.tensorflow import (keras, keras_bidirectional, keras_lstm, run_keras_bidirectional,
                                 run_keras_lstm, run_keras_stack)
from lstm_ref.sequence import (MERGE_MODES, bidirectional_lstm_sequence, check_mask,
                               masked_output, masked_state, merge_directions, reverse_time,
                               stacked_lstm_sequence)

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}
DTYPES = [np.float64, np.float32]


def awkward_mask(rng, N, T):
    """A random mask (N, T) with every hard case in it once there are rows for them.

    Row 0 is fully masked, row 1 has its first step masked, row 2 its last;
    the other rows are random.
    """
    mask = rng.random((N, T)) < 0.6
    for row, steps in zip(range(N), (slice(None), 0, -1)):
        mask[row, steps] = False
    return mask


def right_padded_mask(lengths, T):
    """True for the first ``lengths[n]`` steps of row n: a padded batch."""
    return np.arange(T)[None, :] < np.asarray(lengths)[:, None]


def compare_all(ours, theirs, against, dtype):
    """verify.compare over parallel lists of arrays, named by position."""
    return verify.compare({f"result[{k}]": (np.asarray(a), np.asarray(b))
                           for k, (a, b) in enumerate(zip(ours, theirs))},
                          against=against, tolerance=TOLERANCE[dtype])


# ---------------------------------------------------------------------------
# One layer


shapes = sequence_shapes(4, 8, 4, 5)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, use_mask=st.booleans(), go_backwards=st.booleans(),
       zero_output_for_mask=st.booleans(), zero_state=st.booleans())
def test_sequence_matches_keras(dtype, shape, use_mask, go_backwards, zero_output_for_mask,
                                zero_state):
    N, T, _, _, _ = shape
    rng, params, X, state0 = random_sequence_problem(shape, dtype, zero_state=zero_state)
    mask = awkward_mask(rng, N, T) if use_mask else None
    options = dict(go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
    outputs, state = lstm_sequence(X, params, initial_state=state0, mask=mask, **options)
    outputs_k, state_k = run_keras_lstm(X, params, state0, mask, **options)
    assert outputs.dtype == state.h.dtype == state.c.dtype == dtype
    compare_all([outputs, state.h, state.c], [outputs_k, state_k.h, state_k.c],
                "keras.layers.LSTM (mask, go_backwards)", dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_last_output_matches_keras(dtype, go_backwards, zero_output_for_mask, rng):
    """return_sequences=False returns the last *output*, which with a mask need not be h."""
    N, T, D, H = 5, 6, 3, 4
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = random_state(rng, N, H, dtype)
    mask = awkward_mask(rng, N, T)
    options = dict(go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
    ours = KerasLSTM(H, return_state=True, **options)
    ours.set_weights(to_keras(params))
    theirs = keras_lstm(params, return_sequences=False, return_state=True, **options)
    result = ours(X, initial_state=[state0.h, state0.c], mask=mask)
    compare_all(result, theirs(X, initial_state=[state0.h, state0.c], mask=mask),
                "keras.layers.LSTM(return_sequences=False)", dtype)
    # The fully masked row 0: its output is zero, its state the initial one.
    assert not result[0][0].any()
    assert np.array_equal(result[1][0], state0.h[0])


def test_masked_steps_leave_the_state_unchanged(rng):
    N, T, D, H = 3, 7, 2, 4
    params = random_params(rng, D, H)
    X = rng.normal(size=(N, T, D))
    state0 = random_state(rng, N, H)
    mask = awkward_mask(rng, N, T)
    states = [lstm_sequence(X[:, :t], params, initial_state=state0, mask=mask[:, :t])[1]
              for t in range(1, T + 1)]
    before = [state0] + states[:-1]
    for t, (old, new) in enumerate(zip(before, states)):
        skipped = ~mask[:, t]
        assert np.array_equal(new.h[skipped], old.h[skipped])
        assert np.array_equal(new.c[skipped], old.c[skipped])
        assert not np.array_equal(new.c[~skipped], old.c[~skipped]) or skipped.all()


def test_masked_output_repeats_the_last_output_and_starts_at_zero(rng):
    params = random_params(rng, 2, 3)
    X = rng.normal(size=(1, 5, 2))
    state0 = random_state(rng, 1, 3)
    mask = np.array([[False, True, False, False, True]])
    outputs, _ = lstm_sequence(X, params, initial_state=state0, mask=mask)
    assert not outputs[0, 0].any()  # before any counted step: zero, not h_0
    assert np.array_equal(outputs[0, 2], outputs[0, 1])
    assert np.array_equal(outputs[0, 3], outputs[0, 1])
    zeroed, _ = lstm_sequence(X, params, initial_state=state0, mask=mask,
                              zero_output_for_mask=True)
    assert not zeroed[0, [0, 2, 3]].any()
    assert np.array_equal(zeroed[0, [1, 4]], outputs[0, [1, 4]])


def test_masked_update_functions():
    old = LSTMState(h=np.zeros((2, 3)), c=np.zeros((2, 3)))
    new = LSTMState(h=np.ones((2, 3)), c=np.full((2, 3), 2.0))
    m_t = np.array([True, False])
    state = masked_state(new, old, m_t)
    assert state.h.tolist() == [[1, 1, 1], [0, 0, 0]]
    assert state.c.tolist() == [[2, 2, 2], [0, 0, 0]]
    y_prev = np.full((2, 3), 5.0)
    assert masked_output(new.h, y_prev, m_t).tolist() == [[1, 1, 1], [5, 5, 5]]
    assert masked_output(new.h, y_prev, m_t, True).tolist() == [[1, 1, 1], [0, 0, 0]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_padded_batch_equals_each_sequence_unpadded(dtype, rng):
    lengths, T, D, H = [4, 1, 6, 2], 6, 3, 5
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(len(lengths), T, D)).astype(dtype)
    mask = right_padded_mask(lengths, T)
    outputs, state = lstm_sequence(X, params, mask=mask)
    outputs_b, state_b = lstm_sequence(X, params, mask=mask, go_backwards=True)
    for n, length in enumerate(lengths):
        alone, alone_state = lstm_sequence(X[n:n + 1, :length], params)
        backward, backward_state = lstm_sequence(X[n:n + 1, :length][:, ::-1], params)
        verify.compare({
            "outputs": (outputs[n:n + 1, :length], alone),
            "padding repeats the last output": (
                outputs[n, length:], np.broadcast_to(alone[0, -1], (T - length, H))),
            "h": (state.h[n:n + 1], alone_state.h), "c": (state.c[n:n + 1], alone_state.c),
            "backward outputs": (outputs_b[n:n + 1, T - length:], backward),
            "backward h": (state_b.h[n:n + 1], backward_state.h),
        }, against="lstm_ref on the unpadded sequence", tolerance=TOLERANCE[dtype])
        assert not outputs_b[n, :T - length].any()  # backwards, the padding comes first


def test_go_backwards_reads_the_reversed_sequence(rng):
    params = random_params(rng, 3, 4)
    X, mask = rng.normal(size=(3, 6, 3)), awkward_mask(rng, 3, 6)
    backwards = lstm_sequence(X, params, mask=mask, go_backwards=True)
    reversed_ = lstm_sequence(reverse_time(X), params, mask=reverse_time(mask))
    assert np.array_equal(backwards[0], reversed_[0])
    assert np.array_equal(backwards[1].c, reversed_[1].c)


# ---------------------------------------------------------------------------
# State across calls


@pytest.mark.parametrize("dtype", DTYPES)
def test_stateful_mirror_matches_keras(dtype, rng):
    N, T, D, H = 3, 4, 2, 5
    params = random_params(rng, D, H, dtype)
    chunks = [rng.normal(size=(N, T, D)).astype(dtype) for _ in range(3)]
    mask = awkward_mask(rng, N, T)
    ours = KerasLSTM(H, return_sequences=True, stateful=True)
    ours.set_weights(to_keras(params))
    theirs = keras_lstm(params, return_sequences=True, return_state=False, stateful=True,
                        batch_size=N)
    for k, chunk in enumerate(chunks):
        if k == 2:
            ours.reset_states()
            theirs.reset_states()
        compare_all([ours(chunk, mask=mask), *ours.states],
                    [theirs(chunk, mask=mask), *(v.numpy() for v in theirs.states)],
                    "keras.layers.LSTM(stateful=True)", dtype)
    ours.reset_state()
    assert not any(s.any() for s in ours.states)


def test_stateful_chunks_equal_one_long_sequence(rng):
    params = random_params(rng, 2, 3)
    X = rng.normal(size=(2, 9, 2))
    layer = KerasLSTM(3, return_sequences=True, stateful=True)
    layer.set_weights(to_keras(params))
    pieces = [layer(X[:, t:t + 3]) for t in range(0, 9, 3)]
    whole, state = lstm_sequence(X, params)
    assert np.array_equal(np.concatenate(pieces, axis=1), whole)
    assert np.array_equal(layer.states[1], state.c)


def test_non_stateful_layer_keeps_nothing(rng):
    layer = KerasLSTM(3)
    layer.set_weights(to_keras(random_params(rng, 2, 3)))
    layer(rng.normal(size=(2, 4, 2)))
    assert layer.states is None
    layer.reset_states()  # nothing to reset, as in Keras


# ---------------------------------------------------------------------------
# Stacks


@pytest.mark.parametrize("dtype", DTYPES)
def test_stack_matches_keras(dtype, rng):
    N, T, D = 4, 6, 3
    sizes = [D, 5, 2, 4]
    layers = [random_params(rng, sizes[k], sizes[k + 1], dtype) for k in range(3)]
    X = rng.normal(size=(N, T, D)).astype(dtype)
    mask = awkward_mask(rng, N, T)
    states0 = [random_state(rng, N, sizes[1], dtype), None, random_state(rng, N, sizes[3], dtype)]
    outputs, states = stacked_lstm_sequence(X, layers, initial_states=states0, mask=mask)
    outputs_k, states_k = run_keras_stack(X, layers, states0, mask)
    compare_all([outputs, *(a for s in states for a in s)],
                [outputs_k, *(a for s in states_k for a in s)], "a stack of keras.layers.LSTM",
                dtype)


def test_stack_matches_keras_sequential_with_masking(rng):
    """Keras passes the mask up the stack by itself; a Masking layer makes it from the padding."""
    lengths, T, D = [5, 2, 3], 5, 3
    layers = [random_params(rng, D, 4), random_params(rng, 4, 3)]
    X = rng.normal(size=(len(lengths), T, D)) * right_padded_mask(lengths, T)[:, :, None]
    model = keras.Sequential([keras.Input((T, D), dtype="float64"),
                              keras.layers.Masking(0.0, dtype="float64")]
                             + [keras.layers.LSTM(p.hidden_size, return_sequences=True,
                                                  dtype="float64") for p in layers])
    for layer, params in zip(model.layers[1:], layers):
        layer.set_weights(to_keras(params))
    outputs, _ = stacked_lstm_sequence(X, layers, mask=right_padded_mask(lengths, T))
    verify.compare({"outputs": (outputs, np.asarray(model(X)))},
                   against="keras.Sequential([Masking, LSTM, LSTM])")


def test_stack_of_one_is_one_layer(rng):
    params = random_params(rng, 2, 3)
    X = rng.normal(size=(2, 4, 2))
    outputs, [state] = stacked_lstm_sequence(X, [params])
    assert np.array_equal(outputs, lstm_sequence(X, params)[0])


# ---------------------------------------------------------------------------
# Both directions


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_matches_keras(dtype, merge_mode, return_sequences, rng):
    N, T, D, H = 4, 5, 3, 4
    forward, backward = random_params(rng, D, H, dtype), random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    states0 = (random_state(rng, N, H, dtype), random_state(rng, N, H, dtype))
    mask = awkward_mask(rng, N, T)
    args = (X, forward, backward)
    options = dict(initial_state=states0, mask=mask, merge_mode=merge_mode,
                   return_sequences=return_sequences)
    output, state_f, state_b = bidirectional_lstm_sequence(*args, **options)
    output_k, state_fk, state_bk = run_keras_bidirectional(*args, **options)
    if merge_mode is not None:
        output, output_k = [output], [output_k]
    compare_all([*output, *state_f, *state_b], [*output_k, *state_fk, *state_bk],
                "keras.layers.Bidirectional(LSTM)", dtype)


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("return_state", [True, False])
def test_bidirectional_mirror_returns_what_keras_returns(merge_mode, return_sequences,
                                                         return_state, rng):
    N, T, D, H = 3, 4, 2, 3
    forward, backward = random_params(rng, D, H), random_params(rng, D, H)
    X, mask = rng.normal(size=(N, T, D)), awkward_mask(rng, N, T)
    state0 = [*random_state(rng, N, H), *random_state(rng, N, H)]
    ours = KerasBidirectional(KerasLSTM(H, return_sequences=return_sequences,
                                        return_state=return_state), merge_mode=merge_mode)
    ours.set_weights(to_keras(forward) + to_keras(backward))
    theirs = keras_bidirectional(forward, backward, merge_mode=merge_mode,
                                 return_sequences=return_sequences, return_state=return_state)
    result = ours(X, initial_state=state0, mask=mask)
    expected = theirs(X, initial_state=state0, mask=mask)
    if not isinstance(expected, (list, tuple)):
        result, expected = [result], [expected]
    assert len(result) == len(expected)
    compare_all(result, expected, "keras.layers.Bidirectional(LSTM)", np.float64)
    assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights()))


def test_bidirectional_mirror_is_the_function(rng):
    forward, backward = random_params(rng, 2, 3), random_params(rng, 2, 3)
    X, mask = rng.normal(size=(3, 5, 2)), awkward_mask(rng, 3, 5)
    layer = KerasBidirectional(KerasLSTM(3, return_sequences=True), merge_mode="sum")
    layer.set_weights(to_keras(forward) + to_keras(backward))
    output, _, _ = bidirectional_lstm_sequence(X, forward, backward, mask=mask, merge_mode="sum")
    assert np.array_equal(layer(X, mask=mask), output)


def test_stateful_bidirectional_matches_keras(rng):
    N, T, D, H = 2, 3, 2, 3
    forward, backward = random_params(rng, D, H), random_params(rng, D, H)
    ours = KerasBidirectional(KerasLSTM(H, return_sequences=True, stateful=True))
    ours.set_weights(to_keras(forward) + to_keras(backward))
    theirs = keras_bidirectional(forward, backward, return_state=False, stateful=True,
                                 batch_size=N)
    for k in range(3):
        if k == 2:
            ours.reset_states()
            theirs.reset_states()
        X = rng.normal(size=(N, T, D))
        compare_all([ours(X), *ours.states], [theirs(X), *(v.numpy() for v in theirs.states)],
                    "keras.layers.Bidirectional(LSTM(stateful=True))", np.float64)


def test_merge_modes():
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 5.0]])
    assert merge_directions(a, b, "concat").tolist() == [[1, 2, 3, 5]]
    assert merge_directions(a, b, "sum").tolist() == [[4, 7]]
    assert merge_directions(a, b, "mul").tolist() == [[3, 10]]
    assert merge_directions(a, b, "ave").tolist() == [[2, 3.5]]
    assert merge_directions(a, b, None) == (a, b)


# ---------------------------------------------------------------------------
# Bad input


def test_mask_must_be_boolean(rng):
    params = random_params(rng, 3, 2)
    with pytest.raises(TypeError, match=r"^mask: expected a boolean array of shape \(N, T\), "
                                        r"got dtype float64"):
        lstm_sequence(np.zeros((4, 5, 3)), params, mask=np.ones((4, 5)))


@pytest.mark.parametrize("shape, expected", [
    ((4, 6), r"^mask: expected shape \(N, T\) = \(4, 5\), got \(4, 6\)"),
    ((5,), r"^mask: expected shape \(N, T\) = \(4, 5\), got \(5,\)"),
    ((4, 5, 1), r"^mask: expected shape \(N, T\) = \(4, 5\), got \(4, 5, 1\)"),
])
def test_mask_must_be_n_by_t(shape, expected, rng):
    params = random_params(rng, 3, 2)
    with pytest.raises(ValueError, match=expected):
        lstm_sequence(np.zeros((4, 5, 3)), params, mask=np.ones(shape, bool))
    with pytest.raises(ValueError, match=expected):
        check_mask(np.ones(shape, bool), 4, 5)


def test_initial_state_is_named(rng):
    params = random_params(rng, 3, 2)
    with pytest.raises(ValueError, match=r"^initial_state.c: expected shape \(N, H\) = \(4, 2\), "
                                         r"got \(4, 3\)"):
        lstm_sequence(np.zeros((4, 5, 3)), params,
                      initial_state=LSTMState(np.zeros((4, 2)), np.zeros((4, 3))))
    with pytest.raises(TypeError, match=r"^initial_state.h: expected dtype float64"):
        lstm_sequence(np.zeros((4, 5, 3)), params,
                      initial_state=LSTMState(np.zeros((4, 2), np.float32), np.zeros((4, 2))))
    with pytest.raises(TypeError, match=r"^initial_state: expected an LSTMState"):
        lstm_sequence(np.zeros((4, 5, 3)), params, initial_state=np.zeros((4, 2)))


def test_mirror_initial_state_must_be_a_list_of_two(rng):
    layer = KerasLSTM(2)
    layer.set_weights(to_keras(random_params(rng, 3, 2)))
    with pytest.raises(TypeError, match=r"^initial_state: expected a list \[h, c\] of two "
                                        r"arrays, got list of length 3"):
        layer(np.zeros((4, 5, 3)), initial_state=[np.zeros((4, 2))] * 3)


def test_stack_errors(rng):
    X = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match=r"^layers\[1\].W: expected D = 4 rows \(the output "
                                         r"size P of layers\[0\]\), got 3"):
        stacked_lstm_sequence(X, [random_params(rng, 3, 4), random_params(rng, 3, 4)])
    with pytest.raises(TypeError, match=r"^layers\[1\]: expected dtype float64"):
        stacked_lstm_sequence(X, [random_params(rng, 3, 4),
                                  random_params(rng, 4, 4, np.float32)])
    with pytest.raises(TypeError, match=r"^layers: expected a non-empty sequence"):
        stacked_lstm_sequence(X, [])
    with pytest.raises(ValueError, match=r"^initial_states: expected one state \(or None\) per "
                                         r"layer, 1, got 2"):
        stacked_lstm_sequence(X, [random_params(rng, 3, 4)], initial_states=[None, None])


def test_bidirectional_errors(rng):
    X = np.zeros((2, 3, 3))
    forward = random_params(rng, 3, 4)
    with pytest.raises(ValueError, match=r"^merge_mode: expected one of 'concat', 'sum', 'mul', "
                                         r"'ave' or None, got 'max'"):
        bidirectional_lstm_sequence(X, forward, forward, merge_mode="max")
    with pytest.raises(ValueError, match=r"^backward: expected the sizes \(D, H, P\) = "
                                         r"\(3, 4, 4\) of forward, got \(3, 5, 5\)"):
        bidirectional_lstm_sequence(X, forward, random_params(rng, 3, 5))
    with pytest.raises(TypeError, match=r"^backward: expected dtype float64"):
        bidirectional_lstm_sequence(X, forward, random_params(rng, 3, 4, np.float32))
    with pytest.raises(TypeError, match=r"^initial_state: expected a pair \(forward state, "
                                        r"backward state\)"):
        bidirectional_lstm_sequence(X, forward, forward, initial_state=random_state(rng, 2, 4)[:1])


def test_bidirectional_mirror_errors(rng):
    with pytest.raises(ValueError, match=r"^backward_layer: expected go_backwards different"):
        KerasBidirectional(KerasLSTM(2), backward_layer=KerasLSTM(2))
    with pytest.raises(ValueError, match=r"^backward_layer: expected return_sequences=True"):
        KerasBidirectional(KerasLSTM(2, return_sequences=True),
                           backward_layer=KerasLSTM(2, go_backwards=True))
    with pytest.raises(TypeError, match=r"^layer: expected an lstm_ref.conventions.keras.LSTM"):
        KerasBidirectional(None)
    with pytest.raises(ValueError, match=r"^merge_mode: expected one of"):
        KerasBidirectional(KerasLSTM(2), merge_mode="max")
    with pytest.raises(AttributeError, match=r"^reset_state: the layer is not stateful"):
        KerasBidirectional(KerasLSTM(2)).reset_state()
    layer = KerasBidirectional(KerasLSTM(4))
    layer.set_weights(to_keras(random_params(rng, 3, 4)) * 2)
    with pytest.raises(TypeError, match=r"^initial_state: expected a list \[h_fwd, c_fwd, "
                                        r"h_bwd, c_bwd\] of four arrays, got list of length 2"):
        layer(np.zeros((2, 3, 3)), initial_state=list(random_state(rng, 2, 4)))


def test_stateful_batch_size_must_not_change(rng):
    layer = KerasLSTM(2, stateful=True)
    layer.set_weights(to_keras(random_params(rng, 3, 2)))
    layer(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match=r"^inputs: a stateful layer expects the batch size "
                                         r"N = 4 of its states, got 3"):
        layer(np.zeros((3, 5, 3)))
