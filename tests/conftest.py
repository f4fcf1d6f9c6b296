"""Shared test helpers: seeded random weights and inputs in a chosen dtype."""

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
