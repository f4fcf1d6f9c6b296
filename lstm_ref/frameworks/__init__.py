"""The real frameworks, one module each: the only place lstm_ref imports one.

Each module imports its framework when it is itself imported, never before:
``import lstm_ref`` loads none of them.

* :mod:`lstm_ref.frameworks.tensorflow` — TensorFlow, Keras 3, tf-keras and the
  ``tf.compat.v1`` cells
"""

__all__ = ["tensorflow"]
