"""Shared test helpers: seeded random weights and inputs in a chosen dtype."""

import os

import numpy as np
import pytest
from hypothesis import settings

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


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------------
# A summary of every comparison the tests made, printed after the run.

_COMPARISONS = []


def pytest_configure(config):
    from lstm_ref import verify

    measure = verify.measure

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
