"""The NumPy training toolkit against Keras 3: loss, gradients, clipping, Adam, training steps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_ref import verify
from lstm_ref.frameworks.tensorflow import KerasCharModel, keras, tf
from lstm_ref.models.training import (Adam, CharModel, Vocabulary, bptt_windows, clip_by_global_norm,
                            cross_entropy, cross_entropy_grad, init_char_model, log_softmax,
                            logits, loss_and_grads, one_hot, sample, softmax, train)

DTYPES = [np.float64, np.float32]
TEXT = ("In the beginning God created the heaven and the earth. And the earth was "
        "without form, and void; and darkness was upon the face of the deep.")


# ---------------------------------------------------------------------------
# Softmax and cross-entropy


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_and_its_gradient_match_keras(dtype, rng):
    N, T, V = 3, 5, 7
    s = (3 * rng.normal(size=(N, T, V))).astype(dtype)
    targets = rng.integers(0, V, size=(N, T))
    logits = tf.constant(s)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=str(s.dtype))
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = loss_fn(targets, logits)
    d_s = tape.gradient(loss, logits)
    verify.compare({"loss": (np.array(cross_entropy(s, targets), dtype), np.asarray(loss)),
                    "d_s": (cross_entropy_grad(s, targets), np.asarray(d_s))},
                   against="keras.losses.SparseCategoricalCrossentropy, tf.GradientTape")


def test_cross_entropy_gradient_finite_differences(rng):
    s, targets = rng.normal(size=(2, 3, 4)), rng.integers(0, 4, size=(2, 3))
    eps, numeric = 1e-6, np.empty_like(s)
    for index in np.ndindex(s.shape):
        step = np.zeros_like(s)
        step[index] = eps
        numeric[index] = (cross_entropy(s + step, targets) - cross_entropy(s - step, targets)) / (
            2 * eps)
    verify.compare({"d_s": (cross_entropy_grad(s, targets), numeric)},
                   against="central finite differences", tolerance=1e-9)


def test_softmax_never_overflows():
    p = softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.isfinite(p).all() and p[0, 0] == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_softmax_match_tensorflow(dtype, rng):
    s = (5 * rng.normal(size=(3, 4, 6))).astype(dtype)
    s[0, 0] = [900.0, -900.0, 0.0, 1.0, 2.0, 3.0]  # far beyond exp's range
    for axis in (-1, 1):
        verify.compare({"softmax": (softmax(s, axis), np.asarray(tf.nn.softmax(s, axis))),
                        "log_softmax": (log_softmax(s, axis),
                                        np.asarray(tf.nn.log_softmax(s, axis)))},
                       against="tf.nn.softmax, tf.nn.log_softmax")
    assert log_softmax(s).dtype == softmax(s).dtype == dtype


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_logits_are_refused(bad, rng):
    s = rng.normal(size=(2, 3, 4))
    s[1, 2, 3] = bad
    for function in (softmax, log_softmax):
        with pytest.raises(ValueError, match=r"^s: contains .* at index \(1, 2, 3\)"):
            function(s)
    with pytest.raises(ValueError, match=r"^s: contains"):
        cross_entropy(s, np.zeros((2, 3), int))


def test_bad_targets(rng):
    s = rng.normal(size=(2, 3, 4))
    with pytest.raises(ValueError, match=r"targets: expected ids in \[0, V\) = \[0, 4\)"):
        cross_entropy(s, np.full((2, 3), 4))
    with pytest.raises(ValueError, match=r"targets: expected shape \(N, T\) = \(2, 3\)"):
        cross_entropy(s, np.zeros((3, 2), int))
    with pytest.raises(TypeError, match="targets: expected integer character ids"):
        cross_entropy_grad(s, np.zeros((2, 3)))


# ---------------------------------------------------------------------------
# Clipping and Adam against Keras


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clip_norm", [0.5, 1e3])
def test_clip_by_global_norm_matches_keras(dtype, clip_norm, rng):
    from keras.src.optimizers.base_optimizer import clip_by_global_norm as keras_clip

    grads = {name: rng.normal(size=shape).astype(dtype)
             for name, shape in [("a", (3, 4)), ("b", (5,)), ("c", (2, 2))]}
    clipped, norm = clip_by_global_norm(grads, clip_norm)
    reference = keras_clip([tf.constant(g) for g in grads.values()], clip_norm)
    verify.compare({f"clipped {n}": (clipped[n], np.asarray(r))
                    for n, r in zip(grads, reference)},
                   against="keras clip_by_global_norm")
    new_norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in clipped.values()))
    assert new_norm == pytest.approx(min(norm, clip_norm), rel=1e-6)


def test_clipping_refuses_non_finite_gradients_and_lists():
    with pytest.raises(ValueError, match=r"^grads\['W'\]: contains nan at index \(1,\)"):
        clip_by_global_norm({"b": np.ones(2), "W": np.array([1.0, np.nan])}, 1.0)
    with pytest.raises(TypeError, match=r"^grads: expected a dict of gradients by name, got list"):
        clip_by_global_norm([np.ones(2)], 1.0)


def test_zero_gradients_are_clipped_without_a_warning():
    clipped, norm = clip_by_global_norm({"a": np.zeros(3)}, 1.0)
    assert norm == 0.0 and not clipped["a"].any()


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=6)
@given(learning_rate=st.sampled_from([0.001, 0.01, 0.3]), beta_1=st.sampled_from([0.9, 0.5]),
       beta_2=st.sampled_from([0.999, 0.9]), epsilon=st.sampled_from([1e-7, 1e-3]),
       global_clipnorm=st.sampled_from([None, 0.1, 10.0]), seed=st.integers(0, 2**32 - 1))
def test_adam_matches_keras_step_by_step(dtype, learning_rate, beta_1, beta_2, epsilon,
                                         global_clipnorm, seed):
    rng = np.random.default_rng(seed)
    options = dict(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                   global_clipnorm=global_clipnorm)
    ours, reference = Adam(**options), keras.optimizers.Adam(**options)
    values = {"w": rng.normal(size=(3, 4)).astype(dtype), "b": rng.normal(size=4).astype(dtype)}
    variables = {name: keras.Variable(value, dtype=np.dtype(dtype).name) for name, value in values.items()}
    for step in range(5):
        # gradients over many orders of magnitude, so that epsilon matters
        grads = {name: (rng.normal(size=v.shape) * 10.0 ** rng.integers(-6, 2, size=v.shape))
                 .astype(dtype) for name, v in values.items()}
        values = ours.apply(values, grads)
        reference.apply_gradients([(tf.constant(grads[n]), variables[n]) for n in values])
        verify.compare({f"{name} after step {step + 1}": (values[name], np.asarray(variables[name]))
                        for name in values}, against="keras.optimizers.Adam")
    assert ours.iterations == int(reference.iterations)


def test_adam_bad_input():
    with pytest.raises(ValueError, match="learning_rate: expected a positive number"):
        Adam(learning_rate=0.0)
    with pytest.raises(ValueError, match=r"beta_2: expected a number in \[0, 1\)"):
        Adam(beta_2=1.0)
    with pytest.raises(ValueError, match="grads: expected the names"):
        Adam().apply({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError, match=r"grads\['w'\]: expected shape \(2,\)"):
        Adam().apply({"w": np.zeros(2)}, {"w": np.zeros(3)})


# ---------------------------------------------------------------------------
# The model and its training


def test_initial_weights_are_keras_seeded_initial_weights():
    V, H, seed = 11, 6, 123
    model = init_char_model(V, H, seed)
    dense = keras.layers.Dense(
        V, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1), dtype="float64")
    dense.build((None, H))
    verify.compare({"W_y": (model.W_y, np.asarray(dense.kernel)),
                    "b_y": (model.b_y, np.asarray(dense.bias))},
                   against="keras.layers.Dense with GlorotUniform(seed)", tolerance=0.0)


def test_windows_continue_each_other():
    ids = np.arange(104)  # 4 streams of 26: 5 windows of 5 and their targets
    inputs, targets = bptt_windows(ids, batch_size=4, seq_len=5)
    assert inputs.shape == targets.shape == (5, 4, 5)
    streams = np.concatenate(list(inputs), axis=1)  # (N, K T): each row is contiguous text
    assert (np.diff(streams, axis=1) == 1).all()
    assert (targets == inputs + 1).all()
    with pytest.raises(ValueError, match="too short"):
        bptt_windows(np.arange(10), batch_size=4, seq_len=5)


def test_vocabulary_round_trip():
    vocab = Vocabulary.from_text(TEXT)
    assert vocab.decode(vocab.encode(TEXT)) == TEXT
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("Z")
    assert one_hot(np.array([2]), vocab.size).sum() == 1.0


def test_loss_and_grads_match_keras(rng):
    vocab = Vocabulary.from_text(TEXT)
    model = init_char_model(vocab.size, 8, seed=3)
    ids = vocab.encode(TEXT)
    inputs, targets = bptt_windows(ids, batch_size=3, seq_len=7)
    keras_model = KerasCharModel(model, keras.optimizers.Adam())
    loss, grads, _ = loss_and_grads(model, inputs[0], targets[0])
    with tf.GradientTape() as tape:
        x = tf.one_hot(inputs[0], vocab.size, dtype="float64")
        outputs, _, _ = keras_model.lstm(x, initial_state=[tf.zeros((3, 8), "float64")] * 2)
        keras_loss = keras_model.loss(targets[0], keras_model.dense(outputs))
    keras_grads = tape.gradient(keras_loss, keras_model.variables)
    pairs = {"loss": (np.array(loss), np.asarray(keras_loss))}
    pairs.update({f"d_{name}": (g, np.asarray(k))
                  for (name, g), k in zip(grads.arrays().items(), keras_grads)})
    verify.compare(pairs, against="Keras LSTM + Dense, tf.GradientTape")


def test_training_steps_match_keras():
    """A few windows of truncated BPTT, state carried across windows, clipping active."""
    vocab = Vocabulary.from_text(TEXT)
    inputs, targets = bptt_windows(vocab.encode(TEXT), batch_size=4, seq_len=6)
    model = init_char_model(vocab.size, 10, seed=5)
    options = dict(learning_rate=0.02, global_clipnorm=0.3)
    steps = len(inputs) + 2  # wraps around: the state is reset at window 0
    run = train(model, inputs, targets, Adam(**options), steps)
    keras_model = KerasCharModel(model, keras.optimizers.Adam(**options))
    keras_losses = keras_model.train(inputs, targets, steps)
    assert (run.grad_norms > 0.3).any()  # the clipping did something
    pairs = {"losses": (run.losses, keras_losses)}
    pairs.update({name: (a, b) for (name, a), b in
                  zip(run.model.arrays().items(), keras_model.weights().arrays().values())})
    verify.compare(pairs, against="Keras LSTM + Dense, keras.optimizers.Adam")


def test_training_is_deterministic():
    vocab = Vocabulary.from_text(TEXT)
    inputs, targets = bptt_windows(vocab.encode(TEXT), batch_size=2, seq_len=8)
    runs = [train(init_char_model(vocab.size, 6, seed=1), inputs, targets, Adam(0.01), 3)
            for _ in range(2)]
    assert np.array_equal(runs[0].losses, runs[1].losses)


def test_sampling_is_deterministic_and_follows_the_temperature():
    vocab = Vocabulary.from_text(TEXT)
    model = init_char_model(vocab.size, 6, seed=1)
    text = sample(model, vocab, "In", 40, temperature=0.8, seed=9)
    assert text == sample(model, vocab, "In", 40, temperature=0.8, seed=9)
    assert text.startswith("In") and len(text) == 42
    assert text != sample(model, vocab, "In", 40, temperature=0.8, seed=10)
    # As the temperature falls, sampling becomes the choice of the likeliest character.
    cold = sample(model, vocab, "In", 10, temperature=1e-6, seed=1)
    assert cold == sample(model, vocab, "In", 10, temperature=1e-6, seed=2)
    with pytest.raises(ValueError, match="temperature: expected a positive number"):
        sample(model, vocab, "In", 5, temperature=0.0)
    with pytest.raises(ValueError, match="prime: expected at least one character"):
        sample(model, vocab, "", 5)
    for length in (-1, 2.5, True):
        with pytest.raises(ValueError, match=r"^length: expected a number of characters >= 0"):
            sample(model, vocab, "In", length)
    assert sample(model, vocab, "In", 0) == "In"


def test_sampling_draws_from_the_tempered_softmax():
    """The first character after the prime is drawn with probabilities
    softmax(s / τ), s the logits after reading the prime: over many seeds the
    frequencies match them (within four standard deviations)."""
    from lstm_ref import lstm_sequence

    vocab = Vocabulary.from_text(TEXT)
    model = init_char_model(vocab.size, 6, seed=3)
    prime, temperature, draws = "the", 0.5, 1500
    X = one_hot(np.array([vocab.encode(prime)]), vocab.size)
    outputs, _ = lstm_sequence(X, model.lstm)
    s = logits(outputs[:, -1], model.W_y, model.b_y)[0]
    p = np.asarray(tf.nn.softmax(s / temperature))
    counts = np.zeros(vocab.size)
    for seed in range(draws):
        counts[vocab.encode(sample(model, vocab, prime, 1, temperature, seed)[-1])[0]] += 1
    sigma = np.sqrt(draws * p * (1 - p))
    assert np.all(np.abs(counts - draws * p) <= 4 * sigma + 1), (counts, draws * p)


def test_char_model_arrays_round_trip():
    model = init_char_model(5, 3, seed=0)
    again = CharModel.from_arrays(model.arrays())
    assert all(np.array_equal(a, b) for a, b in zip(model.arrays().values(),
                                                    again.arrays().values()))
