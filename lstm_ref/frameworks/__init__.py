"""The real frameworks, one module each: the only place lstm_ref imports one.

Each module imports its framework when it is itself imported, never before:
``import lstm_ref`` loads none of them.

* :mod:`lstm_ref.frameworks.tensorflow` — TensorFlow, Keras 3, tf-keras and the
  ``tf.compat.v1`` cells
* :mod:`lstm_ref.frameworks.torch` — PyTorch: ``nn.LSTM``, ``nn.LSTMCell``, packed
  sequences, ``torch.autograd``
* :mod:`lstm_ref.frameworks.jax` — JAX and Flax: the linen and nnx LSTM cells,
  ``nn.RNN``, the LSTM as a jitted ``jax.lax.scan``
* :mod:`lstm_ref.frameworks.onnxruntime` — onnx and ONNX Runtime: one-node
  ``LSTM`` models built from ``LSTMParams``, run in ONNX Runtime and in
  ``onnx.reference``
* :mod:`lstm_ref.frameworks.litert` — LiteRT, the TFLite interpreter: what a
  converted LSTM became, the fused operator's tensors, one-operator models
"""

__all__ = ["tensorflow", "torch", "jax", "onnxruntime", "litert"]
