"""Property-based tests: random shapes and every combination of options at once.

Two properties, each over a bounded number of drawn examples (the whole
suite must stay fast):

* the NumPy mirror of Keras's ``LSTM`` (so :func:`lstm_ref.lstm_sequence`)
  agrees with the real ``keras.layers.LSTM`` in float64, to 1e-12, whatever
  the activations, mask (including rows masked at every step), direction,
  ``return_sequences``, initial state and bias;
* the fast path agrees with the readable path, outputs and every gradient,
  in float64 (every activation) and float32 (the bounded ones), to 1e-12 and
  1e-6, whatever the forget bias, cell clip, bias and initial state.

Both bars are relative to the largest value compared where that exceeds 1
(:func:`scaled_tolerance`): unbounded activations grow the state.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import gradient_pairs, loss_gradients, random_sequence_problem, sequence_shapes
from lstm_ref import LSTMConfig, verify
from lstm_ref.conventions.keras import LSTM as KerasLSTM
from lstm_ref.conventions.keras import to_keras
from lstm_ref.fast import FastLSTM
from lstm_ref.frameworks.tensorflow import keras_lstm
from lstm_ref.grad import backward, forward

# Every activation name Keras 3 and lstm_ref share.
KERAS_ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign",
                     "softplus", "swish"]
# Those lstm_ref.grad can differentiate (swish's derivative is not a function of its output).
DIFFERENTIABLE = [name for name in KERAS_ACTIVATIONS if name != "swish"]
# Those with outputs in [-1, 1]. Unbounded gates amplify rounding from step to
# step; in float32 the two paths' different (equally valid) roundings then
# differ by more than 1e-6 relative, so float32 draws from these only.
BOUNDED = ["tanh", "sigmoid", "hard_sigmoid", "softsign"]
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}


def scaled_tolerance(pairs, dtype):
    """The dtype's bar (1e-12 or 1e-6), times the largest reference magnitude when above 1.

    Unbounded activations (``linear``, ``relu``, ``softplus`` as gates) let the
    state grow without limit over a few steps; an absolute bar on numbers of
    size 1e6 would ask for more digits than the dtype has. Relative to the
    largest value, the bar is the same.
    """
    largest = max(float(np.abs(reference).max(initial=0)) for _, reference in pairs.values())
    return TOLERANCE[dtype] * max(1.0, largest)


def draw_mask(rng, N, T, kind):
    """None, a random boolean mask, or one whose first row is masked at every step."""
    if kind == "none":
        return None
    mask = rng.random((N, T)) < 0.6
    if kind == "masked rows":
        mask[0] = False
    return mask


@settings(max_examples=20)
@given(shape=sequence_shapes(3, 5, 3, 3),
       activation=st.sampled_from(KERAS_ACTIVATIONS),
       recurrent_activation=st.sampled_from(KERAS_ACTIVATIONS),
       mask_kind=st.sampled_from(["none", "random", "masked rows"]),
       go_backwards=st.booleans(), return_sequences=st.booleans(),
       zero_state=st.booleans(), use_bias=st.booleans())
def test_keras_mirror_matches_keras_layer(shape, activation, recurrent_activation, mask_kind,
                                          go_backwards, return_sequences, zero_state, use_bias):
    N, T, _, H, _ = shape
    rng, params, X, state0 = random_sequence_problem(shape, np.float64, bias=use_bias,
                                                     zero_state=zero_state)
    mask = draw_mask(rng, N, T, mask_kind)
    options = dict(activation=activation, recurrent_activation=recurrent_activation,
                   return_sequences=return_sequences, return_state=True,
                   go_backwards=go_backwards)
    ours = KerasLSTM(H, use_bias=use_bias, **options)
    ours.set_weights(to_keras(params))
    theirs = keras_lstm(params, **options)
    initial_state = None if state0 is None else [state0.h, state0.c]
    result = ours(X, initial_state=initial_state, mask=mask)
    expected = theirs(X, initial_state=initial_state, mask=mask)
    names = ("output", "h", "c")
    pairs = {name: (a, np.asarray(b)) for name, a, b in zip(names, result, expected)}
    verify.compare(pairs, against=f"keras.layers.LSTM({activation}, {recurrent_activation}), "
                                  "every option",
                   tolerance=scaled_tolerance(pairs, np.float64))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=25)
@given(shape=sequence_shapes(3, 6, 3, 4), data=st.data(),
       forget_bias=st.sampled_from([0.0, 1.0, -0.75]),
       cell_clip=st.sampled_from([None, 0.3, 3.0]),
       zero_state=st.booleans(), use_bias=st.booleans(), final_state=st.booleans())
def test_fast_matches_readable_with_gradients(dtype, shape, data, forget_bias, cell_clip,
                                              zero_state, use_bias, final_state):
    activations = DIFFERENTIABLE if dtype == np.float64 else BOUNDED
    activation = data.draw(st.sampled_from(activations), "activation")
    recurrent_activation = data.draw(st.sampled_from(activations), "recurrent_activation")
    N, T, _, H, _ = shape
    rng, params, X, state0 = random_sequence_problem(shape, dtype, bias=use_bias,
                                                     zero_state=zero_state)
    config = LSTMConfig(activation=activation, recurrent_activation=recurrent_activation,
                        forget_bias=forget_bias, cell_clip=cell_clip)
    fast = FastLSTM(params, config)
    outputs, state, cache = fast.forward(X, state0)
    outputs_r, state_r, cache_r = forward(X, params, config, state0)
    d_outputs, d_final = loss_gradients(rng, N, T, H, H, dtype, final_state)
    pairs = {"outputs": (outputs, outputs_r), "h_T": (state.h, state_r.h),
             "c_T": (state.c, state_r.c)}
    pairs.update(gradient_pairs(fast.backward(d_outputs, cache, d_final),
                                backward(d_outputs, cache_r, d_final)))
    for name, (a, b) in pairs.items():
        assert a.dtype == b.dtype == dtype, name
    verify.compare(pairs, against="lstm_ref.grad (readable path), every option",
                   tolerance=scaled_tolerance(pairs, dtype))
