"""Unrolling the cell over time: masks, reading backwards, stacks, both directions.

Sequences are batch-major, ``X`` of shape (N, T, D), as in Keras. Every
function here follows Keras 3's ``RNN`` layer exactly (its TensorFlow
backend's ``rnn`` loop), including what happens at masked steps:

* the state is left as it was (:func:`masked_state`);
* the output repeats the previous step's output, which is zero before the
  first step, not the initial ``h`` (:func:`masked_output`); with
  ``zero_output_for_mask`` it is zero instead;
* ``go_backwards`` reverses the inputs *and* the mask, and returns the
  outputs in the order they were computed (last time step first).

The loops check their inputs once, then call :func:`lstm_ref.cell.step_values`
(the body of :func:`lstm_ref.lstm_step`) once per time step, so every option of
the cell (peepholes, projection, clipping, layer normalization) unrolls the
same way.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from .cell import DEFAULT_CONFIG, LSTMConfig, StepValues, check_config, step_values
from .params import (OVERFLOW_QUIET, LSTMParams, LSTMState, check_dtype, check_list_arg,
                     check_no_overflow, check_sequence_inputs, check_shape, checked_array)

__all__ = [
    "MERGE_MODES", "check_mask", "check_merge_mode", "reverse_time", "masked_state",
    "masked_output", "merge_directions", "lstm_sequence", "lstm_sequence_values",
    "stacked_lstm_sequence",
    "bidirectional_lstm_sequence"
]

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


# ---------------------------------------------------------------------------
# Checks


def check_mask(mask, batch_size: int, steps: int) -> np.ndarray:
    """A boolean mask (N, T): ``True`` where a time step counts; all ``True`` if ``None``.

    Raises
    ------
    TypeError
        If ``mask`` is not boolean (Keras would cast 0/1 numbers silently;
        here a float mask is more likely a mix-up with the inputs).
    ValueError
        If its shape is not (N, T) for the inputs' N and T.
    """
    if mask is None:
        return np.ones((batch_size, steps), dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask: expected a boolean array of shape (N, T), got dtype {mask.dtype}")
    check_shape("mask", mask, (batch_size, steps), ("N", "T"))
    return mask


def check_merge_mode(merge_mode) -> None:
    """Raise ``ValueError`` unless ``merge_mode`` is one of :data:`MERGE_MODES`."""
    if merge_mode not in MERGE_MODES:
        raise ValueError(
            f"merge_mode: expected one of 'concat', 'sum', 'mul', 'ave' or None, "
            f"got {merge_mode!r}"
        )


# ---------------------------------------------------------------------------
# The equations


def reverse_time(X: np.ndarray) -> np.ndarray:
    """``X`` read from its last time step to its first: axis 1 reversed.

    Implements :eq:`eq-go-backwards` for inputs (N, T, D), masks (N, T) and
    outputs (N, T, P) alike. A view, not a copy.
    """
    return X[:, ::-1]


def masked_state(new: LSTMState, old: LSTMState, m_t: np.ndarray) -> LSTMState:
    """The state after a step of which only the rows with ``m_t`` count.

    Implements :eq:`eq-mask-state`: rows where ``m_t`` (N,) is ``True`` take
    the new ``h`` (N, P) and ``c`` (N, H), the others keep the old ones.
    """
    m_t = m_t[:, None]  # (N, 1): one decision per example, for every unit
    return LSTMState(h=np.where(m_t, new.h, old.h), c=np.where(m_t, new.c, old.c))


def masked_output(
    h_t: np.ndarray, y_prev: np.ndarray, m_t: np.ndarray, zero_output_for_mask: bool = False
) -> np.ndarray:
    """The output (N, P) of a step: ``h_t`` where ``m_t``, else ``y_prev`` (or zero).

    Implements :eq:`eq-mask-output`. ``y_prev`` is the previous step's
    *output*, which before the first step is zero, not the initial ``h``.
    """
    fill = np.zeros_like(h_t) if zero_output_for_mask else y_prev
    return np.where(m_t[:, None], h_t, fill)


def merge_directions(
    y_forward: np.ndarray, y_backward: np.ndarray, merge_mode: Optional[str] = "concat"
):
    """Combine the forward and the backward outputs as ``Bidirectional`` does.

    Implements :eq:`eq-merge`. Both outputs are (N, T, P) in time order, or
    (N, P) for the last step; ``"concat"`` gives (..., 2P), ``"sum"``,
    ``"mul"`` and ``"ave"`` give (..., P), ``None`` the pair itself.
    """
    check_merge_mode(merge_mode)
    if merge_mode == "concat":
        return np.concatenate([y_forward, y_backward], axis=-1)
    if merge_mode == "sum":
        return y_forward + y_backward
    if merge_mode == "mul":
        return y_forward * y_backward
    if merge_mode == "ave":
        return (y_forward + y_backward) / 2  # Keras's order of operations
    return y_forward, y_backward


# ---------------------------------------------------------------------------
# One layer


def lstm_sequence(
    X: np.ndarray,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    initial_state: Optional[LSTMState] = None,
    mask: Optional[np.ndarray] = None,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    time_major: bool = False,
) -> tuple[np.ndarray, LSTMState]:
    """Run the cell over every time step of a batch of sequences.

    Implements :eq:`eq-unroll`: the step of :func:`lstm_ref.lstm_step` at
    each time step, feeding its state to the next, with the masked update
    (:func:`masked_state`, :func:`masked_output`) when a mask is given, and
    reading the sequence backwards (:func:`reverse_time`) if asked to.
    Gate blocks of the weights are in the order i, f, g, o.

    Parameters
    ----------
    X : ndarray, shape (N, T, D)
    params : LSTMParams
    config : LSTMConfig
    initial_state : LSTMState, optional
        ``h`` (N, P) and ``c`` (N, H) before the first step; zeros if omitted.
    mask : ndarray of bool, shape (N, T), optional
        ``False`` marks a step to skip (padding): the state passes it
        unchanged. Every step counts if omitted.
    go_backwards : bool
        Read the time steps from last to first (Keras's ``go_backwards``).
    zero_output_for_mask : bool
        Output zeros at masked steps instead of repeating the last output.
    time_major : bool
        ``X`` is (T, N, D) and the outputs (T, N, P), time first, as ONNX
        (layout 0), TFLite (``time_major``) and TensorFlow's fused kernels
        lay them out. The mask stays (N, T).

    Returns
    -------
    outputs : ndarray, shape (N, T, P)
        The output after every step, in the order the steps were read: with
        ``go_backwards``, ``outputs[:, 0]`` follows the last time step, as in
        Keras. Without a mask, the hidden state after every step.
    state : LSTMState
        The state after the last step read.

    Raises
    ------
    ValueError, TypeError
        If a shape or dtype does not match ``params``, a value is not finite,
        or the mask is not boolean (N, T).

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_ref import LSTMParams, lstm_sequence
    >>> params = LSTMParams(W=np.full((1, 4), 0.5), U=np.full((1, 4), 0.5),
    ...                     b=np.zeros(4))
    >>> X = np.ones((1, 3, 1))
    >>> outputs, state = lstm_sequence(X, params, mask=np.array([[True, False, True]]))
    >>> outputs[0, :, 0].round(4)   # the masked step repeats the previous output
    array([0.1743, 0.1743, 0.3091])
    """
    if time_major:
        X = checked_array("X", X, (None, None, params.input_size), ("T", "N", "D"),
                          params.dtype, "the weights")
        X = np.swapaxes(X, 0, 1)  # (N, T, D): a view
    X, state = check_sequence_inputs(X, initial_state, params)
    check_config(config)
    N, T, _ = X.shape
    m = check_mask(mask, N, T)
    if go_backwards:
        X, m = reverse_time(X), reverse_time(m)
    y = np.zeros((N, params.output_size), dtype=params.dtype)  # the output before step 1
    outputs = np.empty((N, T, params.output_size), dtype=params.dtype)  # (N, T, P)
    with np.errstate(**OVERFLOW_QUIET):  # reported below, by name
        for t in range(T):
            new = step_values(X[:, t], state, params, config).state
            state = masked_state(new, state, m[:, t])
            y = masked_output(new.h, y, m[:, t], zero_output_for_mask)
            outputs[:, t] = y
    check_no_overflow("outputs", outputs, "sequence")
    check_no_overflow("c", state.c, "sequence")
    return (np.swapaxes(outputs, 0, 1) if time_major else outputs), state


def lstm_sequence_values(
    X: np.ndarray,
    params: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    initial_state: Optional[LSTMState] = None,
) -> StepValues:
    """Every intermediate of every step: gates, candidate and cell states over time.

    Unrolls the cell as :func:`lstm_sequence` does (no mask), keeping
    what :func:`lstm_ref.cell.step_values` computes at each step, as fused
    kernels (TensorFlow's ``BlockLSTM``, NNAPI's LSTM) report it.

    Returns
    -------
    StepValues
        ``i``, ``f``, ``g``, ``o``, ``c``, ``m`` of shape (N, T, H) and ``h``
        (N, T, P): step t's values at ``[:, t]``.
    """
    X, state = check_sequence_inputs(X, initial_state, params)
    check_config(config)
    steps = []
    with np.errstate(**OVERFLOW_QUIET):  # reported below, by name
        for t in range(X.shape[1]):
            values = step_values(X[:, t], state, params, config)
            state = values.state
            steps.append(values)
    check_no_overflow("c", state.c, "sequence")
    return StepValues(*(np.stack(v, axis=1) for v in zip(*steps)))


# ---------------------------------------------------------------------------
# Layers on layers, and both directions


def stacked_lstm_sequence(
    X: np.ndarray,
    layers: Sequence[LSTMParams],
    config: LSTMConfig = DEFAULT_CONFIG,
    initial_states: Optional[Sequence[Optional[LSTMState]]] = None,
    mask: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, list[LSTMState]]:
    """Run a stack of LSTM layers, each reading the output sequence of the one below.

    Implements :eq:`eq-stack`, as a stack of Keras ``LSTM`` layers with
    ``return_sequences=True`` does: every layer gets the same mask (Keras
    passes it up the stack).

    Parameters
    ----------
    X : ndarray, shape (N, T, D)
    layers : sequence of LSTMParams
        Layer 0 reads ``X``; layer k reads layer k-1's outputs, so its input
        size is layer k-1's output size P. Gate blocks in the order i, f, g, o.
    config : LSTMConfig
        Options shared by every layer.
    initial_states : sequence of LSTMState or None, optional
        One per layer (``None`` for zeros); zeros for all if omitted.
    mask : ndarray of bool, shape (N, T), optional

    Returns
    -------
    outputs : ndarray, shape (N, T, P)
        The top layer's outputs.
    states : list of LSTMState
        Each layer's final state, bottom first.
    """
    layers = list(layers)
    _check_stack(layers)
    if initial_states is None:
        initial_states = [None] * len(layers)
    if len(initial_states) != len(layers):
        raise ValueError(
            f"initial_states: expected one state (or None) per layer, {len(layers)}, "
            f"got {len(initial_states)}"
        )
    states = []
    for params, initial_state in zip(layers, initial_states):
        X, state = lstm_sequence(X, params, config, initial_state, mask)
        states.append(state)
    return X, states


def _check_stack(layers: list) -> None:
    if not layers or not all(isinstance(p, LSTMParams) for p in layers):
        raise TypeError(f"layers: expected a non-empty sequence of LSTMParams, got {layers!r}")
    for k in range(1, len(layers)):
        below, params = layers[k - 1], layers[k]
        check_dtype(f"layers[{k}]", params.W, below.dtype, f"layers[{k - 1}]")
        if params.input_size != below.output_size:
            raise ValueError(
                f"layers[{k}].W: expected D = {below.output_size} rows (the output size P "
                f"of layers[{k - 1}]), got {params.input_size}"
            )


def bidirectional_lstm_sequence(
    X: np.ndarray,
    forward: LSTMParams,
    backward: LSTMParams,
    config: LSTMConfig = DEFAULT_CONFIG,
    initial_state: Optional[tuple[LSTMState, LSTMState]] = None,
    mask: Optional[np.ndarray] = None,
    merge_mode: Optional[str] = "concat",
    return_sequences: bool = True,
) -> tuple[Union[np.ndarray, tuple[np.ndarray, np.ndarray]], LSTMState, LSTMState]:
    """Read the sequences in both directions and merge, as Keras's ``Bidirectional``.

    Implements :eq:`eq-bidirectional`: one layer reads forward, the other
    with ``go_backwards``; the backward outputs are put back in time order
    and merged with :func:`merge_directions`. As Keras
    does, masked steps output zeros when whole sequences are returned.

    Parameters
    ----------
    X : ndarray, shape (N, T, D)
    forward, backward : LSTMParams
        The two layers' weights (gate blocks i, f, g, o), same sizes and dtype.
    config : LSTMConfig
        Options shared by both directions.
    initial_state : (LSTMState, LSTMState), optional
        The forward and the backward initial state; zeros if omitted.
    mask : ndarray of bool, shape (N, T), optional
    merge_mode : {"concat", "sum", "mul", "ave", None}
    return_sequences : bool
        Merge the outputs of every step (N, T, .) or only of the last step
        each direction read (N, .): for the backward layer, the step t = 1.

    Returns
    -------
    output : ndarray, or a pair of them if ``merge_mode`` is None
        (N, T, 2P) for ``"concat"``, (N, T, P) otherwise; (N, 2P) or (N, P)
        without ``return_sequences``.
    forward_state, backward_state : LSTMState
        Each direction's final state (the backward one after reading t = 1).
    """
    check_merge_mode(merge_mode)
    _check_directions(forward, backward)
    forward_state0, backward_state0 = _split_initial_state(initial_state)
    y_forward, forward_state = lstm_sequence(
        X, forward, config, forward_state0, mask, zero_output_for_mask=return_sequences)
    y_backward, backward_state = lstm_sequence(
        X, backward, config, backward_state0, mask, go_backwards=True,
        zero_output_for_mask=return_sequences)
    if return_sequences:
        y_backward = reverse_time(y_backward)  # back in time order
    else:
        y_forward, y_backward = y_forward[:, -1], y_backward[:, -1]  # the last step read
    return merge_directions(y_forward, y_backward, merge_mode), forward_state, backward_state


def _check_directions(forward: LSTMParams, backward: LSTMParams) -> None:
    for name, params in (("forward", forward), ("backward", backward)):
        if not isinstance(params, LSTMParams):
            raise TypeError(f"{name}: expected LSTMParams, got {type(params).__name__}")
    check_dtype("backward", backward.W, forward.dtype, "forward")
    sizes = [(p.input_size, p.hidden_size, p.output_size) for p in (forward, backward)]
    if sizes[0] != sizes[1]:
        raise ValueError(
            f"backward: expected the sizes (D, H, P) = {sizes[0]} of forward, got {sizes[1]}"
        )


def _split_initial_state(initial_state):
    if initial_state is None:
        return None, None
    return check_list_arg("initial_state", initial_state, 2,
                          "a pair (forward state, backward state) of LSTMState")
