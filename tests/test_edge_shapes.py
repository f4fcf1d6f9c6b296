"""Every public entry point at the edges: empty batches and sequences, one unit,
no input features, float16, and arrays in every memory layout.

Each entry point is a function of ``(X, params, state0)`` returning the arrays
it computes (:data:`ENTRY_POINTS`). The sweep checks that

* N = 0, T = 0, H = 1 and D = 0 give results of the right shapes and the
  right values: T = 0 leaves the state as it was, D = 0 is the same cell
  reading one input feature that is always zero;
* non-contiguous, Fortran-ordered and read-only arrays, and nested lists,
  give what contiguous arrays give, and no call writes into its inputs
  (read-only arrays would raise if it tried);
* float16 is kept and agrees with the same computation in float64.
"""

import numpy as np
import pytest

from conftest import random_params, random_state
from lstm_ref import LSTMParams, LSTMState, lstm_sequence, lstm_step, verify
from lstm_ref.conventions import tf1
from lstm_ref.conventions.keras import LSTM as KerasLSTM
from lstm_ref.conventions.keras import Bidirectional, to_keras
from lstm_ref.conventions.keras import LSTMCell as KerasLSTMCell
from lstm_ref.conventions.per_gate import per_gate_step, to_per_gate
from lstm_ref.fast import FastLSTM, lstm_sequence_fast
from lstm_ref.grad import backward, forward
from lstm_ref.sequence import bidirectional_lstm_sequence, stacked_lstm_sequence


def at_step(X, t):
    """``X[:, t]``, for an array or a nested list alike."""
    return [row[t] for row in X] if isinstance(X, list) else X[:, t]


def _grads(result):
    return [*result.arrays().values()]


def fast_gradients(X, params, state0):
    fast = FastLSTM(params)
    outputs, state, cache = fast.forward(X, state0)
    return [outputs, *state, *_grads(fast.backward(np.ones_like(outputs), cache))]


def readable_gradients(X, params, state0):
    outputs, state, cache = forward(X, params, initial_state=state0)
    return [outputs, *state, *_grads(backward(np.ones_like(outputs), cache))]


def steps(X, params, state0):
    """lstm_step over the sequence, one step at a time."""
    state, outputs = state0, []
    for t in range(np.shape(X)[1]):
        state = lstm_step(at_step(X, t), state, params)
        outputs.append(state.h)
    return [*outputs, *state]


def keras_mirror(X, params, state0):
    layer = KerasLSTM(params.hidden_size, return_sequences=True, return_state=True)
    layer.set_weights(to_keras(params))
    return layer(X, initial_state=[state0.h, state0.c], mask=np.ones(np.shape(X)[:2], bool))


def keras_cell_mirror(X, params, state0):
    cell = KerasLSTMCell(params.hidden_size)
    cell.set_weights(to_keras(params))
    h, states = cell(at_step(X, 0), [state0.h, state0.c])
    return [h, *states]


def keras_bidirectional_mirror(X, params, state0):
    layer = Bidirectional(KerasLSTM(params.hidden_size, return_sequences=True))
    layer.set_weights(to_keras(params) * 2)
    return [layer(X, initial_state=[*state0, *state0])]


def tf1_cell_mirror(X, params, state0):
    cell = tf1.LSTMCell(params.hidden_size, use_peepholes=True, cell_clip=1.5)
    H = params.hidden_size
    cell.set_weights([*tf1.to_tf1(params).values()] + [np.full(H, 0.25, params.dtype)] * 3)
    output, state = cell(at_step(X, 0), tf1.LSTMStateTuple(c=state0.c, h=state0.h))
    return [output, *state]


def per_gate_mirror(X, params, state0):
    """colah's per-gate form: one step, from weights converted to it."""
    values = per_gate_step(at_step(X, 0), state0, to_per_gate(params))
    return [values.h, values.c]


ENTRY_POINTS = {
    "lstm_sequence": lambda X, p, s: [*lstm_sequence(X, p, initial_state=s)[:1],
                                      *lstm_sequence(X, p, initial_state=s)[1]],
    "lstm_sequence, masked backwards": lambda X, p, s: lstm_sequence(
        X, p, initial_state=s, mask=np.ones(np.shape(X)[:2], bool), go_backwards=True)[:1],
    "lstm_step": steps,
    "stacked_lstm_sequence": lambda X, p, s: stacked_lstm_sequence(
        X, [p, random_params(np.random.default_rng(1), p.hidden_size, 2, p.dtype)],
        initial_states=[s, None])[:1],
    "bidirectional_lstm_sequence": lambda X, p, s: bidirectional_lstm_sequence(
        X, p, p, initial_state=(s, s))[:1],
    "lstm_sequence_fast": lambda X, p, s: [*lstm_sequence_fast(X, p, initial_state=s)[:1],
                                           *lstm_sequence_fast(X, p, initial_state=s)[1]],
    "FastLSTM.forward/backward": fast_gradients,
    "grad.forward/backward": readable_gradients,
    "keras.LSTM mirror": keras_mirror,
    "keras.LSTMCell mirror": keras_cell_mirror,
    "keras.Bidirectional mirror": keras_bidirectional_mirror,
    "tf1.LSTMCell mirror": tf1_cell_mirror,
    "per_gate_step": per_gate_mirror,
}
# The mirrors of single steps and of Keras layers need a time step to read.
NEEDS_A_STEP = {"keras.LSTM mirror", "keras.LSTMCell mirror", "keras.Bidirectional mirror",
                "tf1.LSTMCell mirror", "per_gate_step"}
# Those whose weights act on concat([x, h]) and so refuse D = 0, with their message.
NEEDS_AN_INPUT = {
    "tf1.LSTMCell mirror": r"^kernel: expected shape \(D \+ P, 4H\) with D >= 1",
    "per_gate_step": r"^W_f: expected shape \(D\+H, H\) with D >= 1",
}
# Entry points whose results are the sequence itself (for the T = 0 check).
SEQUENCE_RESULTS = {"lstm_sequence", "lstm_sequence_fast"}


def problem(N, T, D, H, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    return X, params, random_state(rng, N, H, dtype)


def check_shapes(results, N, T, H):
    for array in results:
        assert array.shape[0] == N or array.ndim < 2 or array.shape[-1] in (H, 2 * H)


# ---------------------------------------------------------------------------
# Sizes at the edges


@pytest.mark.parametrize("name", ENTRY_POINTS)
@pytest.mark.parametrize("N, T, D, H", [(0, 3, 2, 2), (2, 0, 2, 2), (2, 3, 2, 1), (2, 3, 0, 2)],
                         ids=["N=0", "T=0", "H=1", "D=0"])
def test_edge_sizes(name, N, T, D, H):
    X, params, state0 = problem(N, T, D, H)
    if D == 0 and name in NEEDS_AN_INPUT:  # one matrix over [x, h] needs rows for x
        with pytest.raises(ValueError, match=NEEDS_AN_INPUT[name]):
            ENTRY_POINTS[name](X, params, state0)
        return
    if T == 0 and name in NEEDS_A_STEP:
        if name == "keras.LSTM mirror":  # Keras refuses an empty sequence too
            with pytest.raises(ValueError, match=r"^inputs: expected at least one time step"):
                ENTRY_POINTS[name](X, params, state0)
        return
    results = [np.asarray(r) for r in ENTRY_POINTS[name](X, params, state0)]
    assert all(r.dtype == np.float64 for r in results)
    assert all(np.isfinite(r).all() for r in results)
    if N == 0:
        assert all(r.size == 0 or r.ndim < 2 or r.shape[0] != 0 for r in results)
        return
    if T == 0 and name in SEQUENCE_RESULTS:
        outputs, h, c = results
        assert outputs.shape == (N, 0, H)
        assert np.array_equal(h, state0.h) and np.array_equal(c, state0.c)
    if D == 0:
        # The same cell, reading one feature that is always zero.
        W = np.zeros((1, 4 * H))
        padded = LSTMParams(W=W, U=params.U, b=params.b)
        expected = ENTRY_POINTS[name](np.zeros((N, T, 1)), padded, state0)
        pairs = {f"result[{k}]": (a, np.asarray(b)) for k, (a, b) in
                 enumerate(zip(results, expected)) if a.shape == np.shape(b)}
        assert len(pairs) >= len(results) - 2  # all but d_X (N, T, 0) and d_W (0, 4H)
        verify.compare(pairs, against=f"{name} with one zero input feature", tolerance=1e-12)


def test_gradients_of_empty_problems():
    """N = 0: every weight gradient is zero (a sum over nothing); T = 0: the final
    state's gradient passes to the initial state unchanged."""
    for N, T in ((0, 3), (2, 0)):
        X, params, state0 = problem(N, T, 2, 3)
        for run in (FastLSTM(params), None):
            if run is None:
                outputs, _, cache = forward(X, params, initial_state=state0)
                back = backward
            else:
                outputs, _, cache = run.forward(X, state0)
                back = run.backward
            d_final = random_state(np.random.default_rng(5), N, 3)
            grads = back(np.zeros_like(outputs), cache, d_final)
            assert not grads.d_params.W.any() and not grads.d_params.b.any()
            if T == 0:
                assert np.array_equal(grads.d_initial_state.h, d_final.h)
                assert np.array_equal(grads.d_initial_state.c, d_final.c)


# ---------------------------------------------------------------------------
# Memory layouts and lists


def layouts(array):
    """The same values as ``array``: non-contiguous, Fortran-ordered, read-only."""
    doubled = np.repeat(array, 2, axis=-1)[..., ::2]  # a strided view
    assert not doubled.flags.c_contiguous or array.shape[-1] <= 1
    fortran = np.asfortranarray(array)
    read_only = array.copy()
    read_only.flags.writeable = False
    return {"strided": doubled, "fortran": fortran, "read-only": read_only}


def read_only_params(params):
    arrays = {}
    for name, a in params.arrays().items():
        a = a.copy()
        a.flags.writeable = False
        arrays[name] = a
    return LSTMParams(**arrays)


@pytest.mark.parametrize("name", ENTRY_POINTS)
@pytest.mark.parametrize("layout", ["strided", "fortran", "read-only", "list"])
def test_memory_layouts_and_lists(name, layout):
    X, params, state0 = problem(3, 4, 2, 3)
    expected = ENTRY_POINTS[name](X, params, state0)
    if layout == "list":
        X_l, state_l = X.tolist(), LSTMState(state0.h.tolist(), state0.c.tolist())
        params_l = LSTMParams(**{k: a.tolist() for k, a in params.arrays().items()})
    else:
        X_l = layouts(X)[layout]
        state_l = LSTMState(layouts(state0.h)[layout], layouts(state0.c)[layout])
        params_l = LSTMParams(**{k: layouts(a)[layout] for k, a in params.arrays().items()})
    copies = [np.array(X_l), np.array(state_l.h), *map(np.array, params_l.arrays().values())]
    result = ENTRY_POINTS[name](X_l, params_l, state_l)
    pairs = {f"result[{k}]": (np.asarray(a), np.asarray(b)) for k, (a, b) in
             enumerate(zip(result, expected))}
    verify.compare(pairs, against=f"{name} on C-contiguous arrays", tolerance=1e-12)
    after = [np.array(X_l), np.array(state_l.h), *map(np.array, params_l.arrays().values())]
    assert all(np.array_equal(a, b) for a, b in zip(copies, after)), "an input was modified"


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_read_only_weights_and_inputs_are_never_written(name):
    X, params, state0 = problem(2, 3, 2, 3)
    X.flags.writeable = False
    for array in state0:
        array.flags.writeable = False
    ENTRY_POINTS[name](X, read_only_params(params), state0)


# ---------------------------------------------------------------------------
# float16


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_float16_is_kept_and_agrees_with_float64(name):
    X, params, state0 = problem(2, 3, 2, 3, np.float16)
    result = [np.asarray(r) for r in ENTRY_POINTS[name](X, params, state0)]
    assert all(r.dtype == np.float16 for r in result)
    wide = ENTRY_POINTS[name](X.astype(np.float64), params.astype(np.float64),
                              LSTMState(*(s.astype(np.float64) for s in state0)))
    pairs = {f"result[{k}]": (a.astype(np.float64), np.asarray(b)) for k, (a, b) in
             enumerate(zip(result, wide))}
    # float16 keeps 11 significant bits: a few units in the third decimal.
    verify.compare(pairs, against=f"{name} in float64", tolerance=2e-2)
