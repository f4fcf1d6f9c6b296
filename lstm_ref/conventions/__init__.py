"""Framework conventions: each converts a framework's weights and options to
the canonical :class:`lstm_ref.LSTMParams` and :class:`lstm_ref.LSTMConfig`
and back. None of them re-implements the cell.

* :mod:`~lstm_ref.conventions.keras` — Keras 3 and Keras 2 ``LSTM``/``LSTMCell``
* :mod:`~lstm_ref.conventions.tf1` — TF 1.x ``BasicLSTMCell``, ``LSTMCell``,
  ``MultiRNNCell``, ``LayerNormBasicLSTMCell``
* :mod:`~lstm_ref.conventions.per_gate` — one matrix per gate (colah, seed 003)
* :mod:`~lstm_ref.conventions.seed004` — the seed-004 exercise cell
* :mod:`~lstm_ref.conventions.torch` — PyTorch ``nn.LSTM`` and ``nn.LSTMCell``
* :mod:`~lstm_ref.conventions.flax` — Flax's ``LSTMCell``, ``OptimizedLSTMCell``
  (linen and nnx) and ``nn.RNN``

All of them are NumPy only: no framework is imported here.
"""

from . import flax, keras, per_gate, seed004, tf1, torch

__all__ = ["flax", "keras", "per_gate", "seed004", "tf1", "torch"]
