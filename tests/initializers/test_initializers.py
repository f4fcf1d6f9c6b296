"""lstm_ref.initializers.philox and lstm_ref.initializers.keras against TensorFlow and Keras.

Random numbers must equal TensorFlow's bit for bit (np.array_equal), in both
dtypes, for odd sizes, sizes that are not a multiple of Philox's four words,
and size 1. The orthogonal recurrent kernel differs only by the QR routine's
rounding, which the last tests bound and isolate.
"""

import subprocess
import sys

import numpy as np
import pytest

from lstm_ref.initializers import keras as initializers, philox
from lstm_ref.conventions.keras import from_keras
from lstm_ref.frameworks.tensorflow import keras, tf

DTYPES = [np.float32, np.float64]
# Both halves of the seed matter; negative and int64-sized values are sign-extended.
SEED_PAIRS = [(0, 0), (1, 2), (42, 0), (-7, 3), (2**31 - 1, -(2**31)), (2**40 + 5, -(2**62))]
SHAPES = [(1,), (2,), (3,), (5,), (7, 3), (4, 16), (13, 31), (2, 3, 5)]
# Measured worst |ours - Keras| of the orthogonal (H, 4H) matrix over H <= 512:
# 5.8e-16 (float64) and 2.9e-7 (float32). NumPy's QR rounds differently with
# OpenBLAS's kernel choice (OPENBLAS_CORETYPE=Haswell gives 1.05e-15 on a 5x5):
# the float64 bound is a few ulps of the entries, not one kernel's result.
ORTHOGONAL_TOL = {np.float32: 4e-7, np.float64: 4e-15}


def tf_seed(seed):
    return tf.constant(seed, dtype=tf.int64)


def assert_normals_match(ours, theirs, dtype):
    """Bit for bit; where the C library's logf/sincosf cannot be loaded, float32
    falls back to float64 functions rounded to float32 (see the fallback test)."""
    assert ours.dtype == theirs.dtype == dtype and ours.shape == theirs.shape
    if dtype == np.float64 or philox.c_float_math_available():
        assert np.array_equal(ours, theirs)
    else:
        assert np.all(np.abs(ours - theirs) <= 4 * np.spacing(np.abs(theirs)))


# ---------------------------------------------------------------------------
# philox: Philox, seeds, and the stateless ops


@pytest.mark.parametrize("seed", SEED_PAIRS)
def test_seed_to_key_counter_matches_tensorflow(seed):
    key, counter = philox.seed_to_key_counter(seed)
    tf_key, tf_counter = tf.raw_ops.StatelessRandomGetKeyCounter(seed=tf_seed(seed))
    assert int(tf_key.numpy()[0]) == key[0] | key[1] << 32
    assert [int(c) for c in tf_counter.numpy()] == [
        counter[0] | counter[1] << 32,
        counter[2] | counter[3] << 32,
    ]


@pytest.mark.parametrize("low, high", [(0, 7), (2**64 - 3, 11), (2**64 - 2, 2**64 - 1)])
def test_random_bits_carry_through_the_128_bit_counter(low, high):
    # Counters that wrap the low 64 bits (and, in the last case, all 128).
    key = (0x9ABCDEF0, 0x12345678)
    counter = (low & 0xFFFFFFFF, low >> 32, high & 0xFFFFFFFF, high >> 32)
    ours = philox.random_bits(key, counter, 5)
    theirs = tf.raw_ops.StatelessRandomUniformFullIntV2(
        shape=[20],
        key=tf.constant([key[0] | key[1] << 32], tf.uint64),
        counter=tf.constant([low, high], tf.uint64),
        alg=1,  # Philox
        dtype=tf.uint32,
    ).numpy()
    assert ours.dtype == np.uint32 and np.array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEED_PAIRS)
def test_stateless_uniform_is_bit_exact(seed, dtype):
    for shape in SHAPES:
        for low, high in [(0.0, 1.0), (-0.3, 0.7)]:
            ours = philox.stateless_uniform(shape, seed, low, high, dtype)
            theirs = tf.random.stateless_uniform(
                shape, seed=tf_seed(seed), minval=low, maxval=high, dtype=dtype
            ).numpy()
            assert ours.dtype == theirs.dtype == dtype
            assert np.array_equal(ours, theirs), (shape, low, high)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEED_PAIRS)
def test_stateless_normal_is_bit_exact(seed, dtype):
    for shape in SHAPES:
        for mean, stddev in [(0.0, 1.0), (0.5, 0.1)]:
            ours = philox.stateless_normal(shape, seed, mean, stddev, dtype)
            theirs = tf.random.stateless_normal(
                shape, seed=tf_seed(seed), mean=mean, stddev=stddev, dtype=dtype
            ).numpy()
            assert_normals_match(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_normals_are_bit_exact(dtype):
    # 20,000 values: enough that a last-bit difference of NumPy's own log,
    # sin or cos (about 1 in 300 in float64, 1 in 100 in float32) would show.
    ours = philox.standard_normal((100, 200), (3, 4), dtype)
    theirs = tf.random.stateless_normal((100, 200), seed=tf_seed((3, 4)), dtype=dtype).numpy()
    assert_normals_match(ours, theirs, dtype)


def test_float32_fallback_is_within_a_few_ulp(monkeypatch):
    # Without the C library, float64 log/sin/cos rounded to float32 stand in:
    # over 10**6 values 1.5% differ, by at most 3 units in the last place.
    monkeypatch.setattr(philox, "_c_float_math", lambda: None)
    assert not philox.c_float_math_available()
    ours = philox.standard_normal((100, 200), (3, 4), np.float32)
    theirs = tf.random.stateless_normal((100, 200), seed=tf_seed((3, 4))).numpy()
    assert np.all(np.abs(ours - theirs) <= 4 * np.spacing(np.abs(theirs)))
    assert 0 < np.mean(ours != theirs) < 0.05


def test_empty_shapes():
    for shape in [(0,), (3, 0)]:
        assert philox.stateless_uniform(shape, (1, 2)).shape == shape
        assert philox.stateless_normal(shape, (1, 2), dtype=np.float64).shape == shape


# ---------------------------------------------------------------------------
# Keras initializers


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 7, -3, 2**31 + 9, 2**62])
def test_glorot_uniform_is_bit_exact(seed, dtype):
    for shape in [(3, 8), (1, 4), (5,), (2, 3, 4), (17, 68)]:
        ours = initializers.glorot_uniform(shape, seed, dtype)
        theirs = keras.initializers.GlorotUniform(seed=seed)(shape, dtype=np.dtype(dtype).name)
        assert np.array_equal(ours, theirs.numpy()), shape


def test_glorot_bound_is_rounded_to_float32_even_in_float64():
    # Keras's tf.cast(limit, "float64") goes through a float32 tensor.
    seed, shape = 5, (3, 8)
    limit = initializers.glorot_limit(shape)
    theirs = keras.initializers.GlorotUniform(seed=seed)(shape, dtype="float64").numpy()
    u = philox.standard_uniform(shape, initializers.keras_seed(seed), np.float64)
    rounded = np.float64(np.float32(limit))
    assert np.array_equal(theirs, u * (2 * rounded) - rounded)
    assert not np.array_equal(theirs, u * (2 * limit) - limit)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 11, -5])
def test_orthogonal_matches_keras_to_qr_rounding(seed, dtype):
    for shape in [(1, 4), (2, 8), (8, 2), (5, 5), (3, 4, 6), (32, 128)]:
        ours = initializers.orthogonal(shape, seed, dtype)
        theirs = keras.initializers.Orthogonal(seed=seed)(shape, dtype=np.dtype(dtype).name)
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=ORTHOGONAL_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_orthogonal_differs_from_keras_only_in_the_qr_routine(dtype):
    # Our normal matrix fed to TensorFlow's own QR gives Keras's result exactly.
    H, seed = 6, 13
    a = philox.standard_normal((4 * H, H), initializers.keras_seed(seed), dtype)
    q, r = tf.linalg.qr(tf.constant(a))
    rebuilt = tf.transpose(q * tf.sign(tf.linalg.diag_part(r))).numpy()
    theirs = keras.initializers.Orthogonal(seed=seed)((H, 4 * H), dtype=np.dtype(dtype).name)
    assert np.array_equal(rebuilt, theirs.numpy())


@pytest.mark.parametrize(
    "D, H, seed, dtype, options",
    [
        (1, 1, 0, np.float32, {}),
        (3, 2, 42, np.float64, {}),
        (5, 7, -1, np.float32, {}),
        (16, 33, 2**31 + 5, np.float64, {}),
        (2, 3, 7, np.float32, {"unit_forget_bias": False}),
        (4, 2, 9, np.float64, {"use_bias": False}),
    ],
)
def test_keras_lstm_init_matches_the_keras_layer(D, H, seed, dtype, options):
    layer = keras.layers.LSTM(
        H,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
        bias_initializer="zeros",
        dtype=np.dtype(dtype).name,
        **{"unit_forget_bias": True, "use_bias": True, **options},
    )
    layer.build((None, None, D))
    theirs = from_keras(*layer.get_weights())
    ours = initializers.keras_lstm_init(D, H, seed, dtype, **options)
    assert ours.dtype == theirs.dtype == dtype
    assert np.array_equal(ours.W, theirs.W)
    np.testing.assert_allclose(ours.U, theirs.U, rtol=0, atol=ORTHOGONAL_TOL[dtype])
    if options.get("use_bias", True):
        assert np.array_equal(ours.b, theirs.b)
    else:
        assert ours.b is None and theirs.b is None


@pytest.mark.parametrize("seed, same_as", [(2147483646 + 5, 5), (-1, 2147483645), (2**40, 2**40 % 2147483646)])
def test_keras_reduces_seeds_modulo_2_31_minus_2(seed, same_as):
    assert initializers.keras_seed(seed) == (same_as, 0)
    keras_values = keras.initializers.GlorotUniform(seed=seed)((3, 8)).numpy()
    keras_same = keras.initializers.GlorotUniform(seed=same_as)((3, 8)).numpy()
    assert np.array_equal(keras_values, keras_same)
    assert np.array_equal(initializers.glorot_uniform((3, 8), seed), keras_values)


def test_same_int_seed_reuses_one_philox_stream():
    # Keras derives no per-initializer seed: the kernel's uniforms and the
    # recurrent kernel's normals come from the same Philox words.
    seed_pair = initializers.keras_seed(3)
    words = philox.random_bits(*philox.seed_to_key_counter(seed_pair), 2)
    assert np.array_equal(philox.standard_uniform((8,), seed_pair), philox.uint32_to_float(words))
    z0, z1 = philox.box_muller_float(words[0::2], words[1::2])
    assert np.array_equal(philox.standard_normal((8,), seed_pair), np.stack([z0, z1], 1).ravel())


# ---------------------------------------------------------------------------
# Bad arguments and imports


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: initializers.keras_lstm_init(3, 2, seed=1.5), TypeError, "seed: expected an int, got float 1.5"),
        (lambda: initializers.keras_lstm_init(3, 2, seed=True), TypeError, "seed: expected an int, got bool"),
        (lambda: initializers.keras_lstm_init(3, 2, seed=2**63), ValueError, "seed: expected an int in the int64 range"),
        (lambda: initializers.keras_lstm_init(-1, 2, seed=0), ValueError, "input_size: expected a positive int, got -1"),
        (lambda: initializers.keras_lstm_init(3, 0, seed=0), ValueError, "units: expected a positive int, got 0"),
        (lambda: initializers.keras_lstm_init(3, 2.0, seed=0), TypeError, "units: expected a positive int, got float"),
        (lambda: initializers.keras_lstm_init(3, 2, 0, np.int32), TypeError, "dtype: expected float32 or float64, got int32"),
        (lambda: initializers.glorot_uniform((3, 8), 0, "float16"), TypeError, "dtype: expected float32 or float64, got float16"),
        (lambda: initializers.glorot_uniform((3, -8), 0), ValueError, r"shape: expected non-negative sizes, got \(3, -8\)"),
        (lambda: initializers.orthogonal((5,), 0), ValueError, r"shape: expected at least two dimensions"),
        (lambda: philox.stateless_uniform((2,), seed=5), TypeError, "seed: expected a pair of ints"),
        (lambda: philox.stateless_uniform((2,), seed=(1,)), ValueError, "seed: expected a pair of ints .* got 1 values"),
        (lambda: philox.stateless_normal((2,), seed=(1, 2.0)), TypeError, "seed\\[1\\]: expected an int, got float"),
        (lambda: philox.stateless_normal((2, 3.0), seed=(1, 2)), TypeError, "shape: expected a tuple of non-negative ints"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_modules_import_numpy_only():
    code = (
        "import sys, lstm_ref.initializers, lstm_ref.initializers.philox;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
