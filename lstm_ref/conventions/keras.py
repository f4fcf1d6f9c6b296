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

:class:`LSTM`, :class:`LSTMCell` and :class:`Bidirectional` mirror the Keras
classes: same arguments, same return values, ``get_weights``/``set_weights``
in Keras's order, masks, ``go_backwards`` and ``stateful`` with Keras's rules.
Their computation is :func:`lstm_ref.lstm_sequence` / :func:`lstm_ref.lstm_step`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..activations import get_activation
from ..cell import LSTMConfig, lstm_step
from ..params import (LSTMParams, LSTMState, built, check_list_arg, check_units, check_weights,
                      state_pair, zero_state)
from ..sequence import check_merge_mode, lstm_sequence, merge_directions, reverse_time

__all__ = [
    "WEIGHT_NAMES", "from_keras", "to_keras", "count_params", "keras_config",
    "from_keras_layer", "LSTMCell", "LSTM", "Bidirectional"
]

WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")


def from_keras(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: Optional[np.ndarray] = None,
) -> LSTMParams:
    """Canonical parameters from a Keras LSTM's weights.

    The weights only: a layer's activations are not among them. Run the
    result with :func:`keras_config` of the layer's activations, or read both
    from the layer with :func:`from_keras_layer`.

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
        self.units = check_units("units", units)
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.config = keras_config(activation, recurrent_activation, keras_version)
        self.params: Optional[LSTMParams] = None

    def build(self, input_size: int, seed: int, dtype="float32") -> None:
        """Initialize the weights as Keras 3 does, from an explicit seed.

        Glorot-uniform ``kernel``, orthogonal ``recurrent_kernel``, zero
        ``bias`` with the forget block set to one if ``unit_forget_bias``: the
        weights of a Keras 3 layer whose initializers were given ``seed``
        (see :func:`lstm_ref.initializers.keras.keras_lstm_init`).
        """
        # Imported here: the random-number replica loads only when asked for.
        from ..initializers.keras import keras_lstm_init

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
        return built(self, self.params)

    def __call__(self, inputs, states):
        """One step from ``states = [h, c]``; returns ``(h, [h, c])``."""
        h, c = state_pair("states", states, ("h", "c"), "a list [h, c] of two arrays")
        new = lstm_step(inputs, LSTMState(h=h, c=c), self._built(), self.config)
        return new.h, [new.h, new.c]


class LSTM(LSTMCell):
    """``keras.layers.LSTM`` in NumPy.

    ``layer(inputs)`` with inputs (N, T, D) returns the last output (N, H),
    or the output of every step (N, T, H) if ``return_sequences``; with
    ``return_state`` the final ``h`` and ``c`` follow, as ``[output, h, c]``.
    ``initial_state`` is ``[h, c]``, zeros if omitted; ``mask`` is a boolean
    (N, T) array, ``False`` at steps to skip. The computation is
    :func:`lstm_ref.lstm_sequence`, with Keras's rules for masked steps.

    With ``stateful=True`` the final ``[h, c]`` of each call is kept in
    :attr:`states` and is the initial state of the next call (for the same
    batch size N), until :meth:`reset_state` sets it to zeros.
    """

    def __init__(self, units: int, activation: str = "tanh",
                 recurrent_activation: str = "sigmoid", use_bias: bool = True,
                 unit_forget_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, zero_output_for_mask: bool = False,
                 keras_version: int = 3):
        super().__init__(units, activation, recurrent_activation, use_bias, unit_forget_bias,
                         keras_version)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.zero_output_for_mask = zero_output_for_mask
        self.states: Optional[list[np.ndarray]] = None  # [h, c] of a stateful layer

    def __call__(self, inputs, initial_state=None, mask=None):
        params = self._built()
        if np.ndim(inputs) == 3 and np.shape(inputs)[1] == 0:
            # Keras's LSTM fails on an empty sequence too; a clear error, not an IndexError.
            raise ValueError(
                f"inputs: expected at least one time step, shape (N, T, D) with T >= 1, "
                f"as Keras's LSTM requires; got {np.shape(inputs)}"
            )
        if self.stateful:
            kept = self._stateful_states(inputs, params)
            initial_state = kept if initial_state is None else initial_state
        state = None if initial_state is None else LSTMState(*_state_pair(initial_state))
        outputs, (h, c) = lstm_sequence(inputs, params, self.config, state, mask,
                                        self.go_backwards, self.zero_output_for_mask)
        if self.stateful:
            self.states = [h, c]
        # With a mask the last output need not be h: see lstm_ref.sequence.masked_output.
        output = outputs if self.return_sequences else outputs[:, -1]
        return [output, h, c] if self.return_state else output

    def _stateful_states(self, inputs, params: LSTMParams) -> list[np.ndarray]:
        """The kept states, created as zeros for the first batch (Keras: at build)."""
        N = np.shape(inputs)[0]
        if self.states is None:
            self.states = list(zero_state(params, N))
        expected = self.states[0].shape[0]
        if N != expected:
            raise ValueError(
                f"inputs: a stateful layer expects the batch size N = {expected} of its "
                f"states, got {N}"
            )
        return self.states

    def reset_state(self) -> None:
        """Set the kept states of a stateful layer to zeros (nothing to do otherwise)."""
        if self.states is not None:
            self.states = [np.zeros_like(s) for s in self.states]

    def reset_states(self) -> None:
        """Alias of :meth:`reset_state`, as in Keras."""
        self.reset_state()

    def copy(self, **changes) -> "LSTM":
        """A new, unbuilt layer with the same options except ``changes``.

        What Keras's ``Bidirectional`` does with the layer it wraps: it
        rebuilds it from its configuration, without weights or states.
        """
        options = dict(units=self.units, use_bias=self.use_bias,
                       unit_forget_bias=self.unit_forget_bias,
                       return_sequences=self.return_sequences, return_state=self.return_state,
                       go_backwards=self.go_backwards, stateful=self.stateful,
                       zero_output_for_mask=self.zero_output_for_mask)
        layer = LSTM(**{**options, **changes})
        layer.config = self.config
        return layer


def _state_pair(initial_state) -> tuple:
    return state_pair("initial_state", initial_state, ("h", "c"), "a list [h, c] of two arrays")


class Bidirectional:
    """``keras.layers.Bidirectional`` around an :class:`LSTM`, in NumPy.

    Like Keras, it makes two new layers from the one it is given: a forward
    copy and a backward copy with ``go_backwards=True`` (or uses
    ``backward_layer``), and sets their ``zero_output_for_mask`` to
    ``return_sequences``. A call runs both on the same inputs and mask,
    reverses the backward outputs back into time order (when whole sequences
    are returned) and merges them (:func:`lstm_ref.sequence.merge_directions`).

    Weights are the forward layer's ``[kernel, recurrent_kernel, bias]``
    followed by the backward layer's. ``initial_state`` is
    ``[h_fwd, c_fwd, h_bwd, c_bwd]``: the first half goes to the forward
    layer. With ``return_state`` the result is ``[output, h_fwd, c_fwd,
    h_bwd, c_bwd]`` (``[y_fwd, y_bwd, h_fwd, ...]`` when ``merge_mode`` is None).
    """

    def __init__(self, layer: LSTM, merge_mode: Optional[str] = "concat",
                 backward_layer: Optional[LSTM] = None):
        for name, value in (("layer", layer), ("backward_layer", backward_layer)):
            if not isinstance(value, LSTM) and (name == "layer" or value is not None):
                raise TypeError(f"{name}: expected an lstm_ref.conventions.keras.LSTM, "
                                f"got {type(value).__name__}")
        check_merge_mode(merge_mode)
        self.merge_mode = merge_mode
        self.forward_layer = layer.copy()
        self.backward_layer = (layer.copy(go_backwards=True) if backward_layer is None
                               else backward_layer)
        self._check_layers()
        for direction in (self.forward_layer, self.backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful

    def _check_layers(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "backward_layer: expected go_backwards different from the forward layer's "
                f"({forward.go_backwards}), got {backward.go_backwards}"
            )
        for name in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, name) != getattr(backward, name):
                raise ValueError(
                    f"backward_layer: expected {name}={getattr(forward, name)} as the "
                    f"forward layer, got {getattr(backward, name)}"
                )

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """The forward layer's weights, then the backward layer's, in Keras's order."""
        per_layer = [WEIGHT_NAMES[: 3 if layer.use_bias else 2]
                     for layer in (self.forward_layer, self.backward_layer)]
        expected = sum(len(names) for names in per_layer)
        if not isinstance(weights, (list, tuple)) or len(weights) != expected:
            got = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
            raise ValueError(
                f"weights: expected {expected} arrays ({', '.join(per_layer[0])} of the "
                f"forward layer, then {', '.join(per_layer[1])} of the backward layer), "
                f"got {got}"
            )
        half = len(per_layer[0])
        self.forward_layer.set_weights(weights[:half])
        self.backward_layer.set_weights(weights[half:])

    def get_weights(self) -> list[np.ndarray]:
        return self.forward_layer.get_weights() + self.backward_layer.get_weights()

    def __call__(self, inputs, initial_state=None, mask=None):
        forward_state = backward_state = None
        if initial_state is not None:
            states = check_list_arg("initial_state", initial_state, 4,
                                    "a list [h_fwd, c_fwd, h_bwd, c_bwd] of four arrays")
            forward_state, backward_state = states[:2], states[2:]
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, mask=mask)
        states = []
        if self.return_state:
            states, y, y_rev = y[1:] + y_rev[1:], y[0], y_rev[0]
        if self.return_sequences:
            y_rev = reverse_time(y_rev)  # the backward layer returns them last step first
        output = merge_directions(y, y_rev, self.merge_mode)
        if not self.return_state:
            return output
        return [*output, *states] if self.merge_mode is None else [output, *states]

    @property
    def states(self) -> Optional[list[np.ndarray]]:
        """``[h_fwd, c_fwd, h_bwd, c_bwd]`` of a stateful layer after a call, else None."""
        if self.forward_layer.states and self.backward_layer.states:
            return self.forward_layer.states + self.backward_layer.states
        return None

    def reset_state(self) -> None:
        """Set both directions' kept states to zeros; only for a stateful layer, as in Keras."""
        if not self.stateful:
            raise AttributeError("reset_state: the layer is not stateful")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        """Alias of :meth:`reset_state`, as in Keras."""
        self.reset_state()
