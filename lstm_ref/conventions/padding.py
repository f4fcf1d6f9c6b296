"""What a padded batch's steps hold, read off the outputs: the padding table's vocabulary.

A batch of sequences of different lengths is padded to one length T. Each
framework has its own way of saying where a sequence ends, and they differ in
what the steps past the end output, what the final state holds, and where a
backward direction starts. These functions name what an output array shows
(NumPy only; :func:`lstm_ref.frameworks.matrix.padding_runs` produces the
arrays in the real frameworks):

* :func:`step_kinds` and :func:`padded_step_kind`: each padded step holds
  ``"zeros"``, ``"the last real output"`` repeated, or values
  ``"computed over the padding"``;
* :func:`final_state_kind`: the final h is the state at the sequence's
  ``"last real step"`` or ``"after the padding"``;
* :func:`backward_start_kind`: a backward direction ``"starts at each
  sequence's last real step"`` (it reads each sequence reversed within its
  length) or ``"starts at the padded end"``.
"""

from __future__ import annotations

import numpy as np

from ..params import LSTMParams
from ..sequence import lstm_sequence
from .onnx import reverse_within_lengths
from .torch import lengths_mask

__all__ = ["REAL", "ZEROS", "PREVIOUS", "COMPUTED", "LAST_REAL", "AFTER_PADDING", "STARTS_AT_END",
           "STARTS_AT_PADDING", "MIXED", "step_kinds", "padded_step_kind", "final_state_kind",
           "backward_within_lengths", "backward_start_kind"]

# What a step holds (step_kinds, padded_step_kind).
REAL = "real step"
ZEROS = "zeros"
PREVIOUS = "the last real output"
COMPUTED = "computed over the padding"
MIXED = "mixed"
# What the final state is (final_state_kind).
LAST_REAL = "last real step"
AFTER_PADDING = "after the padding"
# Where a backward direction starts (backward_start_kind).
STARTS_AT_END = "starts at each sequence's last real step"
STARTS_AT_PADDING = "starts at the padded end"


def _tolerance(array: np.ndarray) -> float:
    """What counts as equal: a few units in the last place of the outputs' dtype."""
    return 1e-12 if np.asarray(array).dtype == np.float64 else 1e-6


def _same(a, b, tolerance: float) -> bool:
    return bool(np.abs(np.asarray(a) - np.asarray(b)).max() <= tolerance)


def step_kinds(outputs: np.ndarray, lengths) -> list[list[str]]:
    """For each sequence n and step t of ``outputs`` (N, T, H): :data:`REAL` before
    ``lengths[n]``, then :data:`ZEROS`, :data:`PREVIOUS` or :data:`COMPUTED`."""
    outputs = np.asarray(outputs)
    if outputs.ndim != 3:
        raise ValueError(f"outputs: expected shape (N, T, H), got {outputs.shape}")
    N, T, _ = outputs.shape
    lengths = np.asarray(lengths)
    lengths_mask(lengths, N, T)  # checks them: integers in [1, T], one per sequence
    tolerance = _tolerance(outputs)
    kinds = []
    for n in range(N):
        row = []
        for t in range(T):
            if t < lengths[n]:
                row.append(REAL)
            elif _same(outputs[n, t], 0.0, tolerance):
                row.append(ZEROS)
            elif _same(outputs[n, t], outputs[n, lengths[n] - 1], tolerance):
                row.append(PREVIOUS)
            else:
                row.append(COMPUTED)
        kinds.append(row)
    return kinds


def padded_step_kind(outputs: np.ndarray, lengths) -> str:
    """What every padded step of ``outputs`` (N, T, H) holds, or :data:`MIXED`.

    ``ValueError`` if no sequence is padded (nothing to tell).
    """
    kinds = {kind for row in step_kinds(outputs, lengths) for kind in row if kind != REAL}
    if not kinds:
        raise ValueError("lengths: expected at least one sequence shorter than T, got none")
    return kinds.pop() if len(kinds) == 1 else MIXED


def final_state_kind(h_final: np.ndarray, h_last_real: np.ndarray) -> str:
    """:data:`LAST_REAL` if ``h_final`` (N, H) is the state at each sequence's last real
    step ``h_last_real`` (N, H), else :data:`AFTER_PADDING`."""
    h_final = np.asarray(h_final)
    if h_final.shape != np.shape(h_last_real):
        raise ValueError(f"h_final: expected the shape of h_last_real {np.shape(h_last_real)}, "
                         f"got {h_final.shape}")
    return LAST_REAL if _same(h_final, h_last_real, _tolerance(h_final)) else AFTER_PADDING


def backward_within_lengths(X: np.ndarray, lengths, params: LSTMParams) -> np.ndarray:
    """The backward direction done right: each sequence of ``X`` (N, T, D) read
    from its last real step to its first, outputs (N, T, H) back in time order
    (zeros past each length)."""
    X = np.asarray(X)
    mask = lengths_mask(np.asarray(lengths), X.shape[0], X.shape[1])
    outputs, _ = lstm_sequence(reverse_within_lengths(X, np.asarray(lengths)), params,
                               mask=mask, zero_output_for_mask=True)
    return reverse_within_lengths(outputs, np.asarray(lengths))


def backward_start_kind(backward: np.ndarray, reference: np.ndarray, lengths) -> str:
    """Where a backward direction's outputs ``backward`` (N, T, H, time order) start.

    :data:`STARTS_AT_END` if on every real step they equal ``reference``
    (:func:`backward_within_lengths`), else :data:`STARTS_AT_PADDING`.
    """
    backward, reference = np.asarray(backward), np.asarray(reference)
    if backward.shape != reference.shape:
        raise ValueError(f"backward: expected the shape of reference {reference.shape}, "
                         f"got {backward.shape}")
    real = lengths_mask(np.asarray(lengths), backward.shape[0], backward.shape[1])
    same = _same(backward[real], reference[real], _tolerance(backward))
    return STARTS_AT_END if same else STARTS_AT_PADDING
