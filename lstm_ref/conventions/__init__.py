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
* :mod:`~lstm_ref.conventions.onnx` — the ONNX ``LSTM`` operator
* :mod:`~lstm_ref.conventions.tflite` — TFLite's fused ``UNIDIRECTIONAL_SEQUENCE_LSTM``
* :mod:`~lstm_ref.conventions.tf_fused` — TensorFlow's fused ``LSTMBlockCell``,
  ``BlockLSTM``, ``BlockLSTMV2`` (their gate orders, settled by execution)
* :mod:`~lstm_ref.conventions.cudnn` — cuDNN's canonical layout, as PyTorch and
  Keras 2's ``CuDNNLSTM`` store it

All of them are NumPy only: no framework is imported here.
"""

from . import cudnn, flax, keras, onnx, per_gate, seed004, tf1, tf_fused, tflite, torch

__all__ = ["cudnn", "flax", "keras", "onnx", "per_gate", "seed004", "tf1", "tf_fused", "tflite",
           "torch"]
