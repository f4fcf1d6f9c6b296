"""TFLite's fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` operator, in NumPy only.

TensorFlow's converter turns a tf-keras ``LSTM`` layer into one fused
operator whose 24 inputs hold every weight separately, one tensor per gate,
each with the weight on the left (``W_f x``, shape (H, D)):

======  ====================================  ===========  ============================
#       tensor                                shape        lstm_ref
======  ====================================  ===========  ============================
0       input                                 (N, T, D)    ``X`` (time-major: (T, N, D))
1-4     input_to_{input,forget,cell,output}   (H, D)       blocks of ``W``, transposed
5-8     recurrent_to_{...}_weights            (H, P)       blocks of ``U``, transposed
9-11    cell_to_{input,forget,output}         (H,)         ``p_i``, ``p_f``, ``p_o``
12-15   ``*_gate_bias``                       (H,)         blocks of ``b``
16      projection_weights                    (P, H)       ``W_proj``, transposed
17      projection_bias                       (P,)         ``b_proj``
18      output_state (variable)               (N, P)       ``h`` before the first step
19      cell_state (variable)                 (N, H)       ``c`` before the first step
20-23   ``*_layer_norm_coefficients``         (H,)         ``gamma`` (TFLite's layer norm)
======  ====================================  ===========  ============================

A tensor left out (index -1 in the model) is ``None`` here. Without the
input gate's tensors (1, 5, 9, 12) the operator couples its input and forget
gates, ``i = 1 - f`` (CIFG). Its options: ``fused_activation_function``
(φ, tanh), ``cell_clip`` and ``proj_clip`` (0 for none), ``time_major``.

The converter gives the operator options the Keras layer never had: a
cell clip of 10, and states 18 and 19 that are *variable* tensors, kept
from one invocation of the interpreter to the next.

No module of lstm_ref imports TFLite: :func:`from_tflite` and
:func:`to_tflite` convert NumPy arrays; :mod:`lstm_ref.frameworks.litert`
reads them from a converted model and runs it.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..cell import LSTMConfig
from ..layout import GATE_ORDER, split_gates
from ..params import LSTMParams, LSTMState, as_float_array, checked_array
from ..sequence import lstm_sequence

__all__ = ["TFLITE_GATES", "TENSOR_NAMES", "ACTIVATIONS", "OPTION_NAMES",
    "TFLITE_LAYER_NORM_EPSILON", "check_tensors", "from_tflite", "tflite_config", "to_tflite",
    "TFLiteLSTM"
]

TFLITE_GATES = ("input", "forget", "cell", "output")  # TFLite's names of i, f, g, o
TENSOR_NAMES = (
    "input",
    *(f"input_to_{gate}_weights" for gate in TFLITE_GATES),
    *(f"recurrent_to_{gate}_weights" for gate in TFLITE_GATES),
    "cell_to_input_weights", "cell_to_forget_weights", "cell_to_output_weights",
    *(f"{gate}_gate_bias" for gate in TFLITE_GATES),
    "projection_weights", "projection_bias",
    "output_state", "cell_state",
    *(f"{gate}_layer_norm_coefficients" for gate in TFLITE_GATES),
)
# TFLite's ActivationFunctionType values and what lstm_ref calls them.
ACTIVATIONS = {4: "tanh"}
OPTION_NAMES = ("fused_activation_function", "cell_clip", "proj_clip", "time_major")


def _index(name: str) -> int:
    return TENSOR_NAMES.index(name)


def check_tensors(tensors) -> list:
    """``tensors`` as a list of 24 (``None`` for a tensor left out); ``TypeError`` otherwise."""
    if not isinstance(tensors, (list, tuple)) or len(tensors) != len(TENSOR_NAMES):
        got = type(tensors).__name__
        if hasattr(tensors, "__len__"):
            got += f" of length {len(tensors)}"
        raise TypeError(
            f"tensors: expected a list of the operator's {len(TENSOR_NAMES)} input tensors "
            f"(None where one is left out), got {got}"
        )
    return list(tensors)


def from_tflite(tensors: Sequence[Optional[np.ndarray]], options: dict
                ) -> tuple[LSTMParams, LSTMConfig]:
    """Canonical parameters and options from the fused operator's 24 inputs.

    Parameters
    ----------
    tensors : list of 24 ndarrays or None
        In the operator's order (:data:`TENSOR_NAMES`); the input and the two
        state tensors are not read.
    options : dict
        The operator's options, by the names of :data:`OPTION_NAMES`.

    Returns
    -------
    params : LSTMParams
        ``W`` (D, 4H), ``U`` (P, 4H), ``b``, blocks i, f, g, o; peepholes;
        ``W_proj`` (H, P) and ``b_proj``; ``gamma`` with TFLite's layer norm.
        With CIFG (no input-gate tensors) the i blocks hold zeros, unused.
    config : LSTMConfig
        φ, ``cell_clip`` and ``proj_clip`` (``None`` for TFLite's 0), and the
        coupling of CIFG.

    Raises
    ------
    ValueError
        If a tensor's shape does not fit the others, or a weight needed by
        the operator (the forget, cell or output gate's) is missing.
    """
    tensors = check_tensors(tensors)
    weights = dict(zip(TENSOR_NAMES, tensors))
    forget = weights["input_to_forget_weights"]
    if forget is None:
        raise ValueError("input_to_forget_weights: the operator needs it; got None")
    forget = as_float_array("input_to_forget_weights", forget)
    if forget.ndim != 2:
        raise ValueError(f"input_to_forget_weights: expected shape (H, D), got {forget.shape}")
    H, D = forget.shape
    dtype = forget.dtype
    recurrent = weights["recurrent_to_forget_weights"]
    P = np.shape(recurrent)[1] if recurrent is not None and np.ndim(recurrent) == 2 else H
    cifg = weights["input_to_input_weights"] is None

    def get(name, shape, symbols, required=True):
        value = weights[name]
        if value is None:
            if required:
                raise ValueError(f"{name}: the operator needs it; got None")
            return None
        return checked_array(name, value, shape, symbols, dtype, "input_to_forget_weights")

    def blocks(kind, shape, symbols):
        out = []
        for gate in TFLITE_GATES:
            name = kind.format(gate)
            if gate == "input" and cifg:
                out.append(np.zeros(shape, dtype))  # unused: i = 1 - f
            else:
                out.append(get(name, shape, symbols))
        return out

    W = np.concatenate([w.T for w in blocks("input_to_{}_weights", (H, D), ("H", "D"))], axis=1)
    U = np.concatenate([u.T for u in blocks("recurrent_to_{}_weights", (H, P), ("H", "P"))],
                       axis=1)
    b = np.concatenate(blocks("{}_gate_bias", (H,), ("H",)))
    arrays = {"W": W, "U": U, "b": b}
    for gate, name in zip("ifo", ("cell_to_input_weights", "cell_to_forget_weights",
                                  "cell_to_output_weights")):
        p = get(name, (H,), ("H",), required=False)
        if p is not None:
            arrays[f"p_{gate}"] = p
    W_proj = get("projection_weights", (P, H), ("P", "H"), required=False)
    if W_proj is not None:
        arrays["W_proj"] = W_proj.T.copy()
    b_proj = get("projection_bias", (P,), ("P",), required=False)
    if b_proj is not None:
        arrays["b_proj"] = b_proj
    norms = [weights[f"{gate}_layer_norm_coefficients"] for gate in TFLITE_GATES]
    if any(n is not None for n in norms[1:]):
        arrays["gamma"] = np.concatenate(blocks("{}_layer_norm_coefficients", (H,), ("H",)))
    params = LSTMParams(**arrays)
    return params, tflite_config(options, cifg, params)


def tflite_config(options: dict, cifg: bool = False, params: Optional[LSTMParams] = None
                  ) -> LSTMConfig:
    """The :class:`lstm_ref.LSTMConfig` of the operator's ``options``."""
    unknown = sorted(set(options) - set(OPTION_NAMES) - {"state_is_variable"})
    if unknown:
        raise ValueError(f"options: expected keys among {OPTION_NAMES}, got {unknown[0]!r}")
    activation = options.get("fused_activation_function", 4)
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"options['fused_activation_function']: expected one of {sorted(ACTIVATIONS)} "
            f"({', '.join(ACTIVATIONS.values())}), got {activation!r}"
        )
    clips = {name: (float(options.get(name, 0.0)) or None) for name in ("cell_clip", "proj_clip")}
    extra = {}
    if cifg:
        extra["coupled_gates"] = "input_from_forget"
    if params is not None and params.layer_norm_form == "tflite":
        extra["layer_norm_epsilon"] = TFLITE_LAYER_NORM_EPSILON
    return LSTMConfig(activation=ACTIVATIONS[activation], **clips, **extra)


TFLITE_LAYER_NORM_EPSILON = 1e-8  # kNormalizationEpsilon of TFLite's LSTM kernels


def to_tflite(params: LSTMParams, cifg: bool = False) -> list[Optional[np.ndarray]]:
    """The fused operator's 24 inputs for ``params`` (``None`` for the input and states).

    With ``cifg`` the input gate's tensors are left out (the i blocks of
    ``params`` are not used); layer-norm coefficients are written from
    ``gamma`` (TFLite's form has no shift: the bias is added after
    normalizing).
    """
    if params.V_o is not None:
        raise ValueError("params.V_o: the TFLite operator has no full-matrix peephole")
    if params.gamma is not None and (params.beta is not None or params.gamma_c is not None):
        raise ValueError(
            "params.beta: TFLite's layer norm has gains only (the bias is added after "
            "normalizing, the cell state is not normalized)"
        )
    tensors: list[Optional[np.ndarray]] = [None] * len(TENSOR_NAMES)

    def put(name, value):
        tensors[_index(name)] = None if value is None else np.ascontiguousarray(value)

    b = params.b if params.b is not None else np.zeros(4 * params.hidden_size, params.dtype)
    for gate, W_k, U_k, b_k in zip(TFLITE_GATES, split_gates(params.W), split_gates(params.U),
                                   split_gates(b)):
        if gate == "input" and cifg:
            continue
        put(f"input_to_{gate}_weights", W_k.T)  # (H, D): TFLite multiplies W_k x
        put(f"recurrent_to_{gate}_weights", U_k.T)  # (H, P)
        put(f"{gate}_gate_bias", b_k)
    for gate, name in zip("ifo", ("cell_to_input_weights", "cell_to_forget_weights",
                                  "cell_to_output_weights")):
        if not (gate == "i" and cifg):
            put(name, getattr(params, f"p_{gate}"))
    put("projection_weights", None if params.W_proj is None else params.W_proj.T)
    put("projection_bias", getattr(params, "b_proj", None))
    if params.gamma is not None:
        for gate, gamma_k in zip(TFLITE_GATES, split_gates(params.gamma)):
            if not (gate == "input" and cifg):
                put(f"{gate}_layer_norm_coefficients", gamma_k)
    return tensors


class TFLiteLSTM:
    """What the fused operator computes, in NumPy through :func:`lstm_ref.lstm_sequence`.

    Made from the operator's 24 inputs and options (as
    :func:`lstm_ref.frameworks.litert.fused_lstm` reads them from a model).
    Like the interpreter, it keeps its state from one call to the next:
    the states are variable tensors. :meth:`reset` sets them to zero (or
    to the values the model stores), as a fresh interpreter does.
    """

    def __init__(self, tensors: Sequence[Optional[np.ndarray]], options: dict):
        self.params, self.config = from_tflite(tensors, options)
        self.time_major = bool(options.get("time_major", False))
        self.reset()

    def reset(self) -> None:
        """Forget the state: the next call starts from zeros."""
        self.state: Optional[LSTMState] = None

    def __call__(self, X) -> np.ndarray:
        """The outputs (N, T, P) (time-major: (T, N, P)) for inputs (N, T, D) ((T, N, D))."""
        outputs, self.state = lstm_sequence(X, self.params, self.config, self.state,
                                            time_major=self.time_major)
        return outputs
