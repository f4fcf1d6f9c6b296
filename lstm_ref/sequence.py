"""Unrolling the cell over time.

Sequences are batch-major, ``X`` of shape (N, T, D), as in Keras.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .cell import DEFAULT_CONFIG, LSTMConfig, step
from .params import LSTMParams, LSTMState, check_sequence_inputs


def lstm_sequence(
    X: np.ndarray,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    initial_state: Optional[LSTMState] = None,
) -> tuple[np.ndarray, LSTMState]:
    """Run the cell over every time step of a batch of sequences.

    Applies :func:`lstm_ref.cell.lstm_step` at t = 0, 1, ..., T-1, feeding each
    step's state to the next.

    Parameters
    ----------
    X : ndarray, shape (N, T, D)
    params : LSTMParams
    config : LSTMConfig
    initial_state : LSTMState, optional
        ``h`` (N, P) and ``c`` (N, H) before the first step; zeros if omitted.

    Returns
    -------
    outputs : ndarray, shape (N, T, P)
        The hidden state after every step.
    state : LSTMState
        The state after the last step.
    """
    X, state = check_sequence_inputs(X, initial_state, params)
    N, T, _ = X.shape
    outputs = np.empty((N, T, params.output_size), dtype=params.dtype)  # (N, T, P)
    for t in range(T):
        state = step(X[:, t], state, params, config)
        outputs[:, t] = state.h
    return outputs, state
