"""The benchmark: lstm_ref's readable and fast paths timed beside the frameworks.

Run it as ``python -m lstm_ref.bench`` (``make bench``); the harness is
:mod:`lstm_ref.bench.benchmark`. Frameworks are imported inside functions only.
"""

__all__ = ["benchmark"]
