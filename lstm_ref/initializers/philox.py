"""TensorFlow's stateless random numbers, reproduced in NumPy.

Keras 3 on the TensorFlow backend draws every initial weight with
``tf.random.stateless_uniform`` or ``tf.random.stateless_normal``. Those ops
are pure functions of a seed pair: the same seed gives the same numbers on
every CPU, because they are built from integer arithmetic that NumPy can
repeat exactly. The pipeline, and the TensorFlow source each step mirrors:

1. **Seed -> key and counter** (:func:`seed_to_key_counter`):
   ``GenerateKey`` in ``tensorflow/core/kernels/stateless_random_ops.cc``
   runs one Philox block on the seed so that both halves of it matter.
2. **Random bits** (:func:`random_bits`): Philox4x32-10
   (``tensorflow/core/lib/random/philox_random.h``) on the counters
   ``counter, counter + 1, ...``, four 32-bit words per counter, in the order
   ``FillPhiloxRandom`` (``tensorflow/core/kernels/random_op_cpu.h``) reads
   them.
3. **Bits -> numbers** (``tensorflow/core/lib/random/random_distributions.h``
   and ``random_distributions_utils.h``): a uniform float32 takes one word, a
   float64 two; a pair of normals is one Box-Muller transform of two uniforms.
4. **Scale and shift** (``tensorflow/python/ops/stateless_random_ops.py``):
   ``u * (maxval - minval) + minval`` and ``z * stddev + mean``, in the
   output dtype.

Steps 1-3 are exact integer and bit manipulation, and step 4 is two IEEE
operations, so :func:`stateless_uniform` equals TensorFlow's bit for bit.
The normals also need ``log``, ``sin`` and ``cos``. TensorFlow's CPU kernel
takes them from the C math library (``logf`` and ``sincosf`` in float32,
``log`` and ``sincos`` in float64), and NumPy's own versions (and float64
functions rounded to float32) round differently in the last bit now and
then. So :func:`stateless_normal` calls the same C functions: in float64 through
Python's :mod:`math` (which wraps C's ``log``, ``sin`` and ``cos``; glibc's
``sincos`` returns exactly ``sin`` and ``cos``), in float32 through
:mod:`ctypes` (Python has no float32 ``logf``). Where the C library cannot
be loaded, float32 falls back to float64 functions rounded to float32 (a
few of the normals then differ by a few units in the last place);
:func:`c_float_math_available` says which path is in use. The C calls run
one value at a time: fine for weight matrices,
slow for millions of numbers.

Only ``"philox"`` (what ``alg="auto_select"`` picks on CPU and GPU) is
implemented; TensorFlow's ``stateless_truncated_normal`` is not (no
initializer this package reproduces uses it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from typing import Sequence, Union

import numpy as np

__all__ = [
    "Shape", "PHILOX_M", "PHILOX_W", "PHILOX_ROUNDS", "SEED_SCRAMBLE_KEY", "check_seed_pair",
    "check_int64", "check_shape_arg", "check_float_dtype", "philox4x32", "counter_sequence",
    "random_bits", "seed_to_key_counter", "uint32_to_float", "uint64_to_double",
    "c_float_math_available", "box_muller_float", "box_muller_double", "standard_uniform",
    "standard_normal", "stateless_uniform", "stateless_normal"
]

Shape = Union[int, Sequence[int]]

# Philox4x32-10 constants (Salmon et al., SC 2011), as in philox_random.h.
PHILOX_M = (0xD2511F53, 0xCD9E8D57)  # round multipliers
PHILOX_W = (0x9E3779B9, 0xBB67AE85)  # key increments (golden ratio, sqrt(3) - 1)
PHILOX_ROUNDS = 10
# The fixed key GenerateKey scrambles a seed with (stateless_random_ops.cc).
SEED_SCRAMBLE_KEY = (0x3EC8F720, 0x02461E29)

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------------------
# Argument checks


def check_seed_pair(seed) -> tuple[int, int]:
    """Validate a TensorFlow seed, two integers each in the int64 range.

    Raises ``TypeError`` for a non-integer, ``ValueError`` for a wrong length
    or an out-of-range value (TensorFlow cannot hold it in an int64 tensor).
    """
    try:
        pair = tuple(seed)
    except TypeError:
        raise TypeError(
            f"seed: expected a pair of ints (seed0, seed1), got {type(seed).__name__} {seed!r}"
        ) from None
    if len(pair) != 2:
        raise ValueError(f"seed: expected a pair of ints (seed0, seed1), got {len(pair)} values")
    return check_int64("seed[0]", pair[0]), check_int64("seed[1]", pair[1])


def check_int64(name: str, value) -> int:
    """``value`` as a Python int; ``TypeError`` unless an int, ``ValueError`` outside int64."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{name}: expected an int in the int64 range, got {value}")
    return value


def check_shape_arg(shape: Shape, name: str = "shape") -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints (an int ``n`` means ``(n,)``)."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(
            f"{name}: expected a tuple of non-negative ints, got {type(shape).__name__} {shape!r}"
        ) from None
    for dim in dims:
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{name}: expected a tuple of non-negative ints, got {shape!r}")
        if dim < 0:
            raise ValueError(f"{name}: expected non-negative sizes, got {shape!r}")
    return tuple(int(dim) for dim in dims)


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """``dtype`` as ``np.dtype``, refusing anything but float32 and float64."""
    try:
        checked = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: expected float32 or float64, got {dtype!r}") from None
    if checked not in _FLOAT_DTYPES:
        raise TypeError(f"{name}: expected float32 or float64, got {checked}")
    return checked


# ---------------------------------------------------------------------------
# Philox4x32-10


def _mul_hi_lo(a: np.ndarray, multiplier: int) -> tuple[np.ndarray, np.ndarray]:
    """High and low 32-bit halves of ``a * multiplier`` (``MultiplyHighLow``).

    Both factors are below ``2**32``, so their product fits a uint64 exactly:
    that is why every word is carried in a uint64 array.
    """
    product = a * np.uint64(multiplier)
    return product >> np.uint64(32), product & np.uint64(_MASK32)


def philox4x32(counters: np.ndarray, key: Sequence[int], rounds: int = PHILOX_ROUNDS) -> np.ndarray:
    """The Philox4x32 block function applied to many counters at once.

    Mirrors ``PhiloxRandom::operator()`` (``ComputeSingleRound`` and
    ``RaiseKey``) in ``tensorflow/core/lib/random/philox_random.h``.

    Parameters
    ----------
    counters : ndarray of unsigned ints, shape (n, 4)
        128-bit counters as four 32-bit words, least significant first.
    key : pair of ints
        64-bit key as two 32-bit words, least significant first.
    rounds : int
        10 for Philox4x32-10, the variant TensorFlow uses.

    Returns
    -------
    ndarray of uint32, shape (n, 4)
        Four random words per counter.
    """
    words = np.asarray(counters, dtype=np.uint64)
    c0, c1, c2, c3 = (words[:, j] for j in range(4))
    k0, k1 = int(key[0]) & _MASK32, int(key[1]) & _MASK32
    for r in range(rounds):
        if r:  # RaiseKey between rounds, in Python ints: no uint64 overflow warnings
            k0, k1 = (k0 + PHILOX_W[0]) & _MASK32, (k1 + PHILOX_W[1]) & _MASK32
        hi0, lo0 = _mul_hi_lo(c0, PHILOX_M[0])
        hi1, lo1 = _mul_hi_lo(c2, PHILOX_M[1])
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def counter_sequence(counter: Sequence[int], n: int) -> np.ndarray:
    """The counters ``counter + 0, ..., counter + n - 1`` as 128-bit integers.

    The ``n`` successive states of ``PhiloxRandom`` (``SkipOne`` adds one to
    the 128-bit counter with carries; ``Skip(i)`` adds ``i``).

    Parameters
    ----------
    counter : four ints
        Starting counter as 32-bit words, least significant first.
    n : int
        Number of counters.

    Returns
    -------
    ndarray of uint64, shape (n, 4)
        One counter per row, as 32-bit words.
    """
    words = [int(w) & _MASK32 for w in counter]
    low_start = words[0] | words[1] << 32
    high_start = words[2] | words[3] << 32
    # uint64 arrays wrap modulo 2**64 silently; a wrapped low half carries one
    # into the high half, as in PhiloxRandom::Skip.
    low = np.uint64(low_start) + np.arange(n, dtype=np.uint64)
    high = np.uint64(high_start) + (low < np.uint64(low_start)).astype(np.uint64)
    mask, shift = np.uint64(_MASK32), np.uint64(32)
    return np.stack([low & mask, low >> shift, high & mask, high >> shift], axis=1)


def random_bits(key: Sequence[int], counter: Sequence[int], n_blocks: int) -> np.ndarray:
    """The raw words a Philox-based TensorFlow op reads, in order.

    ``FillPhiloxRandom`` gives output group ``i`` the generator skipped ``i``
    blocks ahead, and each group of the distributions used here consumes
    exactly one block, so the stream is block 0, 1, 2, ... whatever the
    thread count. Equals ``tf.raw_ops.StatelessRandomUniformFullIntV2`` with
    ``dtype=tf.uint32`` and ``alg=1`` (Philox).

    Parameters
    ----------
    key : pair of ints
        Key as two 32-bit words (see :func:`seed_to_key_counter`).
    counter : four ints
        Starting counter as 32-bit words.
    n_blocks : int
        Number of Philox blocks.

    Returns
    -------
    ndarray of uint32, shape (4 * n_blocks,)
    """
    return philox4x32(counter_sequence(counter, n_blocks), key).reshape(-1)


def seed_to_key_counter(seed) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Philox key and starting counter for a stateless seed pair.

    Mirrors ``GenerateKey`` in ``tensorflow/core/kernels/stateless_random_ops.cc``
    (used by ``tf.raw_ops.StatelessRandomGetKeyCounter``): the seed, read as
    two uint64 (an int32 or int64 seed is sign-extended), becomes a counter;
    one Philox block under a fixed key scrambles it, so that a user who varies
    only one half of the seed, or only its low bits, still gets unrelated
    streams. Words 0-1 of the block are the key, words 2-3 the upper half of
    the counter; the lower half starts at zero.

    Parameters
    ----------
    seed : pair of ints
        ``(seed0, seed1)``, each in the int64 range.

    Returns
    -------
    key : tuple of 2 ints
        32-bit words, least significant first.
    counter : tuple of 4 ints
        32-bit words, least significant first.
    """
    seed0, seed1 = (s & _MASK64 for s in check_seed_pair(seed))
    words = [seed0 & _MASK32, seed0 >> 32, seed1 & _MASK32, seed1 >> 32]
    mix = philox4x32(np.array([words], dtype=np.uint64), SEED_SCRAMBLE_KEY)[0]
    mix = [int(w) for w in mix]
    return (mix[0], mix[1]), (0, 0, mix[2], mix[3])


def _seed_bits(seed, n_blocks: int) -> np.ndarray:
    key, counter = seed_to_key_counter(seed)
    return random_bits(key, counter, n_blocks)


# ---------------------------------------------------------------------------
# Bits to uniform numbers


def uint32_to_float(x: np.ndarray) -> np.ndarray:
    """Uniform float32 in [0, 1) from 32 random bits (``Uint32ToFloat``).

    The low 23 bits become the mantissa of a float with exponent 0, a number
    in [1, 2) on a grid of step ``2**-23``, and 1 is subtracted. Unlike
    ``x / 2**32`` this cannot round up to 1.0, every value is equally likely,
    and the subtraction is exact (Sterbenz), so no rounding happens at all.

    Parameters
    ----------
    x : ndarray of uint32, any shape

    Returns
    -------
    ndarray of float32, the shape of ``x``
    """
    bits = (np.asarray(x, dtype=np.uint32) & np.uint32(0x7FFFFF)) | np.uint32(127 << 23)
    return bits.view(np.float32) - np.float32(1.0)


def uint64_to_double(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Uniform float64 in [0, 1) from two words (``Uint64ToDouble``).

    The same exponent trick with 52 mantissa bits: the low 20 bits of ``x0``
    on top, all 32 bits of ``x1`` below.

    Parameters
    ----------
    x0, x1 : ndarray of uint32, one shape

    Returns
    -------
    ndarray of float64, that shape
    """
    high = np.asarray(x0, dtype=np.uint64) & np.uint64(0xFFFFF)
    low = np.asarray(x1, dtype=np.uint64)
    bits = (high << np.uint64(32)) | low | np.uint64(1023 << 52)
    return bits.view(np.float64) - 1.0


# ---------------------------------------------------------------------------
# The C math library's log, sin and cos


@functools.lru_cache(maxsize=None)
def _c_float_math():
    """``logf`` and ``sincosf`` from the C math library, or ``None``.

    Looked up on first use, not at import, since ``find_library`` may run
    ``ldconfig``.
    """
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        libm = ctypes.CDLL(name)
        logf, sincosf = libm.logf, libm.sincosf
    except (OSError, AttributeError):
        return None
    logf.restype, logf.argtypes = ctypes.c_float, [ctypes.c_float]
    pointer = ctypes.POINTER(ctypes.c_float)
    sincosf.restype, sincosf.argtypes = None, [ctypes.c_float, pointer, pointer]
    return logf, sincosf


def c_float_math_available() -> bool:
    """Whether float32 normals use the C library's ``logf`` and ``sincosf``.

    True on Linux (glibc), where TensorFlow's CPU kernels call the same
    functions and float32 normals match bit for bit; False where the library
    cannot be loaded, and some float32 normals differ by a few units in the
    last place.
    """
    return _c_float_math() is not None


def _logf(u: np.ndarray) -> np.ndarray:
    """float32 natural log, as C's ``logf`` rounds it."""
    functions = _c_float_math()
    if functions is None:
        return np.log(u.astype(np.float64)).astype(np.float32)
    logf, _ = functions
    return np.fromiter(map(logf, u.tolist()), dtype=np.float32, count=u.size)


def _sincosf(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 sine and cosine, as C's ``sincosf`` rounds them."""
    functions = _c_float_math()
    if functions is None:
        v64 = v.astype(np.float64)
        return np.sin(v64).astype(np.float32), np.cos(v64).astype(np.float32)
    _, sincosf = functions
    s, c = ctypes.c_float(), ctypes.c_float()
    s_ptr, c_ptr = ctypes.pointer(s), ctypes.pointer(c)
    sines, cosines = np.empty(v.size, np.float32), np.empty(v.size, np.float32)
    for k, angle in enumerate(v.tolist()):
        sincosf(angle, s_ptr, c_ptr)
        sines[k], cosines[k] = s.value, c.value
    return sines, cosines


def _map_float64(function, x: np.ndarray) -> np.ndarray:
    """``function`` (from :mod:`math`, i.e. C's double version) over ``x``."""
    return np.fromiter(map(function, x.tolist()), dtype=np.float64, count=x.size)


# ---------------------------------------------------------------------------
# Bits to normal numbers


def box_muller_float(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two standard normal float32 per pair of words (``BoxMullerFloat``).

    ``u1`` is clamped to 1e-7 so that ``log`` never sees 0; the angle is
    ``2 pi u`` computed in double (``M_PI`` is a double) and then rounded to
    float32, exactly as the C expression ``2.0f * M_PI * u`` assigned to a
    float.

    Parameters
    ----------
    x0, x1 : ndarray of uint32, shape (n,)

    Returns
    -------
    z0, z1 : ndarray of float32, shape (n,)
        ``sqrt(-2 log u1) * sin(v)`` and ``sqrt(-2 log u1) * cos(v)``.
    """
    u1 = np.maximum(uint32_to_float(x0), np.float32(1.0e-7))
    v = (np.float64(2.0 * math.pi) * uint32_to_float(x1).astype(np.float64)).astype(np.float32)
    radius = np.sqrt(np.float32(-2.0) * _logf(u1))
    sin_v, cos_v = _sincosf(v)
    return sin_v * radius, cos_v * radius


def box_muller_double(
    x0: np.ndarray, x1: np.ndarray, x2: np.ndarray, x3: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two standard normal float64 per four words (``BoxMullerDouble``).

    Parameters
    ----------
    x0, x1, x2, x3 : ndarray of uint32, shape (n,)
        ``(x0, x1)`` give the radius uniform, ``(x2, x3)`` the angle uniform.

    Returns
    -------
    z0, z1 : ndarray of float64, shape (n,)
    """
    u1 = np.maximum(uint64_to_double(x0, x1), 1.0e-7)
    v = 2.0 * math.pi * uint64_to_double(x2, x3)
    radius = np.sqrt(-2.0 * _map_float64(math.log, u1))
    return _map_float64(math.sin, v) * radius, _map_float64(math.cos, v) * radius


def _interleave(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.stack([first, second], axis=1).reshape(-1)


# ---------------------------------------------------------------------------
# The stateless ops


def standard_uniform(shape: Shape, seed, dtype=np.float32) -> np.ndarray:
    """Uniform numbers in [0, 1): ``tf.raw_ops.StatelessRandomUniformV2``.

    float32 takes one word per number (four per Philox block), float64 two
    (``UniformDistribution`` in ``random_distributions.h``); a size that is not
    a multiple of the block's count uses the first numbers of the last block.

    Parameters
    ----------
    shape : tuple of ints
    seed : pair of ints
    dtype : float32 or float64

    Returns
    -------
    ndarray of ``dtype``, shape ``shape``
    """
    shape, dtype = check_shape_arg(shape), check_float_dtype(dtype)
    n = math.prod(shape)
    if dtype == np.float32:
        values = uint32_to_float(_seed_bits(seed, -(-n // 4)))
    else:
        words = _seed_bits(seed, -(-n // 2))
        values = uint64_to_double(words[0::2], words[1::2])
    return values[:n].reshape(shape)


def standard_normal(shape: Shape, seed, dtype=np.float32) -> np.ndarray:
    """Standard normal numbers: ``tf.raw_ops.StatelessRandomNormalV2``.

    float32: four normals per Philox block (two Box-Muller pairs); float64:
    two (``NormalDistribution`` in ``random_distributions.h``). Within a pair
    the sine term comes first.

    Parameters
    ----------
    shape : tuple of ints
    seed : pair of ints
    dtype : float32 or float64

    Returns
    -------
    ndarray of ``dtype``, shape ``shape``
    """
    shape, dtype = check_shape_arg(shape), check_float_dtype(dtype)
    n = math.prod(shape)
    if dtype == np.float32:
        words = _seed_bits(seed, -(-n // 4))
        values = _interleave(*box_muller_float(words[0::2], words[1::2]))
    else:
        w = _seed_bits(seed, -(-n // 2)).reshape(-1, 4)
        values = _interleave(*box_muller_double(w[:, 0], w[:, 1], w[:, 2], w[:, 3]))
    return values[:n].reshape(shape)


def stateless_uniform(
    shape: Shape, seed, minval: float = 0.0, maxval: float = 1.0, dtype=np.float32
) -> np.ndarray:
    """``tf.random.stateless_uniform`` for float dtypes, bit for bit.

    Computes ``u * (maxval - minval) + minval`` in ``dtype``, with ``minval``
    and ``maxval`` first converted to ``dtype``, as
    ``tensorflow/python/ops/stateless_random_ops.py`` does.

    Parameters
    ----------
    shape : tuple of ints
    seed : pair of ints
    minval, maxval : float
    dtype : float32 or float64

    Returns
    -------
    ndarray of ``dtype``, shape ``shape``

    Examples
    --------
    >>> stateless_uniform((2,), seed=(1, 2)).dtype
    dtype('float32')
    """
    dtype = check_float_dtype(dtype)
    low, high = dtype.type(minval), dtype.type(maxval)
    return standard_uniform(shape, seed, dtype) * (high - low) + low


def stateless_normal(
    shape: Shape, seed, mean: float = 0.0, stddev: float = 1.0, dtype=np.float32
) -> np.ndarray:
    """``tf.random.stateless_normal``: ``z * stddev + mean`` in ``dtype``.

    Bit for bit where the C math library is loaded (see
    :func:`c_float_math_available`).

    Parameters
    ----------
    shape : tuple of ints
    seed : pair of ints
    mean, stddev : float
    dtype : float32 or float64

    Returns
    -------
    ndarray of ``dtype``, shape ``shape``
    """
    dtype = check_float_dtype(dtype)
    return standard_normal(shape, seed, dtype) * dtype.type(stddev) + dtype.type(mean)
