"""lstm_ref: the LSTM in NumPy, one equation per line, verified against the frameworks.

``import lstm_ref`` imports NumPy only. TensorFlow and Keras live behind
:mod:`lstm_ref.frameworks`, which is imported only when asked for.

Shapes use N batch, T time, D input features, H hidden units, P the size of h
(P = H without a projection); gate blocks are ordered i, f, g, o.
"""

from . import activations, layout, verify
from .cell import LSTMConfig, lstm_step
from .layout import GATE_ORDER, reorder_gates, split_gates
from .params import LSTMParams, LSTMState
from .sequence import lstm_sequence

__version__ = "0.1.0"

__all__ = [
    "GATE_ORDER",
    "LSTMConfig",
    "LSTMParams",
    "LSTMState",
    "activations",
    "lstm_sequence",
    "layout",
    "lstm_step",
    "reorder_gates",
    "split_gates",
    "verify",
]
