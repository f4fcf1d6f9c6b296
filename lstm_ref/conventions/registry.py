"""Every weight layout lstm_ref knows, in one table: the conversion matrix's rows and columns.

Each :class:`Layout` says how one framework stores an LSTM layer's weights
and converts both ways between that storage and :class:`lstm_ref.LSTMParams`
(blocks i, f, g, o; ``W`` (D, 4H), ``U`` (H, 4H), ``b`` (4H,)) with the
convention's own converter. ``to_arrays`` gives the arrays by the names the
framework uses (a flat dict; Flax's nested names joined with ``/``; a
run-time ``forget_bias`` as a 0-d array); ``from_arrays`` reads them back.
Any layout converts to any other through the canonical form
(:func:`convert`): that is the matrix.

=============  ===========================================  ===============  ==================
key            arrays                                       gate order       bias
=============  ===========================================  ===============  ==================
``keras3``     kernel (D, 4H), recurrent_kernel, bias       i, f, c, o       one
``keras2``     the same (tf-keras)                          i, f, c, o       one
``tf1``        kernel (D + H, 4H), bias; forget_bias        i, j, f, o       one + forget_bias
``raw_ops``    w (D + H, 4H), b; forget_bias (BlockLSTM)    i, ci, f, o      one + forget_bias
``torch``      weight_ih_l0 (4H, D), weight_hh_l0 (4H, H)   i, f, g, o       two, summed
``flax``       ii..io (D, H), hi..ho (H, H) + bias          i, f, g, o       on the h layers
``onnx``       W (1, 4H, D), R (1, 4H, H), B (1, 8H)        i, o, f, c       two, summed
``tflite``     one tensor per gate: 4 (H, D), 4 (H, H)      input, forget,   one per gate
                                                            cell, output
``cudnn``      one flat buffer: 8 matrices, 8 biases        i, f, c, o       two, summed
=============  ===========================================  ===============  ==================

NumPy only: no framework is imported here
(:mod:`lstm_ref.frameworks.matrix` runs each layout in its framework).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..params import LSTMParams, fold_forget_bias
from . import cudnn, flax, keras, onnx, tf1, tf_fused, tflite, torch

__all__ = ["TF_FORGET_BIAS", "TFLITE_OPTIONS", "Layout", "LAYOUTS", "layout", "convert"]

# TF 1.x's cells and BlockLSTM add this to the forget gate at run time unless told otherwise.
TF_FORGET_BIAS = 1.0
# The options of the one-operator TFLite models: tanh (4), no clipping, batch-major.
TFLITE_OPTIONS = {"fused_activation_function": 4, "cell_clip": 0.0, "proj_clip": 0.0,
                  "time_major": False}


class Layout(NamedTuple):
    """One framework's storage of an LSTM layer, with converters both ways.

    ``to_arrays(params)`` gives ``{name: array}`` in the framework's names;
    ``from_arrays(arrays)`` the :class:`lstm_ref.LSTMParams` they hold. A
    layout that cannot hold a weight of ``params`` raises ``ValueError``
    naming it. ``gates`` is the order of the gate blocks in the framework's
    names; ``bias`` says where the bias lives, in one line.
    """

    key: str
    name: str
    gates: str
    bias: str
    to_arrays: Callable[[LSTMParams], dict]
    from_arrays: Callable[[dict], LSTMParams]


def _checked(params) -> LSTMParams:
    if not isinstance(params, LSTMParams):
        raise TypeError(f"params: expected LSTMParams, got {type(params).__name__}")
    return params


def _keras_to(params):
    if _checked(params).extras():
        # to_keras writes W, U and b; a weight beyond them would be dropped without a word.
        raise ValueError(f"params.{params.extras()[0]}: Keras's LSTM has no such weight; "
                         "only W, U and b convert")
    kernel, recurrent_kernel, bias = keras.to_keras(params)
    return {"kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias}


def _keras_from(arrays):
    return keras.from_keras(arrays["kernel"], arrays["recurrent_kernel"], arrays["bias"])


def _tf1_to(params):
    # The cell adds forget_bias at every step, so the stored bias holds b_f - forget_bias.
    variables = tf1.to_tf1(fold_forget_bias(_checked(params), -TF_FORGET_BIAS))
    return {**variables, "forget_bias": np.asarray(TF_FORGET_BIAS)}


def _tf1_from(arrays):
    params = tf1.from_tf1_variables({k: v for k, v in arrays.items() if k != "forget_bias"})
    return fold_forget_bias(params, float(arrays["forget_bias"]))


def _raw_ops_to(params):
    block = tf_fused.to_block(fold_forget_bias(_checked(params), -TF_FORGET_BIAS),
                              "BlockLSTM")
    # The op always takes peepholes (zeros without them) and uses them only if told to.
    uses_peepholes = any(getattr(params, f"p_{gate}") is not None for gate in "ifo")
    peepholes = dict(zip(("wci", "wcf", "wco"), block[2:])) if uses_peepholes else {}
    return {"w": block.w, "b": block.b, **peepholes, "forget_bias": np.asarray(TF_FORGET_BIAS)}


def _raw_ops_from(arrays):
    D = arrays["w"].shape[0] - arrays["w"].shape[1] // 4
    params = tf_fused.from_block(arrays["w"], arrays["b"], arrays.get("wci"), arrays.get("wcf"),
                                 arrays.get("wco"), input_size=D, op="BlockLSTM")
    return fold_forget_bias(params, float(arrays["forget_bias"]))


def _torch_to(params):
    return torch.to_state_dict([[_checked(params)]])


def _torch_from(arrays):
    return torch.from_state_dict(arrays)[0][0]


def _flax_to(params):
    return {f"{layer}/{name}": value for layer, arrays in flax.to_flax(params, "linen").items()
            for name, value in arrays.items()}


def _flax_from(arrays):
    nested: dict = {}
    for key, value in arrays.items():
        layer, name = key.split("/")
        nested.setdefault(layer, {})[name] = value
    return flax.from_flax(nested)


def _onnx_to(params):
    weights = onnx.to_onnx([_checked(params)])
    return {name: value for name, value in weights._asdict().items() if value is not None}


def _onnx_from(arrays):
    return onnx.from_onnx(arrays["W"], arrays["R"], arrays.get("B"), arrays.get("P"))[0]


def _tflite_to(params):
    tensors = tflite.to_tflite(_checked(params))
    return {name: t for name, t in zip(tflite.TENSOR_NAMES, tensors) if t is not None}


def _tflite_from(arrays):
    tensors = [arrays.get(name) for name in tflite.TENSOR_NAMES]
    params, _ = tflite.from_tflite(tensors, TFLITE_OPTIONS)
    return params


def _cudnn_to(params):
    params = _checked(params)
    return {"flat": cudnn.to_flat(cudnn.to_cudnn(params)),
            "input_size": np.asarray(params.input_size),
            "hidden_size": np.asarray(params.hidden_size)}


def _cudnn_from(arrays):
    weights = cudnn.from_flat(arrays["flat"], int(arrays["input_size"]),
                              int(arrays["hidden_size"]))
    return cudnn.from_cudnn(*weights)


LAYOUTS: dict[str, Layout] = {layout.key: layout for layout in (
    Layout("keras3", "Keras 3", "i, f, c, o", "one bias (4H,)", _keras_to, _keras_from),
    Layout("keras2", "Keras 2", "i, f, c, o", "one bias (4H,)", _keras_to, _keras_from),
    Layout("tf1", "TF 1.x LSTMCell", "i, j, f, o",
           "one bias; forget_bias added to f at run time", _tf1_to, _tf1_from),
    Layout("raw_ops", "tf.raw_ops.BlockLSTM", "i, ci, f, o",
           "one bias; forget_bias added to f at run time", _raw_ops_to, _raw_ops_from),
    Layout("torch", "PyTorch nn.LSTM", "i, f, g, o", "bias_ih + bias_hh, summed",
           _torch_to, _torch_from),
    Layout("flax", "Flax LSTMCell", "i, f, g, o", "on the four hidden Dense layers",
           _flax_to, _flax_from),
    Layout("onnx", "ONNX LSTM", "i, o, f, c", "B = [Wb; Rb], summed", _onnx_to, _onnx_from),
    Layout("tflite", "TFLite fused op", "input, forget, cell, output",
           "one (H,) tensor per gate", _tflite_to, _tflite_from),
    Layout("cudnn", "cuDNN canonical", "i, f, c, o", "b_W + b_R per gate, summed",
           _cudnn_to, _cudnn_from),
)}


def layout(key: str) -> Layout:
    """The :class:`Layout` called ``key`` (one of :data:`LAYOUTS`); ``ValueError`` otherwise."""
    if key not in LAYOUTS:
        raise ValueError(f"layout: expected one of {', '.join(LAYOUTS)}, got {key!r}")
    return LAYOUTS[key]


def convert(arrays: dict, source: str, target: str) -> dict:
    """The arrays of layout ``source`` rewritten in layout ``target``, through LSTMParams.

    One cell of the conversion matrix: ``layout(target).to_arrays`` of
    ``layout(source).from_arrays(arrays)``.
    """
    return layout(target).to_arrays(layout(source).from_arrays(arrays))
