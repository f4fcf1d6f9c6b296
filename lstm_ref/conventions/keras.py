"""The Keras ``LSTM`` layer (Keras 3, and Keras 2 / tf-keras).

Keras stores three weights, in this order in ``layer.get_weights()``:

=====================  ===========  =========================================
name                   shape        multiplies
=====================  ===========  =========================================
``kernel``             (D, 4H)      the input ``x_t``
``recurrent_kernel``   (H, 4H)      the previous hidden state ``h_{t-1}``
``bias``               (4H,)        (added once; absent if ``use_bias=False``)
=====================  ===========  =========================================

with the gate blocks in the order i, f, c, o, where Keras's ``c`` is the
candidate this book calls ``g``. That is exactly the canonical layout of
:class:`lstm_ref.LSTMParams` (``W``, ``U``, ``b``), so converting only checks
shapes and renames; no array is transposed or reordered.

Keras adds no forget bias at run time: ``unit_forget_bias=True`` only
initializes the forget block of ``bias`` to ones.

Keras 3 and Keras 2 (tf-keras) agree on all of this, but not on what
``"hard_sigmoid"`` means (see :mod:`lstm_ref.activations`); every function here
takes ``keras_version`` for that reason.

:class:`LSTM` and :class:`LSTMCell` mirror the Keras classes: same arguments,
same return values, ``get_weights``/``set_weights`` in Keras's order. Their
computation is :func:`lstm_ref.lstm_sequence` / :func:`lstm_ref.lstm_step`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..activations import get_activation
from ..cell import LSTMConfig, lstm_step
from ..initializers import keras_lstm_init
from ..params import LSTMParams, LSTMState, check_weights
from ..sequence import lstm_sequence

WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")


def from_keras(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: Optional[np.ndarray] = None,
) -> LSTMParams:
    """Canonical parameters from a Keras LSTM's weights.

    Parameters
    ----------
    kernel : ndarray, shape (D, 4H)
    recurrent_kernel : ndarray, shape (H, 4H)
    bias : ndarray, shape (4H,), optional
        Omit it for a layer built with ``use_bias=False``.

    Returns
    -------
    LSTMParams
        ``W = kernel``, ``U = recurrent_kernel``, ``b = bias`` (the same arrays).

    Examples
    --------
    With a Keras layer, ``from_keras(*layer.get_weights())``. With arrays:

    >>> import numpy as np
    >>> params = from_keras(np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8))
    >>> params.input_size, params.hidden_size
    (3, 2)
    """
    W, U, b = check_weights(kernel, recurrent_kernel, bias, names=WEIGHT_NAMES)
    return LSTMParams(W=W, U=U, b=b)


def to_keras(params: LSTMParams) -> list[np.ndarray]:
    """Keras weights ``[kernel, recurrent_kernel, bias]`` for ``layer.set_weights``.

    The bias is left out when ``params.b`` is ``None`` (a ``use_bias=False``
    layer).
    """
    weights = [params.W, params.U]
    if params.b is not None:
        weights.append(params.b)
    return weights


def count_params(input_size: int, units: int, use_bias: bool = True) -> int:
    """Number of weights of a Keras LSTM layer: ``4 (D H + H H + H)``.

    Implements :eq:`eq-param-count`: four gate blocks, each with a (D, H)
    block of the kernel, an (H, H) block of the recurrent kernel and H biases.
    """
    D, H = input_size, units
    return 4 * (D * H + H * H + (H if use_bias else 0))


def keras_config(
    activation: str = "tanh", recurrent_activation: str = "sigmoid", keras_version: int = 3
) -> LSTMConfig:
    """The :class:`lstm_ref.LSTMConfig` of a Keras LSTM with these activations.

    Names are resolved the way the given Keras version resolves them; Keras
    adds no forget bias at run time.
    """
    return LSTMConfig(
        activation=get_activation(activation, keras_version),
        recurrent_activation=get_activation(recurrent_activation, keras_version),
    )


def from_keras_layer(layer: Any) -> tuple[LSTMParams, LSTMConfig]:
    """Parameters and options of a built Keras ``LSTM`` layer or ``LSTMCell``.

    Uses only ``layer.get_weights()`` and ``layer.get_config()``, so it needs
    no TensorFlow import of its own; Keras 2 (``tf_keras``) layers are
    recognized by their module and their ``hard_sigmoid`` honoured.
    """
    config = layer.get_config()
    keras_version = 2 if type(layer).__module__.startswith("tf_keras") else 3
    activations = [config.get(name, default) for name, default in
                   (("activation", "tanh"), ("recurrent_activation", "sigmoid"))]
    for name, value in zip(("activation", "recurrent_activation"), activations):
        if not isinstance(value, str):
            raise ValueError(f"{name}: only named activations can be read, got {value!r}")
    return from_keras(*layer.get_weights()), keras_config(*activations, keras_version)


class LSTMCell:
    """``keras.layers.LSTMCell`` in NumPy: ``cell(inputs, [h, c])`` returns ``(h, [h, c])``.

    Weights ``[kernel (D, 4H), recurrent_kernel (H, 4H), bias (4H,)]``, set with
    :meth:`set_weights` or initialized like Keras's with :meth:`build`.
    """

    def __init__(self, units: int, activation: str = "tanh",
                 recurrent_activation: str = "sigmoid", use_bias: bool = True,
                 unit_forget_bias: bool = True, keras_version: int = 3):
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"units: expected a positive integer, got {units!r}")
        self.units = int(units)
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.config = keras_config(activation, recurrent_activation, keras_version)
        self.params: Optional[LSTMParams] = None

    def build(self, input_size: int, seed: int, dtype="float32") -> None:
        """Initialize the weights as Keras 3 does, from an explicit seed.

        Glorot-uniform ``kernel``, orthogonal ``recurrent_kernel``, zero
        ``bias`` with the forget block set to one if ``unit_forget_bias``: the
        weights of a Keras 3 layer whose initializers were given ``seed``
        (see :func:`lstm_ref.initializers.keras_lstm_init`).
        """
        self.params = keras_lstm_init(input_size, self.units, seed, dtype,
                                      self.unit_forget_bias, self.use_bias)

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Weights in Keras's order: kernel, recurrent_kernel and (if ``use_bias``) bias."""
        expected = 3 if self.use_bias else 2
        if len(weights) != expected:
            raise ValueError(
                f"weights: expected {expected} arrays ({', '.join(WEIGHT_NAMES[:expected])}), "
                f"got {len(weights)}"
            )
        params = from_keras(*weights)
        if params.hidden_size != self.units:
            raise ValueError(
                f"kernel: expected 4 * units = {4 * self.units} columns, got {4 * params.hidden_size}"
            )
        self.params = params

    def get_weights(self) -> list[np.ndarray]:
        return to_keras(self._built())

    def _built(self) -> LSTMParams:
        if self.params is None:
            raise ValueError(f"{type(self).__name__}: no weights yet; call set_weights first")
        return self.params

    def __call__(self, inputs, states):
        """One step from ``states = [h, c]``; returns ``(h, [h, c])``."""
        h, c = states
        new = lstm_step(inputs, LSTMState(h=h, c=c), self._built(), self.config)
        return new.h, [new.h, new.c]


class LSTM(LSTMCell):
    """``keras.layers.LSTM`` in NumPy.

    ``layer(inputs)`` with inputs (N, T, D) returns the last hidden state
    (N, H), or every hidden state (N, T, H) if ``return_sequences``; with
    ``return_state`` the final ``h`` and ``c`` follow, as ``[output, h, c]``.
    ``initial_state`` is ``[h, c]``, zeros if omitted.
    """

    def __init__(self, units: int, activation: str = "tanh",
                 recurrent_activation: str = "sigmoid", use_bias: bool = True,
                 unit_forget_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, keras_version: int = 3):
        super().__init__(units, activation, recurrent_activation, use_bias, unit_forget_bias,
                         keras_version)
        self.return_sequences = return_sequences
        self.return_state = return_state

    def __call__(self, inputs, initial_state=None):
        state = None if initial_state is None else LSTMState(h=initial_state[0], c=initial_state[1])
        outputs, (h, c) = lstm_sequence(inputs, self._built(), self.config, state)
        output = outputs if self.return_sequences else h
        return [output, h, c] if self.return_state else output
