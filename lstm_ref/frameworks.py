"""TensorFlow and Keras, behind one door.

This is the only module of lstm_ref that imports TensorFlow or Keras, and
``import lstm_ref`` does not import it. Importing it:

* sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow loads, so that with
  ``tf-keras`` installed the TF 1.x cells (``tf.compat.v1.nn.rnn_cell``) still
  run in TensorFlow 2, while ``import keras`` still gives Keras 3;
* keeps TensorFlow's C++ start-up log lines out of notebooks and test output;
* exposes ``tf`` and ``keras``: ``from lstm_ref.frameworks import tf, keras``.

The helpers build a framework object from :class:`lstm_ref.LSTMParams`, run
it, and return NumPy arrays, so tests and chapters compare like with like.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Optional

import numpy as np

from .conventions.keras import to_keras
from .params import LSTMParams, LSTMState

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    # Too late to choose tf-keras for tf.compat.v1; say so instead of failing later.
    import warnings

    warnings.warn(
        "TensorFlow was imported before lstm_ref.frameworks without "
        "TF_USE_LEGACY_KERAS=1: the tf.compat.v1 LSTM cells may not work",
        RuntimeWarning,
        stacklevel=2,
    )
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ logging writes there
    before ``TF_CPP_MIN_LOG_LEVEL`` takes effect."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _native_stderr_silenced():
    import tensorflow as tf
    import keras

tf.get_logger().setLevel("ERROR")


def versions() -> dict[str, str]:
    """Versions of NumPy, TensorFlow, Keras and tf-keras in this process."""
    found = {"numpy": np.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None:
        found["tf_keras"] = tf_keras.__version__
    return found


# ---------------------------------------------------------------------------
# Keras 3


def keras_lstm(
    params: LSTMParams,
    *,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    return_sequences: bool = True,
    return_state: bool = True,
    **options,
) -> "keras.layers.LSTM":
    """A built ``keras.layers.LSTM`` holding ``params``, in ``params.dtype``.

    Extra keyword arguments go to the layer (e.g. ``go_backwards=True``).
    """
    layer = keras.layers.LSTM(
        params.hidden_size,
        activation=activation,
        recurrent_activation=recurrent_activation,
        use_bias=params.b is not None,
        return_sequences=return_sequences,
        return_state=return_state,
        dtype=str(params.dtype),
        **options,
    )
    layer.build((None, None, params.input_size))
    layer.set_weights(to_keras(params))
    return layer


def run_keras_lstm(
    X: np.ndarray,
    params: LSTMParams,
    initial_state: Optional[LSTMState] = None,
    **options,
) -> tuple[np.ndarray, LSTMState]:
    """Run ``keras.layers.LSTM`` with ``params`` on ``X`` (N, T, D).

    Returns the outputs (N, T, H) and the final state, as NumPy arrays, in the
    same form as :func:`lstm_ref.lstm_sequence`.
    """
    layer = keras_lstm(params, return_sequences=True, return_state=True, **options)
    keras_state = None if initial_state is None else [initial_state.h, initial_state.c]
    outputs, h, c = layer(X, initial_state=keras_state)
    return np.asarray(outputs), LSTMState(np.asarray(h), np.asarray(c))
