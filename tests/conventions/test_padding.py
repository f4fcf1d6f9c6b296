"""lstm_ref.conventions.padding (what padded steps hold), and the padding table in the real
frameworks through lstm_ref.frameworks.matrix.padding_runs."""

import numpy as np
import pytest
from conftest import random_params

from lstm_ref import lstm_sequence, verify
from lstm_ref.conventions import padding

LENGTHS = np.array([3, 1, 2])


def outputs_with(fill):
    """(3, 3, 2) outputs: real steps random, padded steps from ``fill(n, last)``."""
    rng = np.random.default_rng(0)
    out = rng.normal(size=(3, 3, 2))
    for n, length in enumerate(LENGTHS):
        for t in range(length, 3):
            out[n, t] = fill(rng, out[n, length - 1])
    return out


def test_step_kinds_and_the_padded_steps():
    zeros = outputs_with(lambda rng, last: 0.0)
    previous = outputs_with(lambda rng, last: last)
    computed = outputs_with(lambda rng, last: rng.normal(size=2))
    assert padding.step_kinds(zeros, LENGTHS) == [
        [padding.REAL] * 3, [padding.REAL, padding.ZEROS, padding.ZEROS],
        [padding.REAL, padding.REAL, padding.ZEROS]]
    assert padding.padded_step_kind(zeros, LENGTHS) == padding.ZEROS
    assert padding.padded_step_kind(previous, LENGTHS) == padding.PREVIOUS
    assert padding.padded_step_kind(computed, LENGTHS) == padding.COMPUTED
    mixed = zeros.copy()
    mixed[2, 2] = mixed[2, 1]
    assert padding.padded_step_kind(mixed, LENGTHS) == padding.MIXED
    # float32 outputs: equal within float32's resolution
    nearly = (previous + 1e-8).astype(np.float32)
    nearly[:, 0] = previous[:, 0]
    assert padding.step_kinds(nearly, LENGTHS)[1][1] == padding.PREVIOUS


def test_final_state_and_backward_start():
    rng = np.random.default_rng(1)
    params = random_params(rng, 2, 3)
    X = rng.normal(size=(3, 3, 2))
    mask = np.arange(3)[None, :] < LENGTHS[:, None]
    _, at_end = lstm_sequence(X, params, mask=mask)
    _, after = lstm_sequence(X, params)
    assert padding.final_state_kind(at_end.h, at_end.h) == padding.LAST_REAL
    assert padding.final_state_kind(after.h, at_end.h) == padding.AFTER_PADDING
    right = padding.backward_within_lengths(X, LENGTHS, params)
    # Read backwards over each sequence alone, the first step's output is the last one computed.
    for n, length in enumerate(LENGTHS):
        alone, _ = lstm_sequence(X[n:n + 1, :length], params, go_backwards=True)
        np.testing.assert_allclose(right[n, :length], alone[0, ::-1], rtol=0, atol=1e-15)
        assert not right[n, length:].any()
    assert padding.backward_start_kind(right, right, LENGTHS) == padding.STARTS_AT_END
    unmasked, _ = lstm_sequence(X, params, go_backwards=True)
    assert padding.backward_start_kind(unmasked[:, ::-1], right,
                                       LENGTHS) == padding.STARTS_AT_PADDING


def test_bad_input():
    out = np.zeros((3, 3, 2))
    with pytest.raises(ValueError, match=r"outputs: expected shape \(N, T, H\), got \(3, 3\)"):
        padding.step_kinds(out[..., 0], LENGTHS)
    with pytest.raises(ValueError, match=r"lengths"):
        padding.step_kinds(out, np.array([3, 0, 2]))
    with pytest.raises(ValueError, match=r"lengths: expected at least one sequence shorter"):
        padding.padded_step_kind(out, np.array([3, 3, 3]))
    with pytest.raises(ValueError, match=r"h_final: expected the shape of h_last_real \(3, 2\)"):
        padding.final_state_kind(np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"backward: expected the shape of reference"):
        padding.backward_start_kind(out[:2], out, LENGTHS)


def test_padding_table_in_the_real_frameworks():
    """Every run agrees with lstm_ref's mirror, and each framework's way is what the book says."""
    from lstm_ref.frameworks import matrix

    rng = np.random.default_rng(2)
    D, H = 2, 3
    forward, backward = random_params(rng, D, H), random_params(rng, D, H)
    lengths = np.array([4, 2, 1])
    X = rng.normal(size=(3, 4, D))
    X[np.arange(4)[None, :] >= lengths[:, None]] = 0.0
    runs = matrix.padding_runs(X, lengths, forward, backward)
    for run in runs:
        verify.compare({name: (run.lstm_ref_outputs[name], run.real_outputs[name]) for name in run.real_outputs},
                       against=run.framework)
    kinds = {run.name: padding.padded_step_kind(run.real_outputs["forward"], lengths) for run in runs}
    assert kinds == {
        "Keras LSTM, mask": padding.PREVIOUS, "Keras Bidirectional, mask": padding.ZEROS,
        "TF 1.x dynamic_rnn, sequence_length": padding.ZEROS,
        "TF 1.x bidirectional_dynamic_rnn, sequence_length": padding.ZEROS,
        "PyTorch, packed sequences": padding.ZEROS, "ONNX Runtime, sequence_lens": padding.ZEROS,
        "Flax nn.RNN, seq_lengths": padding.COMPUTED,
        "no mask (Keras Bidirectional)": padding.COMPUTED}
    mask = np.arange(4)[None, :] < lengths[:, None]
    h_last = lstm_sequence(X, forward, mask=mask)[1].h
    right = padding.backward_within_lengths(X, lengths, backward)
    for run in runs:
        unmasked = run.name.startswith("no mask")
        assert padding.final_state_kind(run.real_outputs["h forward"], h_last) == (
            padding.AFTER_PADDING if unmasked else padding.LAST_REAL), run.name
        if "backward" in run.real_outputs:
            assert padding.backward_start_kind(run.real_outputs["backward"], right, lengths) == (
                padding.STARTS_AT_PADDING if unmasked else padding.STARTS_AT_END), run.name
    assert sum("backward" in run.real_outputs for run in runs) == 6
