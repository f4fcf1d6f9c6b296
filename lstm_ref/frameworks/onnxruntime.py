"""ONNX models of an LSTM, run in ONNX Runtime and in ``onnx.reference``.

This is the only module of lstm_ref that imports ``onnx`` and
``onnxruntime``, and ``import lstm_ref`` does not import it.

* :func:`lstm_model` builds a one-node ONNX model (an ``LSTM`` operator)
  from :class:`lstm_ref.LSTMParams`, the weights as initializers, as a
  shipped model holds them;
* :func:`run_onnxruntime` runs a model in ONNX Runtime's CPU provider
  (:func:`session` keeps the session for repeated runs), and
  :func:`run_reference` in ``onnx.reference``, ONNX's own Python evaluator;
* :func:`lstm_node` reads the ``LSTM`` node of any model (an exported one)
  back into its attributes and lstm_ref's parameters.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from ..conventions.onnx import (ONNXWeights, check_direction, check_layout, from_onnx,
                                to_onnx)
from ..params import LSTMParams

__all__ = ["OPSET", "INPUT_NAMES", "OUTPUT_NAMES", "versions", "lstm_model", "session",
    "run_onnxruntime", "run_reference", "lstm_node"
]

# Errors reach the caller as exceptions; the C++ logger would also print them on
# file descriptor 2, where a notebook shows them as warnings.
onnxruntime.set_default_logger_severity(4)

# The opset of the models built here. LSTM's current definition (layout, since
# opset 14) is the one ONNX Runtime's CPU kernel implements.
OPSET = 21
_ELEMENT_TYPE = {np.dtype(np.float32): TensorProto.FLOAT,
                 np.dtype(np.float64): TensorProto.DOUBLE}
INPUT_NAMES = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P")
OUTPUT_NAMES = ("Y", "Y_h", "Y_c")


def versions() -> dict[str, str]:
    """Versions of onnx and onnxruntime in this process."""
    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def lstm_model(
    directions: Sequence[LSTMParams],
    *,
    direction: str = "forward",
    layout: int = 0,
    sequence_lens: bool = False,
    initial_state: bool = False,
    **attributes,
) -> onnx.ModelProto:
    """A checked one-node ONNX model: an ``LSTM`` holding ``directions``' weights.

    Parameters
    ----------
    directions : sequence of LSTMParams
        One per direction (two, forward first, for ``"bidirectional"``).
    direction : {"forward", "reverse", "bidirectional"}
    layout : {0, 1}
        0: time-major ``X`` (T, N, D); 1: batch-major (N, T, D).
    sequence_lens, initial_state : bool
        Whether the model takes ``sequence_lens`` (int32, (N,)) and
        ``initial_h``/``initial_c`` as inputs.
    **attributes
        Further attributes of the node (``clip``, ``input_forget``,
        ``activations``, ``activation_alpha``, ``activation_beta``).

    Returns
    -------
    onnx.ModelProto
        Inputs ``X`` (and the optional ones), outputs ``Y``, ``Y_h``, ``Y_c``;
        ``W``, ``R`` and, where present, ``B`` and ``P`` are initializers.
        Sizes T and N are symbolic.
    """
    dirs = check_direction(direction)
    layout = check_layout(layout)
    weights = to_onnx(directions)
    if weights.W.shape[0] != dirs:
        raise ValueError(
            f"directions: expected {dirs} LSTMParams for direction {direction!r}, "
            f"got {weights.W.shape[0]}"
        )
    dtype = weights.W.dtype
    if dtype not in _ELEMENT_TYPE:
        raise TypeError(f"directions: expected float32 or float64 weights, got {dtype}")
    element = _ELEMENT_TYPE[dtype]
    H, D = weights.R.shape[2], weights.W.shape[2]
    X_shape = ["T", "N", D] if layout == 0 else ["N", "T", D]
    Y_shape = ["T", dirs, "N", H] if layout == 0 else ["N", "T", dirs, H]
    state_shape = [dirs, "N", H] if layout == 0 else ["N", dirs, H]

    inputs = [helper.make_tensor_value_info("X", element, X_shape)]
    initializers = [numpy_helper.from_array(weights.W, "W"),
                    numpy_helper.from_array(weights.R, "R")]
    if weights.B is not None:
        initializers.append(numpy_helper.from_array(weights.B, "B"))
    if weights.P is not None:
        initializers.append(numpy_helper.from_array(weights.P, "P"))
    if sequence_lens:
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["N"]))
    if initial_state:
        inputs += [helper.make_tensor_value_info(name, element, state_shape)
                   for name in ("initial_h", "initial_c")]
    present = {"X", "W", "R"} | {t.name for t in initializers} | {i.name for i in inputs}
    # An optional input left out is an empty name, so later ones keep their position.
    node_inputs = [name if name in present else "" for name in INPUT_NAMES]
    while node_inputs[-1] == "":
        node_inputs.pop()
    node = helper.make_node(
        "LSTM", node_inputs, list(OUTPUT_NAMES), hidden_size=H, direction=direction,
        layout=layout, **{k: v for k, v in attributes.items() if v is not None},
    )
    outputs = [helper.make_tensor_value_info("Y", element, Y_shape),
               helper.make_tensor_value_info("Y_h", element, state_shape),
               helper.make_tensor_value_info("Y_c", element, state_shape)]
    graph = helper.make_graph([node], "lstm", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lstm_ref")
    onnx.checker.check_model(model, full_check=True)
    return model


def _feeds(model: onnx.ModelProto, X, sequence_lens=None, initial_h=None,
           initial_c=None) -> dict[str, np.ndarray]:
    given = {"X": X, "sequence_lens": sequence_lens, "initial_h": initial_h,
             "initial_c": initial_c}
    feeds = {}
    for graph_input in model.graph.input:
        value = given.get(graph_input.name)
        if value is None:
            raise ValueError(f"{graph_input.name}: the model takes this input; none was given")
        if graph_input.name == "sequence_lens":
            value = np.asarray(value, dtype=np.int32)
        feeds[graph_input.name] = np.asarray(value)
    return feeds


def session(model: onnx.ModelProto):
    """An ONNX Runtime CPU session of ``model``, as a function of the model's inputs.

    Returns ``run(X, sequence_lens=None, initial_h=None, initial_c=None)``,
    which returns the model's outputs (``Y``, ``Y_h``, ``Y_c``). Graph
    optimizations are off, so the LSTM kernel itself runs, alone; the session
    is made once, so that calling ``run`` costs what running the model costs.
    """
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 4  # fatal only: errors come back as the exception
    inference = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                             providers=["CPUExecutionProvider"])
    output_names = [o.name for o in model.graph.output]

    def run(X, sequence_lens=None, initial_h=None, initial_c=None) -> tuple[np.ndarray, ...]:
        return tuple(inference.run(output_names, _feeds(model, X, sequence_lens, initial_h,
                                                        initial_c)))

    return run


def run_onnxruntime(model: onnx.ModelProto, X, sequence_lens=None, initial_h=None,
                    initial_c=None) -> tuple[np.ndarray, ...]:
    """``Y``, ``Y_h``, ``Y_c`` of ``model`` run in ONNX Runtime on the CPU (:func:`session`)."""
    return session(model)(X, sequence_lens, initial_h, initial_c)


def run_reference(model: onnx.ModelProto, X, sequence_lens=None, initial_h=None,
                  initial_c=None) -> tuple[np.ndarray, ...]:
    """``Y``, ``Y_h``, ``Y_c`` of ``model`` run in ``onnx.reference.ReferenceEvaluator``."""
    evaluator = ReferenceEvaluator(model)
    return tuple(evaluator.run(None, _feeds(model, X, sequence_lens, initial_h, initial_c)))


def lstm_node(model: onnx.ModelProto) -> tuple[dict, ONNXWeights, list[LSTMParams]]:
    """The attributes, the weights and lstm_ref's parameters of ``model``'s ``LSTM`` node.

    The weights are read from the model's initializers or ``Constant``
    nodes, as exporters store them. Raises ``ValueError`` unless the model
    has exactly one ``LSTM`` node whose weights are stored in it.
    """
    nodes = [n for n in model.graph.node if n.op_type == "LSTM"]
    if len(nodes) != 1:
        raise ValueError(f"model: expected exactly one LSTM node, got {len(nodes)}")
    node = nodes[0]
    stored = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            stored[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    names = dict(zip(INPUT_NAMES, node.input))
    values = {}
    for key in ("W", "R", "B", "P"):
        name = names.get(key, "")
        if name and name not in stored:
            raise ValueError(f"model: the LSTM node's {key} ({name!r}) is not stored in the model")
        values[key] = stored[name] if name else None
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    for key, value in attributes.items():
        if isinstance(value, bytes):
            attributes[key] = value.decode()
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            attributes[key] = [v.decode() for v in value]
    weights = ONNXWeights(**values)
    return attributes, weights, from_onnx(*weights)
