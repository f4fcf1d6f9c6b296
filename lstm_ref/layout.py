"""Weight layouts: where each gate's block lives, and how frameworks differ.

Every fact about layouts is here, once: the canonical gate order and each
framework's letters for it, the check that an axis holds four gate blocks,
splitting the 4H axis into gates, reordering gate blocks between frameworks,
and splitting a kernel that acts on ``concat([x, h])`` into its input and
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

from typing import Optional, Sequence

import numpy as np

__all__ = [
    "GATE_ORDER", "TF1_GATE_ORDER", "named_gates", "gate_hidden_size", "split_gates",
    "reorder_gates", "split_concat_kernel", "concat_kernel"
]

GATE_ORDER = ("i", "f", "g", "o")
TF1_GATE_ORDER = ("i", "g", "f", "o")  # TF names the candidate j: blocks i, j, f, o


def named_gates(candidate: str, order: Sequence[str] = GATE_ORDER) -> tuple[str, ...]:
    """The gate ``order`` with the candidate ``g`` called ``candidate``.

    The letters a framework gives its blocks: ``named_gates("c")`` is Keras's
    ``("i", "f", "c", "o")``, ``named_gates("j", TF1_GATE_ORDER)`` TF 1.x's
    ``("i", "j", "f", "o")``.
    """
    return tuple(candidate if gate == "g" else gate for gate in order)


_ORDINALS = {0: "first", 1: "second", -1: "last"}


def gate_hidden_size(
    name: str,
    array: np.ndarray,
    axis: int = -1,
    shape: str = "(..., 4H)",
    ndim: Optional[int] = None,
    order: Sequence[str] = GATE_ORDER,
) -> int:
    """H, for an array whose ``axis`` holds four gate blocks of H entries each.

    Raises ``ValueError`` naming ``name``, the expected ``shape`` (in the
    book's letters) and the actual one, unless the array has ``ndim`` axes
    (any number if ``None``) and ``axis`` is a positive multiple of 4.
    ``order`` names the blocks in the message, e.g. TF's ``("i", "j", "f", "o")``.
    """
    if (ndim is not None and array.ndim != ndim) or array.ndim == 0 or (
        array.shape[axis] % 4 or not array.shape[axis]
    ):
        ordinal = _ORDINALS.get(axis, f"number {axis}")
        raise ValueError(
            f"{name}: expected shape {shape}, a {ordinal} axis that is a positive "
            f"multiple of 4 (one block per gate {', '.join(order)}), got {array.shape}"
        )
    return array.shape[axis] // 4


def split_gates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the last axis (4H) into four blocks ``(z_i, z_f, z_g, z_o)``.

    Works on anything whose last axis holds the four gate blocks in the
    canonical order: pre-activations (N, 4H), a bias (4H,), weights (D, 4H).
    """
    gate_hidden_size("z", z)
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
