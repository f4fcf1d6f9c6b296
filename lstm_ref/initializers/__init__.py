"""Keras 3's seeded initial weights, reproduced bit for bit in NumPy.

Imported only when seeded initial weights are asked for:
:mod:`lstm_ref.initializers.keras` has the initializers,
:mod:`lstm_ref.initializers.philox` TensorFlow's stateless random numbers.
"""

__all__ = ["keras", "philox"]
