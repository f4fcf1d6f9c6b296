"""TFLite models run in LiteRT (``ai_edge_litert``), the TFLite interpreter.

This is the only module of lstm_ref that imports ``ai_edge_litert``, and
``import lstm_ref`` does not import it. It reads a TFLite flatbuffer with
the schema LiteRT ships, and runs it in LiteRT's ``Interpreter``:

* :func:`builtin_ops` names the operators of every subgraph: what a
  converted LSTM became (a fused ``UNIDIRECTIONAL_SEQUENCE_LSTM``, or a
  ``WHILE`` loop);
* :func:`fused_lstm` reads the fused operator's 24 input tensors and its
  options, for :mod:`lstm_ref.conventions.tflite`;
* :func:`lstm_op_model` writes a one-operator model from lstm_ref's
  parameters, so that every option of the operator (CIFG, peepholes,
  projection with bias, layer norm) runs in the real kernel;
* :func:`run` invokes a model, once or several times in a row.

Converting a Keras model to TFLite needs TensorFlow:
:func:`lstm_ref.frameworks.tensorflow.tflite_from_keras`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from ..conventions.tflite import OPTION_NAMES, TENSOR_NAMES

__all__ = ["FUSED_LSTM", "versions", "builtin_ops", "fused_lstm", "run", "lstm_op_model"
]

FUSED_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
_OP_NAMES = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
_NUMPY_TYPES = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.FLOAT64: np.float64,
                schema.TensorType.INT32: np.int32}
# The option names of conventions.tflite, as the schema's object API spells them.
_OPTION_FIELDS = dict(zip(OPTION_NAMES, ("fusedActivationFunction", "cellClip", "projClip",
                                         "timeMajor")))


def versions() -> dict[str, str]:
    """The version of ai_edge_litert in this process."""
    import ai_edge_litert

    return {"ai_edge_litert": getattr(ai_edge_litert, "__version__", "unknown")}


def _model(flatbuffer: bytes) -> "schema.ModelT":
    return schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)


def _op_name(model, op) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    return _OP_NAMES[max(code.builtinCode, code.deprecatedBuiltinCode)]


def builtin_ops(flatbuffer: bytes) -> list[list[str]]:
    """The names of the operators of each subgraph of a TFLite model, in order."""
    model = _model(flatbuffer)
    return [[_op_name(model, op) for op in subgraph.operators] for subgraph in model.subgraphs]


def fused_lstm(flatbuffer: bytes) -> tuple[list[Optional[np.ndarray]], dict]:
    """The 24 input tensors and the options of the model's fused LSTM operator.

    Returns
    -------
    tensors : list of 24 ndarrays or None
        Constant tensors as arrays of their stored values (weights, biases,
        peepholes, projection, layer norm); ``None`` for a tensor left out and
        for the input and the two state tensors (not constants).
    options : dict
        ``fused_activation_function``, ``cell_clip``, ``proj_clip``,
        ``time_major``, plus ``state_is_variable``: whether the state tensors
        are variables (kept between invocations).

    Raises
    ------
    ValueError
        Unless the model has exactly one ``UNIDIRECTIONAL_SEQUENCE_LSTM``.
    """
    model = _model(flatbuffer)
    found = [(subgraph, op) for subgraph in model.subgraphs for op in subgraph.operators
             if _op_name(model, op) == FUSED_LSTM]
    if len(found) != 1:
        raise ValueError(f"flatbuffer: expected one {FUSED_LSTM} operator, got {len(found)}")
    subgraph, op = found[0]
    tensors = []
    for index in op.inputs:
        if index < 0:
            tensors.append(None)
            continue
        tensor = subgraph.tensors[index]
        data = model.buffers[tensor.buffer].data
        if data is None or len(data) == 0:
            tensors.append(None)  # the input, a state: not stored
            continue
        array = np.frombuffer(bytes(bytearray(data)), dtype=_NUMPY_TYPES[tensor.type])
        tensors.append(array.reshape(tuple(tensor.shape)).copy())
    options = {name: getattr(op.builtinOptions, field) for name, field in _OPTION_FIELDS.items()}
    states = [subgraph.tensors[op.inputs[TENSOR_NAMES.index(n)]]
              for n in ("output_state", "cell_state")]
    options["state_is_variable"] = all(bool(t.isVariable) for t in states)
    return tensors, options


def run(flatbuffer: bytes, *inputs: np.ndarray) -> list[np.ndarray]:
    """Run a one-input, one-output model once per input, in one interpreter.

    Invocations follow one another as in a deployed app: whatever the model
    keeps in variable tensors (an LSTM's state) carries over from one to the
    next. A new call of :func:`run` starts a fresh interpreter.
    """
    # The built-in kernels without the default XNNPACK delegate, which takes no
    # LSTM operator anyway, and would announce itself on stderr.
    interpreter = Interpreter(
        model_content=flatbuffer,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs = []
    for X in inputs:
        interpreter.set_tensor(source["index"], np.ascontiguousarray(X))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(target["index"]).copy())
    return outputs


def lstm_op_model(tensors: Sequence[Optional[np.ndarray]], batch_size: int, steps: int,
                  fused_activation_function: int = 4, cell_clip: float = 0.0,
                  proj_clip: float = 0.0, time_major: bool = False) -> bytes:
    """A TFLite model with one ``UNIDIRECTIONAL_SEQUENCE_LSTM`` operator, as a flatbuffer.

    Parameters
    ----------
    tensors : list of 24 ndarrays or None
        The operator's inputs (:func:`lstm_ref.conventions.tflite.to_tflite`);
        the input and states (0, 18, 19) are made here: the input is the
        model's input, (N, T, D) (time-major: (T, N, D)), and the states are
        variable tensors that start at zero.
    batch_size, steps : int
        N and T, fixed in the model as the converter fixes them.
    fused_activation_function, cell_clip, proj_clip, time_major
        The operator's options (4 is tanh; a clip of 0 means none).

    Returns
    -------
    bytes
        The model, with one output: every step's h, (N, T, P) or (T, N, P).
    """
    present = [a for a in tensors if a is not None]
    element = {np.dtype(np.float32): schema.TensorType.FLOAT32}[present[0].dtype]
    forget = tensors[TENSOR_NAMES.index("input_to_forget_weights")]
    recurrent = tensors[TENSOR_NAMES.index("recurrent_to_forget_weights")]
    (H, D), P = forget.shape, recurrent.shape[1]
    N, T = batch_size, steps
    buffers, model_tensors = [schema.BufferT()], []

    def add(name, shape, data=None, variable=False, dtype=element):
        buffer = schema.BufferT()
        if data is not None:
            buffer.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
        buffers.append(buffer)
        model_tensors.append(schema.TensorT())
        tensor = model_tensors[-1]
        tensor.shape, tensor.type, tensor.buffer = list(shape), dtype, len(buffers) - 1
        tensor.name, tensor.isVariable = name, variable
        return len(model_tensors) - 1

    io_shape = (T, N) if time_major else (N, T)
    inputs = []
    for name, array in zip(TENSOR_NAMES, tensors):
        if name == "input":
            inputs.append(add(name, (*io_shape, D)))
        elif name == "output_state":
            inputs.append(add(name, (N, P), variable=True))
        elif name == "cell_state":
            inputs.append(add(name, (N, H), variable=True))
        elif array is None:
            inputs.append(-1)
        else:
            inputs.append(add(name, array.shape, array))
    output = add("output", (*io_shape, P))

    options = schema.UnidirectionalSequenceLSTMOptionsT()
    options.fusedActivationFunction, options.cellClip = fused_activation_function, cell_clip
    options.projClip, options.timeMajor = proj_clip, time_major
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, inputs, [output]
    op.builtinOptionsType = schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions
    op.builtinOptions = options
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM
    code.version = 1
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = model_tensors, [inputs[0]], [output]
    subgraph.operators = [op]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [subgraph]
    model.buffers, model.description = buffers, "lstm_ref"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
