"""TensorFlow and Keras, behind one door.

This is the only module of lstm_ref that imports TensorFlow or Keras, and
``import lstm_ref`` does not import it. Importing it:

* sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow loads, so that with
  ``tf-keras`` installed the TF 1.x cells (``tf.compat.v1.nn.rnn_cell``) still
  run in TensorFlow 2, while ``import keras`` still gives Keras 3;
* keeps TensorFlow's C++ start-up log lines out of notebooks and test output;
* silences the deprecation warning each ``tf.compat.v1.nn.rnn_cell`` class
  gives when it is created (the book uses them on purpose);
* exposes ``tf`` and ``keras``: ``from lstm_ref.frameworks.tensorflow import tf, keras``.

The helpers build a framework object from :class:`lstm_ref.LSTMParams`, run
it, and return NumPy arrays, so tests and chapters compare like with like.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from typing import Optional

import numpy as np

from ..activations import CONTRIB_LAYER_NORM_EPSILON
from ..conventions import tf1, tf_fused
from ..conventions.keras import to_keras
from ..params import LSTMParams, LSTMState, zero_state

__all__ = [
    "versions", "keras_lstm", "keras_rnn_variables", "run_keras_lstm", "run_keras_stack",
    "keras_bidirectional", "run_keras_bidirectional", "tf1_cell", "run_tf1_cell",
    "run_layer_norm_cell_tf", "MyLSTMCellTF", "keras_lstm_gradients", "tf1_cell_gradients",
    "keras_simple_rnn", "keras_simple_rnn_gradients", "KerasCharModel", "tflite_from_keras",
    "run_lstm_block_cell", "run_block_lstm", "fused_gate_order",
    "keras_cudnn_lstm_weights_as_lstm"
]

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    # Too late to choose tf-keras for tf.compat.v1; say so instead of failing later.
    warnings.warn(
        "TensorFlow was imported before lstm_ref.frameworks without "
        "TF_USE_LEGACY_KERAS=1: the tf.compat.v1 LSTM cells may not work",
        RuntimeWarning,
        stacklevel=2,
    )
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ logging writes there
    before ``TF_CPP_MIN_LOG_LEVEL`` takes effect."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _native_stderr_silenced():
    import tensorflow as tf
    import keras

tf.get_logger().setLevel("ERROR")
_RNN_CELL_DEPRECATION = r"`tf\.nn\.rnn_cell\.\w+` is deprecated"
warnings.filterwarnings("ignore", message=_RNN_CELL_DEPRECATION, category=UserWarning)


def versions() -> dict[str, str]:
    """Versions of NumPy, TensorFlow, Keras and tf-keras in this process."""
    found = {"numpy": np.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None:
        found["tf_keras"] = tf_keras.__version__
    return found


# ---------------------------------------------------------------------------
# Keras 3


def keras_lstm(
    params: LSTMParams,
    *,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    return_sequences: bool = True,
    return_state: bool = True,
    keras_version: int = 3,
    batch_size: Optional[int] = None,
    **options,
):
    """A built ``keras.layers.LSTM`` holding ``params``, in ``params.dtype``.

    ``keras_version=2`` builds tf-keras's ``tf.keras.layers.LSTM`` instead of
    Keras 3's. Extra keyword arguments go to the layer (e.g. ``go_backwards``).
    ``batch_size`` builds it for that batch size only, which ``stateful=True``
    requires.
    """
    layers = {3: keras.layers, 2: tf.keras.layers}[keras_version]
    layer = layers.LSTM(
        params.hidden_size,
        activation=activation,
        recurrent_activation=recurrent_activation,
        use_bias=params.b is not None,
        return_sequences=return_sequences,
        return_state=return_state,
        dtype=str(params.dtype),
        **options,
    )
    layer.build((batch_size, None, params.input_size))
    layer.set_weights(to_keras(params))
    return layer


def keras_rnn_variables(layer) -> list:
    """The variables of a Keras ``LSTM`` or ``SimpleRNN`` layer: kernel, recurrent kernel, bias.

    The bias only if the layer has one. For an LSTM this is the order of
    :func:`lstm_ref.conventions.keras.from_keras`'s arguments, so that their
    gradients convert as the weights do.
    """
    cell = layer.cell
    return [v for v in (cell.kernel, cell.recurrent_kernel, cell.bias) if v is not None]


def run_keras_lstm(
    X: np.ndarray,
    params: LSTMParams,
    initial_state: Optional[LSTMState] = None,
    mask: Optional[np.ndarray] = None,
    **options,
) -> tuple[np.ndarray, LSTMState]:
    """Run ``keras.layers.LSTM`` with ``params`` on ``X`` (N, T, D).

    ``mask`` (N, T) is passed to the call; extra keyword arguments go to the
    layer (``go_backwards``, ``zero_output_for_mask``, ...). Returns the
    outputs (N, T, H) and the final state, as NumPy arrays, in the same form
    as :func:`lstm_ref.lstm_sequence`.
    """
    layer = keras_lstm(params, return_sequences=True, return_state=True, **options)
    keras_state = None if initial_state is None else [initial_state.h, initial_state.c]
    outputs, h, c = layer(tf.constant(X), initial_state=keras_state, mask=_keras_mask(mask))
    return np.asarray(outputs), LSTMState(np.asarray(h), np.asarray(c))


def _keras_mask(mask: Optional[np.ndarray]):
    return None if mask is None else tf.constant(mask)


def run_keras_stack(
    X: np.ndarray,
    layers: "list[LSTMParams]",
    initial_states: "Optional[list[Optional[LSTMState]]]" = None,
    mask: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, list[LSTMState]]:
    """Run a stack of ``keras.layers.LSTM`` (``return_sequences=True``), each on the
    outputs of the one below, all with ``mask``; same form as
    :func:`lstm_ref.sequence.stacked_lstm_sequence`."""
    outputs, states = X, []
    for params, state in zip(layers, initial_states or [None] * len(layers)):
        outputs, state = run_keras_lstm(outputs, params, state, mask)
        states.append(state)
    return outputs, states


def keras_bidirectional(
    forward: LSTMParams,
    backward: LSTMParams,
    *,
    merge_mode: Optional[str] = "concat",
    return_sequences: bool = True,
    return_state: bool = True,
    batch_size: Optional[int] = None,
    **options,
):
    """A built ``keras.layers.Bidirectional(keras.layers.LSTM(...))`` holding the
    forward and backward weights, in their dtype.

    Extra keyword arguments go to the wrapped ``LSTM`` (e.g. ``stateful``,
    which needs ``batch_size``). The wrapper gets the dtype too: it casts both
    directions' outputs to its own compute dtype before merging them.
    """
    dtype = str(forward.dtype)
    layer = keras.layers.LSTM(forward.hidden_size, use_bias=forward.b is not None,
                              return_sequences=return_sequences, return_state=return_state,
                              dtype=dtype, **options)
    wrapper = keras.layers.Bidirectional(layer, merge_mode=merge_mode, dtype=dtype)
    wrapper.build((batch_size, None, forward.input_size))
    wrapper.set_weights(to_keras(forward) + to_keras(backward))
    return wrapper


def run_keras_bidirectional(
    X: np.ndarray,
    forward: LSTMParams,
    backward: LSTMParams,
    initial_state: "Optional[tuple[LSTMState, LSTMState]]" = None,
    mask: Optional[np.ndarray] = None,
    merge_mode: Optional[str] = "concat",
    return_sequences: bool = True,
):
    """Run ``keras.layers.Bidirectional`` on ``X`` (N, T, D); same form as
    :func:`lstm_ref.sequence.bidirectional_lstm_sequence`: ``(output,
    forward_state, backward_state)``, the output a pair if ``merge_mode`` is None."""
    layer = keras_bidirectional(forward, backward, merge_mode=merge_mode,
                                return_sequences=return_sequences, return_state=True)
    keras_state = None if initial_state is None else [a for s in initial_state for a in s]
    result = [np.asarray(a) for a in layer(tf.constant(X), initial_state=keras_state,
                                            mask=_keras_mask(mask))]
    output = tuple(result[:2]) if merge_mode is None else result[0]
    h_f, c_f, h_b, c_b = result[-4:]
    return output, LSTMState(h_f, c_f), LSTMState(h_b, c_b)


# ---------------------------------------------------------------------------
# TF 1.x cells (tf.compat.v1.nn.rnn_cell, through tf-keras)


def tf1_cell(cell: "tf1.BasicLSTMCell | tf1.LSTMCell | tf1.MultiRNNCell"):
    """The real ``tf.compat.v1.nn.rnn_cell`` object matching a NumPy mirror cell.

    Same class, same options, same weights (set by TF variable name), in the
    weights' dtype. Build and call it eagerly.
    """
    rnn_cell = tf.compat.v1.nn.rnn_cell
    if isinstance(cell, tf1.MultiRNNCell):
        return rnn_cell.MultiRNNCell([tf1_cell(c) for c in cell.cells])
    if type(cell) not in (tf1.BasicLSTMCell, tf1.LSTMCell):
        raise TypeError(f"cell: expected a BasicLSTMCell, LSTMCell or MultiRNNCell mirror, "
                        f"got {type(cell).__name__} (LayerNormBasicLSTMCell no longer runs in TF 2)")
    params = cell._built()
    options = dict(forget_bias=cell.config.forget_bias, state_is_tuple=cell.state_is_tuple,
                   activation=cell.activation, dtype=tf.as_dtype(params.dtype))
    if type(cell) is tf1.LSTMCell:
        options.update(use_peepholes=cell.use_peepholes, cell_clip=cell.config.cell_clip,
                       num_proj=cell.num_proj, proj_clip=cell.config.proj_clip)
    with warnings.catch_warnings():  # in case a test runner reset the filter above
        warnings.filterwarnings("ignore", message=_RNN_CELL_DEPRECATION, category=UserWarning)
        real = getattr(rnn_cell, type(cell).__name__)(cell.num_units, **options)
    real.build((None, params.input_size))
    variables = tf1.to_tf1(params)
    for variable in real.weights:
        variable.assign(variables[_tf1_variable_name(variable)])
    return real


def _tf1_variable_name(variable) -> str:
    """A TF 1.x cell variable's name below the cell's scope: "lstm_cell/projection/kernel:0"
    gives "projection/kernel", the key of :func:`lstm_ref.conventions.tf1.to_tf1`."""
    return variable.name.split("/", 1)[1].rsplit(":", 1)[0]


def run_tf1_cell(real_cell, inputs: np.ndarray, state):
    """Call a TF 1.x cell once; return ``(output, new_state)`` as NumPy.

    States are :class:`lstm_ref.conventions.tf1.LSTMStateTuple` (or tuples of
    them for a ``MultiRNNCell``, or concatenated arrays if the cell says so).
    """
    output, new_state = real_cell(tf.constant(inputs), _to_tf_state(state))
    return np.asarray(output), _from_tf_state(new_state)


def _to_tf_state(state):
    if isinstance(state, tf1.LSTMStateTuple):
        return tf.compat.v1.nn.rnn_cell.LSTMStateTuple(tf.constant(state.c), tf.constant(state.h))
    if isinstance(state, tuple):
        return tuple(_to_tf_state(s) for s in state)
    return tf.constant(state)


def _from_tf_state(state):
    if hasattr(state, "c") and hasattr(state, "h"):
        return tf1.LSTMStateTuple(np.asarray(state.c), np.asarray(state.h))
    if isinstance(state, tuple):
        return tuple(_from_tf_state(s) for s in state)
    return np.asarray(state)


# ---------------------------------------------------------------------------
# LayerNormBasicLSTMCell (tf.contrib, gone from TF 2), transcribed into TF 2 ops


def run_layer_norm_cell_tf(cell: "tf1.LayerNormBasicLSTMCell", inputs: np.ndarray, state,
                           candidate_mask: Optional[np.ndarray] = None):
    """One step of ``LayerNormBasicLSTMCell.call``, transcribed into TensorFlow 2 ops.

    ``tf.contrib.rnn.LayerNormBasicLSTMCell`` no longer runs in any current
    TensorFlow. This is its ``call`` line by line, with each layer
    normalization done as ``tf.contrib.layers.layer_norm`` did it
    (``tf.nn.moments`` over the units, then ``tf.nn.batch_normalization`` with
    ``variance_epsilon=CONTRIB_LAYER_NORM_EPSILON``) and the dropout of TF 1.x
    (``g / keep_prob * mask``, the mask given instead of drawn). It reads the weights of the NumPy
    mirror ``cell`` by TF's variable names, so the two can be compared on any
    weights, gains and shifts.

    Parameters
    ----------
    cell : lstm_ref.conventions.tf1.LayerNormBasicLSTMCell
        Its weights and options (``layer_norm``, ``forget_bias``,
        ``activation``, ``dropout_keep_prob``) are used; nothing else of it.
    inputs : ndarray, shape (N, D)
    state : LSTMStateTuple
        ``c`` (N, H) and ``h`` (N, H).
    candidate_mask : ndarray, shape (N, H), optional
        1 keeps a candidate unit, 0 drops it; required if ``dropout_keep_prob < 1``.

    Returns
    -------
    output : ndarray, shape (N, H)
    new_state : LSTMStateTuple
        ``c`` (N, H) and ``h`` (N, H), as NumPy arrays.
    """
    keep_prob = cell.config.dropout_keep_prob
    if keep_prob < 1 and candidate_mask is None:
        raise ValueError(f"candidate_mask: expected a mask of shape (N, H) since "
                         f"dropout_keep_prob = {keep_prob} < 1, got None")
    v = {name: tf.constant(value) for name, value in tf1.to_tf1(cell._built()).items()}
    activation = tf.keras.activations.get(cell.activation)  # tf-keras, as TF 1.x cells do

    def norm(x, scope):
        mean, variance = tf.nn.moments(x, [1], keepdims=True)
        return tf.nn.batch_normalization(x, mean, variance, offset=v[f"{scope}/beta"],
                                         scale=v[f"{scope}/gamma"],
                                         variance_epsilon=CONTRIB_LAYER_NORM_EPSILON)

    c, h = tf.constant(state.c), tf.constant(state.h)
    args = tf.concat([tf.constant(inputs), h], 1)
    concat = tf.matmul(args, v["kernel"])
    if not cell.layer_norm:
        concat = tf.nn.bias_add(concat, v["bias"])
    i, j, f, o = tf.split(concat, 4, axis=1)
    if cell.layer_norm:
        i, j = norm(i, "input"), norm(j, "transform")
        f, o = norm(f, "forget"), norm(o, "output")
    g = activation(j)
    if candidate_mask is not None:
        g = g / keep_prob * tf.constant(candidate_mask)
    new_c = c * tf.sigmoid(f + cell.config.forget_bias) + tf.sigmoid(i) * g
    if cell.layer_norm:
        new_c = norm(new_c, "state")
    new_h = activation(new_c) * tf.sigmoid(o)
    return np.asarray(new_h), tf1.LSTMStateTuple(np.asarray(new_c), np.asarray(new_h))


# ---------------------------------------------------------------------------
# The seed-004 exercise cell, written with TensorFlow ops (the exercise's part d)


class MyLSTMCellTF:
    """The exercise's ``MyLSTMCell``, translated to TensorFlow operations.

    Takes its weights from a :class:`lstm_ref.conventions.seed004.ExerciseWeights`
    so that it can be compared with the NumPy cell; keeps ``c`` and ``m`` as
    tensors and returns ``h`` as a tensor.
    """

    def __init__(self, weights):
        self.w = {name: tf.constant(value) for name, value in weights._asdict().items()}
        self.c = self.m = None

    def __call__(self, x):
        w, x = self.w, tf.constant(x)
        if self.c is None:
            zeros = tf.zeros((x.shape[0], w["u_i"].shape[0]), dtype=x.dtype)
            self.c = self.m = zeros
        dot, sigmoid, tanh = tf.matmul, tf.sigmoid, tf.tanh
        i = sigmoid(dot(x, w["w_i"]) + dot(self.m, w["u_i"]) + w["b_i"])
        f = sigmoid(dot(x, w["w_f"]) + dot(self.m, w["u_f"]) + w["b_f"])
        self.c = f * self.c + i * tanh(dot(x, w["w_c"]) + dot(self.m, w["u_c"]) + w["b_c"])
        o = sigmoid(dot(x, w["w_o"]) + dot(self.m, w["u_o"]) + dot(self.c, w["v_o"]) + w["b_o"])
        self.m = o * tanh(self.c)
        return tanh(dot(self.m, w["w_h"]) + w["b_h"])


# ---------------------------------------------------------------------------
# Gradients by tf.GradientTape, for checking lstm_ref.grad


def _probe_loss(outputs, final_h, final_c, d_outputs, d_final_state):
    """``sum(outputs ⊙ d_outputs) + sum(h_T ⊙ d_h) + sum(c_T ⊙ d_c)``: a scalar whose
    gradient with respect to the outputs and the final state is exactly the given
    arrays, so any gradient of a loss can be reproduced."""
    loss = tf.reduce_sum(outputs * d_outputs)
    if d_final_state is not None:
        loss += tf.reduce_sum(final_h * d_final_state.h) + tf.reduce_sum(final_c * d_final_state.c)
    return loss


def _initial_state_tensors(X, params: LSTMParams, initial_state: Optional[LSTMState]):
    if initial_state is None:
        initial_state = zero_state(params, X.shape[0])
    return tf.constant(initial_state.h), tf.constant(initial_state.c)


def keras_lstm_gradients(
    X: np.ndarray,
    params: LSTMParams,
    d_outputs: np.ndarray,
    initial_state: Optional[LSTMState] = None,
    d_final_state: Optional[LSTMState] = None,
    **options,
):
    """Gradients through ``keras.layers.LSTM`` computed by ``tf.GradientTape``.

    The loss is ``sum(outputs ⊙ d_outputs)`` (+ the final state times
    ``d_final_state``), so its gradient with respect to the outputs (N, T, H) is
    ``d_outputs``: the same input :func:`lstm_ref.grad.backward` takes.
    Extra keyword arguments go to the layer (e.g. ``activation``).

    Returns
    -------
    lstm_ref.grad.Gradients
        ``d_X``, ``d_initial_state`` and ``d_params`` (``d_states`` is None).
    """
    from ..grad import Gradients

    layer = keras_lstm(params, return_sequences=True, return_state=True, **options)
    x = tf.constant(X)
    h0, c0 = _initial_state_tensors(X, params, initial_state)
    variables = keras_rnn_variables(layer)
    with tf.GradientTape() as tape:
        tape.watch([x, h0, c0])
        outputs, h, c = layer(x, initial_state=[h0, c0])
        loss = _probe_loss(outputs, h, c, d_outputs, d_final_state)
    grads = [np.asarray(g) for g in tape.gradient(loss, [x, h0, c0, *variables])]
    d_X, d_h0, d_c0, *d_weights = grads
    return Gradients(d_X=d_X, d_initial_state=LSTMState(d_h0, d_c0),
                     d_params=LSTMParams(*d_weights))


def tf1_cell_gradients(
    cell: "tf1.BasicLSTMCell | tf1.LSTMCell",
    X: np.ndarray,
    d_outputs: np.ndarray,
    initial_state: Optional[LSTMState] = None,
    d_final_state: Optional[LSTMState] = None,
):
    """Gradients through the real TF 1.x cell matching a mirror, unrolled over ``X``.

    The real cell (:func:`tf1_cell`) is called once per time step under
    ``tf.GradientTape``; the loss is as in :func:`keras_lstm_gradients`. The
    gradients of TF's variables are converted to the canonical layout by
    :func:`lstm_ref.conventions.tf1.from_tf1`, which, being a permutation and a
    split, maps a gradient exactly as it maps a weight.

    Returns
    -------
    lstm_ref.grad.Gradients
        ``d_X``, ``d_initial_state`` (``h_0`` (N, P), ``c_0`` (N, H)) and
        ``d_params`` (peepholes and projection included).
    """
    from ..grad import Gradients

    params = cell._built()
    real = tf1_cell(cell)
    x = tf.constant(X)
    h0, c0 = _initial_state_tensors(X, params, initial_state)
    names = [_tf1_variable_name(v) for v in real.weights]
    with tf.GradientTape() as tape:
        tape.watch([x, h0, c0])
        state = tf.compat.v1.nn.rnn_cell.LSTMStateTuple(c0, h0)
        outputs = []
        for t in range(X.shape[1]):
            output, state = real(x[:, t], state)
            outputs.append(output)
        outputs = tf.stack(outputs, axis=1) if outputs else tf.zeros_like(d_outputs)
        loss = _probe_loss(outputs, state.h, state.c, d_outputs, d_final_state)
    d_x, d_h0, d_c0, *d_vars = tape.gradient(loss, [x, h0, c0, *real.weights])
    d_params = tf1.from_tf1_variables({name: np.asarray(g) for name, g in zip(names, d_vars)})
    return Gradients(d_X=np.asarray(d_x), d_initial_state=LSTMState(np.asarray(d_h0),
                     np.asarray(d_c0)), d_params=d_params)


def keras_simple_rnn(params, **options):
    """A built ``keras.layers.SimpleRNN`` (tanh) holding :class:`lstm_ref.models.plain_rnn.RNNParams`.

    ``kernel`` = ``W`` (D, H), ``recurrent_kernel`` = ``U`` (H, H), ``bias`` =
    ``b`` (H,); returns every hidden state (N, T, H).
    """
    D, H = params.W.shape
    layer = keras.layers.SimpleRNN(H, use_bias=params.b is not None, return_sequences=True,
                                   dtype=str(params.W.dtype), **options)
    layer.build((None, None, D))
    layer.set_weights([w for w in params if w is not None])
    return layer


def keras_simple_rnn_gradients(X, params, d_outputs, h0=None):
    """Gradients through ``keras.layers.SimpleRNN`` by ``tf.GradientTape``.

    The loss is ``sum(outputs ⊙ d_outputs)``, as in :func:`keras_lstm_gradients`.

    Returns
    -------
    lstm_ref.models.plain_rnn.RNNGradients
        ``d_X`` (N, T, D), ``d_h0`` (N, H) and ``d_params`` (``d_H`` is None).
    """
    from ..models.plain_rnn import RNNGradients, RNNParams

    layer = keras_simple_rnn(params)
    x = tf.constant(X)
    h = tf.constant(np.zeros((X.shape[0], params.W.shape[1]), params.W.dtype) if h0 is None
                    else h0)
    variables = keras_rnn_variables(layer)
    with tf.GradientTape() as tape:
        tape.watch([x, h])
        loss = tf.reduce_sum(layer(x, initial_state=[h]) * d_outputs)
    d_x, d_h, *d_weights = (np.asarray(g) for g in tape.gradient(loss, [x, h, *variables]))
    return RNNGradients(d_X=d_x, d_h0=d_h, d_params=RNNParams(*d_weights))


# ---------------------------------------------------------------------------
# The character model of lstm_ref.models.training, in Keras 3


class KerasCharModel:
    """:class:`lstm_ref.models.training.CharModel` as Keras 3 layers, trained the same way.

    An ``LSTM`` returning its sequence and state and a ``Dense`` read-out, both
    in the model's dtype and holding its weights; the loss is
    ``SparseCategoricalCrossentropy(from_logits=True)``. :meth:`train` runs
    the schedule of :func:`lstm_ref.models.training.train`: one optimizer step per
    window, the state carried from window to window as a constant, reset to
    zeros at the first window.
    """

    def __init__(self, model, optimizer):
        V, H = model.vocab_size, model.lstm.hidden_size
        dtype = str(model.W_y.dtype)
        self.lstm = keras.layers.LSTM(H, return_sequences=True,
                                      return_state=True, dtype=dtype)
        self.dense = keras.layers.Dense(V, dtype=dtype)
        self.lstm.build((None, None, V))
        self.dense.build((None, None, H))
        self.lstm.set_weights(to_keras(model.lstm))
        self.dense.set_weights([model.W_y, model.b_y])
        self.variables = [*self.lstm.trainable_variables,
                          *self.dense.trainable_variables]
        # A Loss computes in floatx (float32) unless told otherwise.
        self.loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, dtype=dtype)
        self.optimizer = optimizer
        self.V, self.H, self.dtype = V, H, dtype
        self.step = tf.function(self._step)

    def _step(self, inputs, targets, h, c):
        """One window: loss, gradients by GradientTape, one update."""
        with tf.GradientTape() as tape:
            x = tf.one_hot(inputs, self.V, dtype=self.dtype)  # (N, T, V)
            outputs, h, c = self.lstm(x, initial_state=[h, c])
            loss = self.loss(targets, self.dense(outputs))
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss, h, c

    def train(self, inputs, targets, steps: int) -> np.ndarray:
        """Train on windows (K, N, T) from :func:`lstm_ref.models.training.bptt_windows`;
        return every step's loss (before its update), shape (steps,)."""
        losses = np.empty(steps)
        for k in range(steps):
            window = k % len(inputs)
            if window == 0:  # a new pass over the text starts from zeros
                h = c = tf.zeros((inputs.shape[1], self.H), self.dtype)
            loss, h, c = self.step(inputs[window], targets[window], h, c)
            losses[k] = float(loss)
        return losses

    def weights(self):
        """The current weights as a :class:`lstm_ref.models.training.CharModel`."""
        from ..models.training import CharModel

        return CharModel.from_arrays(dict(zip(["W", "U", "b", "W_y", "b_y"],
                                              (np.asarray(v) for v in self.variables))))


# ---------------------------------------------------------------------------
# TFLite conversion (the interpreter lives in lstm_ref.frameworks.litert)


def tflite_from_keras(params: LSTMParams, batch_size: int, steps: int, *,
                      keras_version: int = 2, **options) -> bytes:
    """A Keras ``LSTM`` holding ``params``, converted by ``tf.lite.TFLiteConverter``.

    The model maps inputs (N, T, D), N = ``batch_size`` and T = ``steps``
    fixed, to every step's h (N, T, H) (``return_sequences=True``). With
    ``keras_version=2`` the layer is tf-keras's, which the converter fuses
    into one ``UNIDIRECTIONAL_SEQUENCE_LSTM``; Keras 3's becomes a ``WHILE``
    loop. Default converter settings (float32 weights). Extra keyword
    arguments go to the layer.

    Returns
    -------
    bytes
        The TFLite flatbuffer; run it with :func:`lstm_ref.frameworks.litert.run`.
    """
    namespace = {2: tf.keras, 3: keras}[keras_version]
    layer = keras_lstm(params, keras_version=keras_version, return_state=False,
                       batch_size=batch_size, **options)
    inputs = namespace.Input((steps, params.input_size), batch_size=batch_size,
                             dtype=str(params.dtype))
    model = namespace.Model(inputs, layer(inputs))
    # The MLIR converter logs to file descriptor 2; Keras 3's export, which the
    # converter calls, prints where it saved the model.
    with _native_stderr_silenced(), contextlib.redirect_stdout(io.StringIO()):
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()


# ---------------------------------------------------------------------------
# TensorFlow's fused LSTM kernels (their layout: lstm_ref.conventions.tf_fused)


def _block_inputs(params: LSTMParams, op: str, cell_clip: Optional[float]) -> dict:
    weights = tf_fused.to_block(params, op)
    uses_peepholes = any(getattr(params, f"p_{g}") is not None for g in "ifo")
    return {**weights._asdict(), "use_peephole": uses_peepholes,
            "cell_clip": -1.0 if cell_clip is None else float(cell_clip)}


def run_lstm_block_cell(x: np.ndarray, state: LSTMState, params: LSTMParams, *,
                        forget_bias: float = 1.0, cell_clip: Optional[float] = None
                        ) -> dict[str, np.ndarray]:
    """One step of ``tf.raw_ops.LSTMBlockCell``: its seven outputs, by name, (N, H) each.

    ``x`` (N, D), ``state`` (h, c) (N, H) each; ``params`` converted with
    :func:`lstm_ref.conventions.tf_fused.to_block`. ``cell_clip=None`` runs
    without a clip (the raw op's default is 3).
    """
    outputs = tf.raw_ops.LSTMBlockCell(x=x, cs_prev=state.c, h_prev=state.h,
                                       forget_bias=forget_bias,
                                       **_block_inputs(params, "LSTMBlockCell", cell_clip))
    return {name: np.asarray(v) for name, v in zip(tf_fused.OUTPUT_NAMES, outputs)}


def run_block_lstm(X: np.ndarray, params: LSTMParams, *, op: str = "BlockLSTMV2",
                   initial_state: Optional[LSTMState] = None, forget_bias: float = 1.0,
                   cell_clip: Optional[float] = None) -> dict[str, np.ndarray]:
    """``tf.raw_ops.BlockLSTMV2`` (or ``BlockLSTM``) over ``X`` (N, T, D): seven outputs (N, T, H).

    The op reads time-major inputs (T, N, D); ``X`` and the outputs are
    swapped to and from lstm_ref's batch-major order here. ``forget_bias``
    is ``BlockLSTM``'s alone (V2 has none).
    """
    X = np.asarray(X)
    state = zero_state(params, X.shape[0]) if initial_state is None else initial_state
    extra = {"forget_bias": forget_bias} if op == "BlockLSTM" else {}
    kernel = {"BlockLSTM": tf.raw_ops.BlockLSTM, "BlockLSTMV2": tf.raw_ops.BlockLSTMV2}[op]
    outputs = kernel(seq_len_max=np.int64(X.shape[1]), x=np.swapaxes(X, 0, 1),
                     cs_prev=state.c, h_prev=state.h, **extra,
                     **_block_inputs(params, op, cell_clip))
    return {name: np.swapaxes(np.asarray(v), 0, 1)
            for name, v in zip(tf_fused.OUTPUT_NAMES, outputs)}


# ---------------------------------------------------------------------------
# Keras 2's CuDNNLSTM (its layout: lstm_ref.conventions.cudnn)


def keras_cudnn_lstm_weights_as_lstm(weights: list[np.ndarray]) -> list[np.ndarray]:
    """Keras 2 ``CuDNNLSTM`` weights converted by tf-keras itself into ``LSTM`` weights.

    The conversion ``load_weights`` applies when a ``CuDNNLSTM``'s saved
    weights are loaded into an ``LSTM`` (``_convert_rnn_weights`` of tf-keras's
    legacy HDF5 loader): the framework's own answer to what a ``CuDNNLSTM``'s
    arrays mean, on a machine without a GPU.
    """
    from tf_keras.src.saving.legacy import hdf5_format

    D, H = weights[0].shape[0], weights[1].shape[0]
    target = tf.keras.layers.LSTM(H)
    target.build((None, None, D))
    return hdf5_format._convert_rnn_weights(target, [np.asarray(w) for w in weights])


def fused_gate_order(op: str, input_size: int = 3, hidden_size: int = 2) -> tuple[str, ...]:
    """The gate order of ``op``'s ``xh * w + b``, read off by running the kernel.

    With zero weights, inputs and state, a gate's pre-activation is its block
    of the bias alone. Block k of ``b`` holds k + 1, so each output names its
    block: a gate outputs σ(k + 1), the candidate ``ci`` tanh(k + 1).
    ``op`` is ``"LSTMBlockCell"``, ``"BlockLSTM"`` or ``"BlockLSTMV2"``.
    Returns the gates (``"i"``, ``"f"``, ``"g"``, ``"o"``) in block order.
    """
    D, H = input_size, hidden_size
    blocks = np.arange(1.0, 5.0)
    zeros_h, zeros_state = np.zeros(H, np.float32), np.zeros((1, H), np.float32)
    inputs = dict(cs_prev=zeros_state, h_prev=zeros_state, w=np.zeros((D + H, 4 * H), np.float32),
                  wci=zeros_h, wcf=zeros_h, wco=zeros_h, b=np.repeat(blocks, H).astype(np.float32),
                  cell_clip=-1.0, use_peephole=False)
    if op == "LSTMBlockCell":
        out = tf.raw_ops.LSTMBlockCell(x=np.zeros((1, D), np.float32), forget_bias=0.0, **inputs)
    else:
        extra = {"forget_bias": 0.0} if op == "BlockLSTM" else {}
        out = getattr(tf.raw_ops, op)(seq_len_max=np.int64(1),
                                      x=np.zeros((1, 1, D), np.float32), **extra, **inputs)
    i, _, f, o, ci = (float(np.asarray(v).reshape(-1)[0]) for v in out[:5])
    sigma = 1 / (1 + np.exp(-blocks))
    block_of = {"i": np.argmin(abs(sigma - i)), "f": np.argmin(abs(sigma - f)),
                "g": np.argmin(abs(np.tanh(blocks) - ci)), "o": np.argmin(abs(sigma - o))}
    return tuple(sorted(block_of, key=block_of.get))
