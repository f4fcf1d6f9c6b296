"""Shared test helpers: seeded random weights and inputs in a chosen dtype."""

import functools
import os

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from lstm_ref import LSTMParams, LSTMState

# Comparisons against TensorFlow are slow to start (graph tracing), so no
# per-example deadline; a fixed number of examples keeps `make test` fast.
settings.register_profile("lstm_ref", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("lstm_ref")


def random_params(rng, D, H, dtype=np.float64, bias=True, scale=0.5):
    """LSTMParams with normal weights of the given sizes and dtype."""
    return LSTMParams(
        W=rng.normal(scale=scale, size=(D, 4 * H)).astype(dtype),
        U=rng.normal(scale=scale, size=(H, 4 * H)).astype(dtype),
        b=rng.normal(scale=scale, size=4 * H).astype(dtype) if bias else None,
    )


def random_state(rng, N, H, dtype=np.float64, P=None):
    """A random LSTMState for a batch of N (h of size P, default H)."""
    return LSTMState(
        h=rng.normal(size=(N, P or H)).astype(dtype),
        c=rng.normal(size=(N, H)).astype(dtype),
    )


def sequence_shapes(max_N, max_T, max_D, max_H):
    """Hypothesis strategy for (N, T, D, H, seed), each size from 1 to its maximum."""
    sizes = (st.integers(1, largest) for largest in (max_N, max_T, max_D, max_H))
    return st.tuples(*sizes, st.integers(0, 2**32 - 1))


def random_sequence_problem(shape, dtype=np.float64, bias=True, zero_state=False):
    """rng, params, inputs X (N, T, D) and initial state (None: zeros) for a drawn shape.

    ``shape`` is (N, T, D, H, seed) from :func:`sequence_shapes`; ``rng`` is
    seeded with ``seed`` and has drawn the other three, in that order.
    """
    N, T, D, H, seed = shape
    rng = np.random.default_rng(seed)
    params = random_params(rng, D, H, dtype, bias=bias)
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state0 = None if zero_state else random_state(rng, N, H, dtype)
    return rng, params, X, state0


def loss_gradients(rng, N, T, P, H, dtype, final_state=True):
    """Random d_outputs (N, T, P) and d_final_state: the gradient of a random linear loss."""
    d_outputs = rng.normal(size=(N, T, P)).astype(dtype)
    return d_outputs, (random_state(rng, N, H, dtype, P=P) if final_state else None)


def gradient_pairs(ours, reference) -> dict:
    """Every gradient of two lstm_ref.grad.Gradients, by name, as (ours, reference)."""
    ours, reference = ours.arrays(), reference.arrays()
    assert ours.keys() == reference.keys()
    return {name: (ours[name], reference[name]) for name in ours}


def check_raises(error, pattern, func, *args, **kwargs):
    """Call ``func``; assert it raises ``error`` matching ``pattern``; return the message."""
    with pytest.raises(error, match=pattern) as info:
        func(*args, **kwargs)
    return str(info.value)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------------
# A summary of every comparison the tests made, printed after the run.

_COMPARISONS = []


def pytest_configure(config):
    from lstm_ref import verify

    measure = verify.measure

    @functools.wraps(measure)  # keeps measure's name and docstring (the API page test reads them)
    def recording_measure(*args, **kwargs):
        comparison = measure(*args, **kwargs)
        # test_verify.py fails comparisons on purpose; they are not measurements.
        if "test_verify.py" not in os.environ.get("PYTEST_CURRENT_TEST", ""):
            _COMPARISONS.append(comparison)
        return comparison

    verify.measure = recording_measure  # compare() looks measure up at call time


def pytest_terminal_summary(terminalreporter):
    if not _COMPARISONS:
        return
    worst = {}
    for c in _COMPARISONS:
        key = (c.against, c.dtype)
        count, error, passed = worst.get(key, (0, 0.0, True))
        worst[key] = (count + 1, max(error, c.max_abs_error), passed and c.passed)
    write = terminalreporter.write_line
    terminalreporter.section("lstm_ref comparisons (worst max abs error per reference)")
    for (against, dtype), (count, error, passed) in sorted(worst.items()):
        write(f"{against[:62]:62} {dtype:8} {count:5}x  {error:8.1e}  {'' if passed else 'FAIL'}")
