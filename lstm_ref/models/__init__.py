"""Models built on the core for the book's Part II.

:mod:`lstm_ref.models.training` trains a character-level LSTM exactly as Keras
trains it; :mod:`lstm_ref.models.plain_rnn` is a plain tanh RNN whose
gradients the book compares with the LSTM's.
"""

__all__ = ["plain_rnn", "training"]
