"""``python -m lstm_ref.bench``: see :mod:`lstm_ref.bench.benchmark`."""

from .benchmark import main

if __name__ == "__main__":
    main()
