"""Weight layouts: where each gate's block lives, and how frameworks differ.

Every fact about layouts is here, once: the canonical gate order, splitting
the 4H axis into gates, reordering gate blocks between frameworks, and
splitting a kernel that acts on ``concat([x, h])`` into its input and
recurrent parts.

==========================  ==================  ======================
layout                      gate order          name of the candidate
==========================  ==================  ======================
lstm_ref (canonical)        i, f, g, o          g
Keras                       i, f, c, o          c
TF 1.x cells                i, j, f, o          j
PyTorch                     i, f, g, o          g
==========================  ==================  ======================
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "GATE_ORDER", "TF1_GATE_ORDER", "split_gates", "reorder_gates", "split_concat_kernel",
    "concat_kernel"
]

GATE_ORDER = ("i", "f", "g", "o")
TF1_GATE_ORDER = ("i", "g", "f", "o")  # TF names the candidate j: blocks i, j, f, o


def split_gates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the last axis (4H) into four blocks ``(z_i, z_f, z_g, z_o)``.

    Works on anything whose last axis holds the four gate blocks in the
    canonical order: pre-activations (N, 4H), a bias (4H,), weights (D, 4H).
    """
    if z.shape[-1] % 4:
        raise ValueError(
            f"z: expected a last axis of 4H (four gate blocks), got shape {z.shape}"
        )
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    return z_i, z_f, z_g, z_o


def reorder_gates(
    array: np.ndarray, source: Sequence[str], target: Sequence[str]
) -> np.ndarray:
    """Permute the four gate blocks of the last axis from ``source`` to ``target`` order.

    ``source`` and ``target`` are permutations of ``("i", "f", "g", "o")``.
    Returns a new array; the blocks are copied, not rounded.

    Examples
    --------
    >>> bias_tf1 = np.array([0., 0, 1, 1, 2, 2, 3, 3])  # blocks i, j, f, o
    >>> reorder_gates(bias_tf1, TF1_GATE_ORDER, GATE_ORDER)  # to i, f, g, o
    array([0., 0., 2., 2., 1., 1., 3., 3.])
    """
    if sorted(source) != sorted(GATE_ORDER) or sorted(target) != sorted(GATE_ORDER):
        raise ValueError(
            f"gate orders: expected permutations of {GATE_ORDER}, got {tuple(source)} "
            f"and {tuple(target)}"
        )
    blocks = dict(zip(source, split_gates(array)))
    return np.concatenate([blocks[gate] for gate in target], axis=-1)


def split_concat_kernel(kernel: np.ndarray, input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a kernel acting on ``concat([x, h])`` into its input and recurrent rows.

    ``concat([x, h]) @ kernel == x @ kernel[:D] + h @ kernel[D:]``: the first
    ``input_size`` rows multiply the input, the rest the previous hidden state.
    Returns copies, so the pieces are contiguous.
    """
    return kernel[:input_size].copy(), kernel[input_size:].copy()


def concat_kernel(W: np.ndarray, U: np.ndarray) -> np.ndarray:
    """The kernel acting on ``concat([x, h])``: ``W`` stacked on top of ``U``."""
    return np.concatenate([W, U], axis=0)
