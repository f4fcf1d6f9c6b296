"""The conversion matrix and the padding table, run in every real framework.

This module imports no framework itself: it composes the framework modules
of :mod:`lstm_ref.frameworks` (each of which imports its own framework), so
that one call runs the same LSTM everywhere.

* :func:`columns` builds one runner per layout of
  :data:`lstm_ref.conventions.registry.LAYOUTS`: the real framework that
  reads that layout, built once and given new weights per call.
* :func:`conversion_matrix` runs every row layout's arrays, converted to
  every column's layout, in the column's framework, next to lstm_ref.
* :func:`padding_runs` runs one padded batch through every framework's way
  of saying where a sequence ends, next to lstm_ref's mirror of each.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

from ..conventions import flax as flax_conv
from ..conventions import onnx as onnx_conv
from ..conventions import tf1
from ..conventions import torch as torch_conv
from ..conventions.cudnn import from_flat, to_keras_cudnn
from ..conventions.registry import LAYOUTS, TFLITE_OPTIONS, TF_FORGET_BIAS, layout
from ..params import LSTMParams, fold_forget_bias
from ..sequence import bidirectional_lstm_sequence, lstm_sequence

__all__ = ["COLUMN_DTYPES", "FLOAT32_REASONS", "Column", "columns", "Cell", "conversion_matrix",
           "PaddingRun", "padding_runs"]

# The dtype each column's framework computes in: float64 wherever it can.
COLUMN_DTYPES = {"keras3": np.float64, "keras2": np.float64, "tf1": np.float64,
                 "raw_ops": np.float32, "torch": np.float64, "flax": np.float64,
                 "onnx": np.float32, "tflite": np.float32, "cudnn": np.float64}
# Why a column runs in float32: its framework has no float64 kernel.
FLOAT32_REASONS = {
    "raw_ops": "TensorFlow's BlockLSTM kernel is registered for float32 (and half) only",
    "onnx": "ONNX Runtime's CPU LSTM kernel takes float32 only",
    "tflite": "TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM kernel takes float32 only",
}


class Column(NamedTuple):
    """One column of the matrix: ``run(params, X)`` gives the outputs (N, T, H), or
    (N, T, P) with a projection, of ``framework`` holding ``params``, converted
    into the column's layout (which refuses weights it cannot hold)."""

    key: str
    framework: str
    dtype: np.dtype
    run: Callable[[LSTMParams, np.ndarray], np.ndarray]


def _keras_column(key: str, input_size: int, hidden_size: int) -> Column:
    from . import tensorflow as tf_live

    version = {"keras3": 3, "keras2": 2}[key]
    dtype = np.dtype(COLUMN_DTYPES[key])
    blank = LSTMParams(W=np.zeros((input_size, 4 * hidden_size), dtype),
                       U=np.zeros((hidden_size, 4 * hidden_size), dtype),
                       b=np.zeros(4 * hidden_size, dtype))
    layer = tf_live.keras_lstm(blank, keras_version=version)  # built once, reloaded per row

    def run(params, X):
        arrays = LAYOUTS[key].to_arrays(params)
        layer.set_weights([arrays["kernel"], arrays["recurrent_kernel"], arrays["bias"]])
        return np.asarray(layer(X)[0])

    name = {3: "keras.layers.LSTM (Keras 3)", 2: "tf.keras.layers.LSTM (tf-keras)"}[version]
    return Column(key, name, dtype, run)


def _tf1_column(input_size: int, hidden_size: int) -> Column:
    from . import tensorflow as tf_live

    dtype = np.dtype(COLUMN_DTYPES["tf1"])
    plain = tf1.LSTMCell(hidden_size, forget_bias=TF_FORGET_BIAS)
    plain.set_weights([np.zeros((input_size + hidden_size, 4 * hidden_size), dtype),
                       np.zeros(4 * hidden_size, dtype)])
    real_plain = tf_live.tf1_cell(plain)  # built once, reloaded per row

    def run(params, X):
        arrays = LAYOUTS["tf1"].to_arrays(params)
        forget_bias = float(arrays.pop("forget_bias"))
        if not params.extras() and forget_bias == TF_FORGET_BIAS:
            real_plain.set_weights([arrays["kernel"], arrays["bias"]])
            return tf_live.run_dynamic_rnn(real_plain, X)[0]
        # Peepholes or a projection: a cell with those options, holding these weights.
        P = None if params.W_proj is None else params.W_proj.shape[1]
        mirror = tf1.LSTMCell(params.hidden_size, use_peepholes=params.p_i is not None,
                              num_proj=P, forget_bias=forget_bias)
        mirror.set_weights([arrays[name] for name in mirror.weight_names()])
        return tf_live.run_dynamic_rnn(tf_live.tf1_cell(mirror), X)[0]

    return Column("tf1", "tf.compat.v1 LSTMCell in dynamic_rnn", dtype, run)


def _raw_ops_column() -> Column:
    from . import tensorflow as tf_live

    def run(params, X):
        arrays = LAYOUTS["raw_ops"].to_arrays(params)
        forget_bias = float(arrays["forget_bias"])
        # run_block_lstm converts with to_block, the layout's own converter.
        stored = fold_forget_bias(params, -forget_bias)
        return tf_live.run_block_lstm(X, stored, op="BlockLSTM", forget_bias=forget_bias)["h"]

    return Column("raw_ops", "tf.raw_ops.BlockLSTM", np.dtype(np.float32), run)


def _torch_column() -> Column:
    from . import torch as torch_live

    def run(params, X):
        # torch_lstm loads to_state_dict's arrays, the layout's own converter.
        lstm = torch_live.torch_lstm([[params]], batch_first=True)
        return torch_live.run_torch_lstm(lstm, X)[0]

    return Column("torch", "torch.nn.LSTM", np.dtype(np.float64), run)


def _flax_column() -> Column:
    from . import jax as jax_live

    def run(params, X):
        # linen_cell loads to_flax's arrays (linen names), the layout's own converter.
        return jax_live.run_flax_rnn(params, X)[0]

    return Column("flax", "flax.linen.RNN(LSTMCell)", np.dtype(np.float64), run)


def _onnx_column() -> Column:
    from . import onnxruntime as ort_live

    def run(params, X):
        # lstm_model stores to_onnx's W, R, B as the model's initializers.
        Y, _, _ = ort_live.run_onnxruntime(ort_live.lstm_model([params]), np.swapaxes(X, 0, 1))
        return np.swapaxes(Y[:, 0], 0, 1)  # (T, 1, N, H) -> (N, T, H)

    return Column("onnx", "ONNX Runtime (CPU)", np.dtype(np.float32), run)


def _tflite_column() -> Column:
    from . import litert

    def run(params, X):
        from ..conventions.tflite import TENSOR_NAMES

        arrays = LAYOUTS["tflite"].to_arrays(params)
        model = litert.lstm_op_model([arrays.get(name) for name in TENSOR_NAMES], X.shape[0],
                                     X.shape[1], **{k: v for k, v in TFLITE_OPTIONS.items()
                                                    if k != "time_major"})
        return litert.run(model, X)[0]

    return Column("tflite", "LiteRT interpreter (UNIDIRECTIONAL_SEQUENCE_LSTM)",
                  np.dtype(np.float32), run)


def _cudnn_column(input_size: int, hidden_size: int) -> Column:
    from . import tensorflow as tf_live

    dtype = np.dtype(COLUMN_DTYPES["cudnn"])
    blank = LSTMParams(W=np.zeros((input_size, 4 * hidden_size), dtype),
                       U=np.zeros((hidden_size, 4 * hidden_size), dtype),
                       b=np.zeros(4 * hidden_size, dtype))
    layer = tf_live.keras_lstm(blank, keras_version=2)

    def run(params, X):
        arrays = LAYOUTS["cudnn"].to_arrays(params)
        weights = from_flat(arrays["flat"], int(arrays["input_size"]), int(arrays["hidden_size"]))
        # The buffer as Keras 2's CuDNNLSTM stores it, then tf-keras's own conversion.
        as_lstm = tf_live.keras_cudnn_lstm_weights_as_lstm(to_keras_cudnn(weights))
        layer.set_weights([np.asarray(w, dtype) for w in as_lstm])
        return np.asarray(layer(X)[0])

    return Column("cudnn", "tf-keras LSTM holding tf-keras's conversion of CuDNNLSTM weights",
                  dtype, run)


def columns(input_size: int, hidden_size: int, keys=None) -> dict[str, Column]:
    """One :class:`Column` per layout key (all of :data:`LAYOUTS` by default), for
    inputs of D = ``input_size`` and H = ``hidden_size`` units."""
    makers = {
        "keras3": lambda: _keras_column("keras3", input_size, hidden_size),
        "keras2": lambda: _keras_column("keras2", input_size, hidden_size),
        "tf1": lambda: _tf1_column(input_size, hidden_size),
        "raw_ops": _raw_ops_column,
        "torch": _torch_column,
        "flax": _flax_column,
        "onnx": _onnx_column,
        "tflite": _tflite_column,
        "cudnn": lambda: _cudnn_column(input_size, hidden_size),
    }
    keys = list(LAYOUTS) if keys is None else list(keys)
    for key in keys:
        layout(key)  # a clear error for an unknown key
    return {key: makers[key]() for key in keys}


class Cell(NamedTuple):
    """One cell of the matrix: lstm_ref's outputs ``h_lstm_ref`` and the column
    framework's ``h_real``, (N, T, H) each."""

    row: str
    column: str
    h_lstm_ref: np.ndarray
    h_real: np.ndarray


def conversion_matrix(params: LSTMParams, X: np.ndarray, rows=None,
                      cols: Optional[dict[str, Column]] = None) -> list[Cell]:
    """Every row layout's arrays, converted to every column's layout and run there.

    For each column (in its dtype): ``params`` written in the row's layout
    (``to_arrays``), read back (``from_arrays``), converted into the column's
    layout and run in the column's framework on ``X`` (N, T, D); lstm_ref's
    :func:`lstm_ref.lstm_sequence` on the original ``params`` is the other
    side of each cell.
    """
    if not isinstance(params, LSTMParams):
        raise TypeError(f"params: expected LSTMParams, got {type(params).__name__}")
    rows = list(LAYOUTS) if rows is None else [layout(key).key for key in rows]
    cols = columns(params.input_size, params.hidden_size) if cols is None else cols
    cells = []
    for column in cols.values():
        p, X_c = params.astype(column.dtype), np.asarray(X, column.dtype)
        ours = lstm_sequence(X_c, p)[0]
        for row in rows:
            source = LAYOUTS[row]
            converted = source.from_arrays(source.to_arrays(p))
            cells.append(Cell(row, column.key, ours, column.run(converted, X_c)))
    return cells


# ---------------------------------------------------------------------------
# The padding table


class PaddingRun(NamedTuple):
    """One framework's way with a padded batch, and lstm_ref's mirror of it.

    ``real_outputs`` (the framework's) and ``lstm_ref_outputs`` (the mirror's)
    map ``"forward"``/``"backward"`` (outputs (N, T, H)
    in time order) and ``"h forward"``/``"h backward"`` (final h, (N, H)) to
    arrays; ``"backward"`` only where the run has a backward direction.
    """

    name: str
    framework: str
    real_outputs: dict
    lstm_ref_outputs: dict


def _outputs(forward, h_forward, backward=None, h_backward=None) -> dict:
    result = {"forward": np.asarray(forward), "h forward": np.asarray(h_forward)}
    if backward is not None:
        result.update({"backward": np.asarray(backward), "h backward": np.asarray(h_backward)})
    return result


def padding_runs(X: np.ndarray, lengths, forward: LSTMParams,
                 backward: LSTMParams) -> list[PaddingRun]:
    """One padded batch ``X`` (N, T, D) with sequence ``lengths`` (N,) through every framework.

    Keras with a mask (plain and in ``Bidirectional``), TF 1.x ``dynamic_rnn``
    and ``bidirectional_dynamic_rnn`` with ``sequence_length``, PyTorch packed
    sequences, ONNX Runtime with ``sequence_lens``, Flax ``nn.RNN`` with
    ``seq_lengths``, and Keras without any mask. ``forward``/``backward`` are
    the two directions' weights (float64; ONNX Runtime's run is float32).
    """
    from . import jax as jax_live
    from . import onnxruntime as ort_live
    from . import tensorflow as tf_live
    from . import torch as torch_live

    X = np.asarray(X)
    N, T, _ = X.shape
    lengths = np.asarray(lengths)
    mask = torch_conv.lengths_mask(lengths, N, T)  # checks the lengths
    runs = []

    out, state = tf_live.run_keras_lstm(X, forward, mask=mask)
    ours_out, ours_state = lstm_sequence(X, forward, mask=mask)
    runs.append(PaddingRun("Keras LSTM, mask", "keras.layers.LSTM",
                           _outputs(out, state.h), _outputs(ours_out, ours_state.h)))

    def keras_bidirectional(mask):
        (out_f, out_b), s_f, s_b = tf_live.run_keras_bidirectional(X, forward, backward,
                                                                   mask=mask, merge_mode=None)
        (ours_f, ours_b), o_f, o_b = bidirectional_lstm_sequence(X, forward, backward,
                                                                 mask=mask, merge_mode=None)
        return _outputs(out_f, s_f.h, out_b, s_b.h), _outputs(ours_f, o_f.h, ours_b, o_b.h)

    runs.append(PaddingRun("Keras Bidirectional, mask", "keras.layers.Bidirectional",
                           *keras_bidirectional(mask)))

    # TF 1.x cells with forget_bias 0: the weights are the canonical ones as they are.
    def real_tf1(params):
        mirror = tf1.BasicLSTMCell(params.hidden_size, forget_bias=0.0)
        mirror.set_weights([tf1.to_tf1(params)["kernel"], tf1.to_tf1(params)["bias"]])
        return tf_live.tf1_cell(mirror)

    out, state = tf_live.run_dynamic_rnn(real_tf1(forward), X, sequence_length=lengths)
    ours_out, ours_state = lstm_sequence(X, forward, mask=mask, zero_output_for_mask=True)
    runs.append(PaddingRun("TF 1.x dynamic_rnn, sequence_length", "tf.compat.v1.nn.dynamic_rnn",
                           _outputs(out, state.h), _outputs(ours_out, ours_state.h)))

    (out_f, out_b), (s_f, s_b) = tf_live.run_bidirectional_dynamic_rnn(
        real_tf1(forward), real_tf1(backward), X, sequence_length=lengths)
    X_rev = onnx_conv.reverse_within_lengths(X, lengths)  # what tf.reverse_sequence does
    ours_b, o_b = lstm_sequence(X_rev, backward, mask=mask, zero_output_for_mask=True)
    runs.append(PaddingRun(
        "TF 1.x bidirectional_dynamic_rnn, sequence_length",
        "tf.compat.v1.nn.bidirectional_dynamic_rnn", _outputs(out_f, s_f.h, out_b, s_b.h),
        _outputs(ours_out, ours_state.h, onnx_conv.reverse_within_lengths(ours_b, lengths),
                 o_b.h)))

    real = torch_live.torch_lstm([[forward, backward]], batch_first=True)
    out, (h_n, _) = torch_live.run_torch_lstm(real, X, lengths=lengths)
    mirror = torch_conv.LSTM.from_params([[forward, backward]], batch_first=True)
    ours_out, (ours_h, _) = mirror(X, lengths=lengths)
    H = forward.hidden_size
    runs.append(PaddingRun(
        "PyTorch, packed sequences", "torch.nn.utils.rnn.pack_padded_sequence + nn.LSTM",
        _outputs(out[..., :H], h_n[0], out[..., H:], h_n[1]),
        _outputs(ours_out[..., :H], ours_h[0], ours_out[..., H:], ours_h[1])))

    f32 = [p.astype(np.float32) for p in (forward, backward)]
    model = ort_live.lstm_model(f32, direction="bidirectional", sequence_lens=True)
    X_t = np.swapaxes(X, 0, 1).astype(np.float32)
    lens = lengths.astype(np.int32)
    Y, Y_h, _ = ort_live.run_onnxruntime(model, X_t, sequence_lens=lens)
    weights = ort_live.lstm_node(model)[1]  # the model's own W, R, B
    ours_Y, ours_Y_h, _ = onnx_conv.ONNXLSTM(H, direction="bidirectional")(
        X_t, weights.W, weights.R, weights.B, sequence_lens=lens)

    def onnx_outputs(Y, Y_h):  # Y (T, 2, N, H), Y_h (2, N, H)
        return _outputs(np.swapaxes(Y[:, 0], 0, 1), Y_h[0], np.swapaxes(Y[:, 1], 0, 1), Y_h[1])

    runs.append(PaddingRun("ONNX Runtime, sequence_lens", "onnxruntime LSTM (float32)",
                           onnx_outputs(Y, Y_h), onnx_outputs(ours_Y, ours_Y_h)))

    theirs, ours = {}, {}
    for params, reverse, name in ((forward, False, "forward"), (backward, True, "backward")):
        out, carry = jax_live.run_flax_rnn(params, X, seq_lengths=lengths, reverse=reverse,
                                           keep_order=reverse)
        rnn = flax_conv.RNN(flax_conv.LSTMCell(params))
        ours_carry, ours_out = rnn(X, seq_lengths=lengths, return_carry=True, reverse=reverse,
                                   keep_order=reverse)
        theirs.update({name: out, f"h {name}": carry.h})
        ours.update({name: ours_out, f"h {name}": ours_carry.h})
    runs.append(PaddingRun("Flax nn.RNN, seq_lengths", "flax.linen.RNN(LSTMCell)",
                           theirs, ours))

    runs.append(PaddingRun("no mask (Keras Bidirectional)", "keras.layers.Bidirectional",
                           *keras_bidirectional(None)))
    return runs
