"""Framework conventions: each converts a framework's weights and options to
the canonical :class:`lstm_ref.LSTMParams` and :class:`lstm_ref.LSTMConfig`
and back. None of them re-implements the cell.
"""

from . import keras

__all__ = ["keras"]
