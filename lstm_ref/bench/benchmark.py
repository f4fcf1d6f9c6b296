"""Benchmark: lstm_ref's readable and fast paths, the frameworks, the lower bound.

Run it as ``python -m lstm_ref.bench`` (``make bench`` does, and installs
PyTorch first if it can). For each size it times, in float32, first the
forward pass alone:

* ``lstm_ref`` readable: :func:`lstm_ref.lstm_sequence`;
* ``lstm_ref`` fast: :class:`lstm_ref.fast.FastLSTM`, its weights prepared
  before timing, as the frameworks' layers are built before timing;
* the matrix multiplies alone, :func:`matmul_lower_bound`: ``X W`` once and
  ``h_{t-1} U`` for every step, what any implementation built on these
  multiplies must at least spend;
* Keras 3 ``LSTM`` compiled (``tf.function``) and eager;
* PyTorch ``nn.LSTM`` on the CPU, when ``torch`` can be imported;
* the same LSTM written as a JAX ``lax.scan`` and compiled with ``jax.jit``
  (:func:`lstm_ref.frameworks.jax.scan_lstm_runner`), when ``jax`` can be
  imported;
* ONNX Runtime's CPU ``LSTM`` kernel on a one-node model
  (:mod:`lstm_ref.frameworks.onnxruntime`), forward only: it computes no
  gradients, and has no float64 (its check before timing is in float32);

then a forward and backward pass (the gradients of the loss ``sum(outputs)``
with respect to the inputs and every weight) of the same: the readable
:func:`lstm_ref.grad.forward` and :func:`~lstm_ref.grad.backward`; the fast
:meth:`lstm_ref.fast.FastLSTM.forward` and
:meth:`~lstm_ref.fast.FastLSTM.backward`; the matrix multiplies of both
passes alone, :func:`matmul_lower_bound_backward`; Keras under
``tf.GradientTape``, compiled and eager; PyTorch's ``.backward()``; the
jitted ``jax.grad`` of the JAX scan.

Each figure is the median of ``--repeats`` samples (at least 5), taken in
three rounds after a warm-up each; a sample times as many consecutive calls
as fill ``MIN_SAMPLE_SECONDS`` (:func:`time_runs`), as ``timeit`` does. It
is shown as a ratio to the lower bound and to the fastest framework of the
same run. Before anything is timed, its output is compared
with the readable path's by :func:`lstm_ref.verify.compare` (outputs, or
gradients), so a wrong answer is never timed. ``--json PATH`` writes every
measurement, the machine and the library versions; ``--sweep`` adds the
series over sequence length and hidden size that the book's *Performance*
chapter plots, for both.

TensorFlow, Keras, PyTorch and JAX are imported inside functions only, each
through its module of :mod:`lstm_ref.frameworks`: ``import lstm_ref.bench``
needs NumPy alone.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import math
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple, Optional

import numpy as np

from .. import __version__, verify
from ..cell import preactivations
from ..fast import FastCache, FastLSTM, Workspace
from ..grad import backward, forward
from ..params import LSTMParams
from ..sequence import lstm_sequence

__all__ = [
    "matmul_flops", "backward_matmul_flops", "elementwise_bytes", "Size", "SIZES", "SWEEP_T",
    "SWEEP_H", "problem", "matmul_lower_bound", "matmul_lower_bound_backward",
    "recurrent_grad_multiplies", "Timing", "time_runs", "FLOAT32_TOLERANCE", "CHECK_SIZE",
    "LOWER_BOUND", "ONNXRUNTIME", "GRADIENT_NAMES", "Contender", "check", "torch_lstm",
    "loss_gradients", "torch_available", "jax_available", "JAX_NAME", "onnxruntime_available",
    "contenders", "reference_answer", "verify_contenders", "bench_size",
    "numpy_call_seconds", "profile_fast", "format_profile", "profile_backward",
    "format_profile_backward", "blas_threads", "cpu_model", "environment", "format_table",
    "format_environment", "main"
]

# ---------------------------------------------------------------------------
# What a forward pass costs


def matmul_flops(N: int, T: int, D: int, H: int) -> dict[str, int]:
    """Floating-point operations of the matrix multiplies of one forward pass.

    Implements :eq:`eq-flops-input` and :eq:`eq-flops-recurrent`. An (m, k)
    by (k, n) product takes m n k multiplications and as many additions:
    ``x_t W`` is (N, D) by (D, 4H) and ``h_{t-1} U`` is (N, H) by (H, 4H),
    each done T times.

    Returns
    -------
    dict
        ``"input"``: 8 N T D H; ``"recurrent"``: 8 N T H²; ``"total"``: their sum.
    """
    flops = {"input": 2 * N * T * D * 4 * H, "recurrent": 2 * N * T * H * 4 * H}
    flops["total"] = flops["input"] + flops["recurrent"]
    return flops


def backward_matmul_flops(N: int, T: int, D: int, H: int) -> dict[str, int]:
    """Floating-point operations of the matrix multiplies of one backward pass.

    Implements :eq:`eq-flops-backward`. Each product of the forward pass,
    ``x_t W`` and ``h_{t-1} U``, is differentiated with respect to both of
    its factors, and each derivative is a product of the same size:
    ``d_z_t U^T`` (N, 4H) by (4H, H), T times; ``d_Z W^T`` (N T, 4H) by
    (4H, D); ``X^T d_Z`` (D, N T) by (N T, 4H) and ``H_{prev}^T d_Z``
    (H, N T) by (N T, 4H), as in :func:`matmul_flops`.

    Returns
    -------
    dict
        ``"recurrent"``: 8 N T H² (``d_z_t U^T``); ``"inputs"``: 8 N T D H
        (``d_X``); ``"weights"``: 8 N T (D + H) H (``d_W`` and ``d_U``);
        ``"total"``: their sum, 16 N T (D + H) H, twice the forward pass's.
    """
    flops = {"recurrent": T * 2 * N * 4 * H * H, "inputs": 2 * N * T * 4 * H * D,
             "weights": 2 * D * N * T * 4 * H + 2 * H * N * T * 4 * H}
    flops["total"] = sum(flops.values())
    return flops


def elementwise_bytes(N: int, T: int, H: int, itemsize: int) -> int:
    """Bytes the elementwise work of a forward pass must read and write, at least.

    Implements :eq:`eq-bytes-elementwise`. Per step and example: read the two
    products ``x_t W + b`` and ``h_{t-1} U`` (4H values each) and ``c_{t-1}``
    (H), write ``c_t`` and ``h_t`` (H each): 11 H values of ``itemsize``
    bytes, with every intermediate kept in registers. A NumPy implementation,
    which makes a full pass over memory per operation, moves several times this.
    """
    return (4 * H + 4 * H + H + H + H) * N * T * itemsize


# ---------------------------------------------------------------------------
# The sizes


class Size(NamedTuple):
    """A problem size: batch N, time steps T, input features D, hidden units H."""

    N: int
    T: int
    D: int
    H: int

    def __str__(self) -> str:
        return f"N={self.N} T={self.T} D={self.D} H={self.H}"


SIZES = {
    "small": Size(N=1, T=50, D=32, H=32),
    "medium": Size(N=32, T=100, D=128, H=128),
    "large": Size(N=64, T=200, D=512, H=512),
}
# The book's figures: time against T (N=32, D=H=128) and against H (N=32, T=100).
SWEEP_T = [Size(32, T, 128, 128) for T in (25, 50, 100, 200, 400)]
SWEEP_H = [Size(32, 100, H, H) for H in (32, 64, 128, 256, 512)]


def problem(size: Size, dtype=np.float32, seed: int = 0) -> tuple[np.ndarray, LSTMParams]:
    """Inputs ``X`` (N, T, D) and weights of Glorot-like scale, i, f, g, o blocks."""
    rng = np.random.default_rng(seed)
    N, T, D, H = size
    params = LSTMParams(
        W=rng.normal(scale=D**-0.5, size=(D, 4 * H)).astype(dtype),
        U=rng.normal(scale=H**-0.5, size=(H, 4 * H)).astype(dtype),
        b=rng.normal(scale=0.1, size=4 * H).astype(dtype),
    )
    return rng.normal(size=(N, T, D)).astype(dtype), params


def matmul_lower_bound(
    fast: FastLSTM, X: np.ndarray, hidden: np.ndarray, workspace: Optional[Workspace] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Only the matrix multiplies of a forward pass: the time no implementation beats.

    The fast path's own multiplies and nothing else: the input projection of
    all steps in one multiply (:meth:`lstm_ref.fast.FastLSTM.input_projection`,
    with its copy of ``X`` into the multiply's layout and the bias as a row
    of the weights), then ``h_{t-1} U`` for t = 1 ... T
    (:meth:`~lstm_ref.fast.FastLSTM.recurrent_projection`), with ``h_0 = 0``
    and the others read from ``hidden`` as the fast path reads its outputs.
    Costs :func:`matmul_flops`.

    Parameters
    ----------
    fast : FastLSTM
        The prepared weights.
    X : ndarray, shape (N, T, D)
    hidden : ndarray, shape (N, T, H)
        Hidden states to multiply (a forward pass's outputs).
    workspace : Workspace, optional
        Passed to the input projection, as the timed passes pass theirs.

    Returns
    -------
    Z_x : ndarray, shape (4, T, N, H)
        ``x_t W + b`` for every step, in the fast path's internal layout.
    z : ndarray, shape (4, N, H)
        The last product, ``h_{T-1} U``, in the same layout.
    """
    N, T, _ = X.shape
    Z_x = fast.input_projection(X, workspace=workspace)  # (4, T, N, H)
    z = np.empty_like(Z_x[:, 0])  # (4, N, H)
    h = np.zeros_like(hidden[:, 0])  # h_0
    for t in range(T):
        fast.recurrent_projection(h, out=z)
        h = hidden[:, t]
    return Z_x, z


def matmul_lower_bound_backward(
    fast: FastLSTM, X: np.ndarray, cache: FastCache, d_Z: np.ndarray,
    workspace: Optional[Workspace] = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Only the matrix multiplies of a forward and a backward pass.

    The forward pass's (:func:`matmul_lower_bound`), then the fast path's
    backward multiplies and nothing else: ``d_z_t U^T`` for t = T ... 1
    (:meth:`lstm_ref.fast.FastLSTM.recurrent_grads`), ``d_W`` with ``d_b``
    and ``d_U`` (:meth:`~lstm_ref.fast.FastLSTM.weight_grads`) and ``d_X``
    (:meth:`~lstm_ref.fast.FastLSTM.input_grads`), from the gradients of the
    pre-activations ``d_Z`` that a backward pass computed. Costs
    :func:`matmul_flops` plus :func:`backward_matmul_flops`.

    Parameters
    ----------
    fast : FastLSTM
        The prepared weights.
    X : ndarray, shape (N, T, D)
    cache : FastCache
        From ``fast.forward(X)``: the hidden states and the inputs to multiply.
    d_Z : ndarray, shape (T, N, 4H)
        Gradients of the pre-activations, gate blocks i, f, g, o
        (:meth:`~lstm_ref.fast.FastLSTM.preactivation_grads`).
    workspace : Workspace, optional
        Passed to the multiplies that take one, as the timed passes pass theirs.

    Returns
    -------
    d_X : ndarray, shape (N, T, D)
    d_W : ndarray, shape (D, 4H)
    d_U : ndarray, shape (H, 4H)
    d_b : ndarray, shape (4H,), or None
        What these multiplies compute: the gradients, given ``d_Z``.
    """
    matmul_lower_bound(fast, X, cache.outputs, workspace)
    recurrent_grad_multiplies(fast, d_Z)
    d_W, d_U, d_b = fast.weight_grads(cache, d_Z)
    return fast.input_grads(d_Z, workspace), d_W, d_U, d_b


def recurrent_grad_multiplies(fast: FastLSTM, d_Z: np.ndarray) -> None:
    """The backward loop's multiplies alone: ``d_z_t U^T`` for t = T ... 1, results dropped."""
    d_h = np.empty(d_Z.shape[1:2] + (fast.params.hidden_size,), d_Z.dtype)  # (N, H)
    for d_z in d_Z[::-1]:
        fast.recurrent_grads(d_z, out=d_h)


# ---------------------------------------------------------------------------
# Timing


@dataclass
class Timing:
    """The runs of one implementation at one size, in seconds."""

    implementation: str
    size: str
    N: int
    T: int
    D: int
    H: int
    dtype: str
    seconds: list[float]
    max_abs_error: Optional[float] = None
    ratio_to_lower_bound: Optional[float] = None
    ratio_to_fastest_framework: Optional[float] = None
    mode: str = "forward"  # or "forward+backward"
    max_rel_error: Optional[float] = None

    @property
    def median(self) -> float:
        """Median of the runs, in seconds."""
        return statistics.median(self.seconds)


# Each run warms up for this long in every round, and each timed sample lasts
# at least this long (time_runs).
WARM_UP_SECONDS, MIN_SAMPLE_SECONDS = 0.05, 0.02


def time_runs(
    runs: list[Callable[[], object]], repeats: int, settle: float = 1.0, rounds: int = 3,
    warm_up: float = WARM_UP_SECONDS, min_sample: float = MIN_SAMPLE_SECONDS,
) -> list[list[float]]:
    """Seconds per call of each of ``runs``: ``repeats`` samples in ``rounds`` rounds.

    In every round each run gets a pause of ``settle`` seconds, warm-up
    calls for at least ``warm_up`` seconds (at least one) and its share of
    the timed samples, in a row. Runs do not take turns call by call: the
    worker threads of PyTorch (OpenMP), TensorFlow and OpenBLAS keep
    spinning for a while after a call and slow down whatever runs next
    (the fast path right after PyTorch's LSTM, for one); the pause lets them
    go to sleep, and the
    warm-up wakes the run's own threads and caches again. A sample is the
    mean of as many consecutive calls as fill ``min_sample`` seconds, as
    ``timeit`` does, so that a call of a millisecond is not timed alone
    against the clock's and the scheduler's jitter. Rounds spread each
    run's samples over the whole benchmark, so that a change in the
    machine's load does not fall on one run only.
    """
    rounds = max(1, min(rounds, repeats))
    shares = [repeats // rounds + (k < repeats % rounds) for k in range(rounds)]
    seconds = [[] for _ in runs]
    for share in shares:
        for run, times in zip(runs, seconds):
            time.sleep(settle)
            calls, start = 0, time.perf_counter()
            while calls == 0 or time.perf_counter() - start < warm_up:
                run()
                calls += 1
            per_call = (time.perf_counter() - start) / calls
            number = max(1, math.ceil(min_sample / per_call)) if per_call else 1
            for _ in range(share):
                start = time.perf_counter()
                for _ in range(number):
                    run()
                times.append((time.perf_counter() - start) / number)
    return seconds


# The timed runs are float32, and float32 implementations that sum the D + H
# products of a step in different orders (blocked BLAS, oneDNN) drift apart by
# a few float32 ulps per step, past 1e-6 over the longest sequences of the
# sweep. A wrong gate order, bias or transpose gives errors near 0.1, so
# 1e-5 still catches every real mistake; the tight float64 bar (1e-12) is
# applied to every contender first, by verify_contenders.
FLOAT32_TOLERANCE = 1e-5
# Gradients are sums over all N T rows and reach magnitudes of hundreds at the
# large size, and float32 rounds relative to the magnitude: a gradient's
# float32 check is FLOAT32_TOLERANCE times its largest magnitude (at least 1),
# the same relative bar as the outputs'.
# The float64 check before any timing: small, but every axis a different size.
CHECK_SIZE = Size(N=3, T=20, D=5, H=7)
LOWER_BOUND = "matmul lower bound"
ONNXRUNTIME = "ONNX Runtime LSTM"
FORWARD, BACKWARD = "forward", "forward+backward"
GRADIENT_NAMES = ("d_X", "d_W", "d_U", "d_b")


class Contender(NamedTuple):
    """An implementation to time, in one mode: forward, or forward and backward.

    ``prepare(X, params, reference)`` builds what does not depend on the
    data's values (a layer, a compiled function, converted weights) and
    returns ``(run, result)``: ``run()`` is what gets timed, ``result(answer)``
    what of its answer :func:`check` compares with ``reference``, the
    readable path's: the outputs (N, T, H) in :data:`FORWARD` mode, and in
    :data:`BACKWARD` mode the gradients of ``sum(outputs)`` by name
    (:data:`GRADIENT_NAMES`). ``framework`` marks the contenders over which
    the ratio "to the fastest framework" is taken. ``float64=False`` marks an
    implementation without float64, which :func:`verify_contenders` checks in
    float32.
    """

    name: str
    framework: bool
    prepare: Callable
    mode: str = FORWARD
    float64: bool = True  # False: the implementation has no float64 (ONNX Runtime's LSTM)


def check(contender: Contender, run, result, X, params, reference,
          tolerance=None) -> tuple[float, float]:
    """Compare a contender's answer with the readable path's; raise if they differ.

    Returns the max abs and max rel error. lstm_ref's own paths are
    compared with the readable path as the reference; a framework is the
    reference for the readable path, as everywhere in the book. The forward
    lower bound computes no LSTM: its last pre-activation is compared with
    :func:`lstm_ref.cell.preactivations` of the readable path's states.
    Gradients are compared one at a time, each with ``tolerance`` times its
    largest magnitude (at least 1) when a tolerance is given.
    """
    answer = result(run())
    if contender.mode == BACKWARD:
        return _check_gradients(contender, answer, reference, tolerance)
    if contender.name == LOWER_BOUND:
        outputs = reference
        h_before = outputs[:, -2] if X.shape[1] > 1 else np.zeros_like(outputs[:, 0])
        pairs = {"z_T": (answer, preactivations(X[:, -1], h_before, params))}
        against = "lstm_ref.cell.preactivations"
    elif contender.framework:
        pairs, against = {"outputs": (reference, answer)}, contender.name
    else:
        pairs, against = {"outputs": (answer, reference)}, "lstm_ref.lstm_sequence"
    verification = verify.compare(pairs, against=against, tolerance=tolerance)
    return verification.max_abs_error, max(c.max_rel_error for c in verification)


def _check_gradients(contender, answer, reference, tolerance):
    against = contender.name if contender.framework else "lstm_ref.grad.backward"
    comparisons = []
    for name in GRADIENT_NAMES:
        if reference[name] is None:  # no bias
            continue
        ours, theirs = answer[name], reference[name]
        if contender.framework:
            ours, theirs = theirs, ours
        scaled = (None if tolerance is None
                  else tolerance * max(1.0, float(np.abs(theirs).max())))
        comparisons += verify.compare({name: (ours, theirs)}, against=against,
                                      tolerance=scaled)
    return (max(c.max_abs_error for c in comparisons),
            max(c.max_rel_error for c in comparisons))


def _outputs(answer):
    return np.asarray(answer)


def _readable(X, params, outputs):
    return lambda: lstm_sequence(X, params)[0], _outputs


def _fast(X, params, outputs):
    # Prepared once, as a framework's layer holds its weights before it is timed;
    # profile_fast reports what preparing costs. Repeated calls, done with each
    # result before the next: one workspace for all (a framework's allocator
    # keeps its memory too).
    fast, workspace = FastLSTM(params), Workspace()
    return lambda: fast(X, workspace=workspace)[0], _outputs


def _lower_bound(X, params, outputs):
    fast, workspace = FastLSTM(params), Workspace()

    def last_preactivation(answer):  # x_T W + b + h_{T-1} U, gates i, f, g, o
        Z_x, z = answer
        return fast.to_canonical(Z_x[:, -1] + z)
    return lambda: matmul_lower_bound(fast, X, outputs, workspace), last_preactivation


def _keras(compiled: bool) -> Contender:
    def prepare(X, params, outputs):
        from ..frameworks.tensorflow import keras_lstm, tf

        layer = keras_lstm(params, return_sequences=True, return_state=False)
        call = tf.function(layer) if compiled else layer
        X_tf = tf.constant(X)
        return lambda: np.asarray(call(X_tf)), _outputs

    return Contender(_keras_name(compiled), True, prepare)


def _keras_name(compiled: bool) -> str:
    return "Keras 3 LSTM, " + ("tf.function" if compiled else "eager")


def torch_lstm(params: LSTMParams):
    """A ``torch.nn.LSTM`` (one layer, batch first) holding ``params``, in their dtype.

    Built by :func:`lstm_ref.frameworks.torch.torch_lstm`; its weights are read
    back out through :func:`lstm_ref.conventions.torch.from_torch`, which must
    give ``params`` exactly. Imports torch.
    """
    from ..conventions.torch import from_torch
    from ..frameworks.torch import torch_lstm as build

    lstm = build([[params]], batch_first=True)
    back = from_torch(*(p.detach().numpy() for p in lstm.parameters()))
    verify.compare({name: (getattr(back, name), getattr(params, name)) for name in "WUb"},
                   against="nn.LSTM's weights, read back", tolerance=0.0)
    return lstm


def _torch(X, params, outputs):
    from ..frameworks.torch import torch

    lstm, X_torch = torch_lstm(params), torch.from_numpy(X)

    def run():
        with torch.no_grad():
            return lstm(X_torch)[0]
    return run, lambda answer: answer.numpy()


def _onnxruntime(X, params, outputs):
    from ..frameworks.onnxruntime import lstm_model, session

    # One LSTM node, weights converted by lstm_ref.conventions.onnx; the CPU
    # kernel reads time-major inputs (layout 0) and has no float64.
    run_model = session(lstm_model([params]))
    X_time_major = np.ascontiguousarray(np.swapaxes(X, 0, 1))  # (T, N, D)
    return (lambda: run_model(X_time_major)[0],
            lambda Y: np.swapaxes(Y[:, 0], 0, 1))  # Y (T, 1, N, H) -> (N, T, H)


def onnxruntime_available() -> bool:
    """Whether ``import onnxruntime`` works here (requirements.txt pins it)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------
# Forward and backward: the loss is sum(outputs), so d_outputs is all ones.


def loss_gradients(X: np.ndarray, params: LSTMParams) -> dict[str, np.ndarray]:
    """The readable path's gradients of ``sum(outputs)``, by name (``d_X`` ... ``d_b``).

    :func:`lstm_ref.grad.forward` and :func:`lstm_ref.grad.backward` with
    ``d_outputs`` all ones: what every :data:`BACKWARD` contender must compute.
    """
    outputs, _, cache = forward(X, params)
    return _gradient_dict(backward(np.ones_like(outputs), cache))


def _gradient_dict(grads) -> dict[str, np.ndarray]:
    named = grads.arrays()
    return {name: named.get(name) for name in GRADIENT_NAMES}  # d_b None without a bias


def _readable_backward(X, params, reference):
    d_outputs = np.ones(X.shape[:2] + (params.hidden_size,), params.dtype)
    return (lambda: backward(d_outputs, forward(X, params)[2]), _gradient_dict)


def _fast_backward(X, params, reference):
    fast, workspace = FastLSTM(params), Workspace()
    d_outputs = np.ones(X.shape[:2] + (params.hidden_size,), params.dtype)
    return (lambda: fast.backward(d_outputs, fast.forward(X, workspace=workspace)[2],
                                  workspace=workspace), _gradient_dict)


def _lower_bound_backward(X, params, reference):
    fast, workspace = FastLSTM(params), Workspace()
    outputs, _, cache = fast.forward(X)
    # The backward pass's own d_Z, so that the multiplies compute the gradients.
    d_Z = fast.preactivation_grads(np.ones_like(outputs), cache).d_Z.copy()

    def gradients(answer):
        return dict(zip(GRADIENT_NAMES, answer))
    return lambda: matmul_lower_bound_backward(fast, X, cache, d_Z, workspace), gradients


def _keras_backward(compiled: bool) -> Contender:
    def prepare(X, params, reference):
        from ..conventions.keras import from_keras
        from ..frameworks.tensorflow import keras_lstm, keras_rnn_variables, tf

        layer = keras_lstm(params, return_sequences=True, return_state=False)
        weights = keras_rnn_variables(layer)

        def gradients(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(layer(x))
            return tape.gradient(loss, [x, *weights])

        call = tf.function(gradients) if compiled else gradients
        X_tf = tf.constant(X)

        def result(answer):
            d_X, *d_weights = answer
            d = from_keras(*d_weights)  # a gradient has its weight's layout
            return {"d_X": d_X, "d_W": d.W, "d_U": d.U, "d_b": d.b}
        return lambda: [np.asarray(g) for g in call(X_tf)], result

    return Contender(_keras_name(compiled), True, prepare, BACKWARD)


def _torch_backward(X, params, reference):
    from ..conventions.torch import from_torch
    from ..frameworks.torch import torch

    lstm = torch_lstm(params)
    X_torch = torch.from_numpy(X.copy()).requires_grad_(True)

    def run():
        lstm.zero_grad(set_to_none=True)
        X_torch.grad = None
        lstm(X_torch)[0].sum().backward()
        return X_torch.grad, [p.grad for p in lstm.parameters()]

    def result(answer):
        d_X, d_weights = answer
        d_weights = [g.numpy() for g in d_weights]
        d = from_torch(*d_weights[:2])  # transposed back, as the weights are
        # bias_ih and bias_hh are both added to z_t: each one's gradient is d_b.
        d_b = d_weights[2] if len(d_weights) > 2 else None
        return {"d_X": d_X.numpy(), "d_W": d.W, "d_U": d.U, "d_b": d_b}
    return run, result


def _jax(X, params, outputs):
    from ..frameworks.jax import scan_lstm_runner

    # Compiled for these shapes by the first call (the warm-up), as tf.function is.
    return scan_lstm_runner(params, X), _outputs


def _jax_backward(X, params, reference):
    from ..frameworks.jax import scan_lstm_runner

    def result(answer):
        d_X, d_W, d_U, d_b = (np.asarray(a) for a in answer)
        return {"d_X": d_X, "d_W": d_W, "d_U": d_U, "d_b": None if params.b is None else d_b}
    return scan_lstm_runner(params, X, backward=True), result


JAX_NAME = "JAX lax.scan, jax.jit"


def torch_available() -> bool:
    """Whether ``import torch`` works here (requirements.txt pins it; the benchmark still runs without it)."""
    return _importable("torch")


def jax_available() -> bool:
    """Whether ``import jax`` and ``import flax`` work here (requirements.txt pins them)."""
    return _importable("jax") and _importable("flax")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def contenders(frameworks: bool = True, eager: bool = True,
               mode: str = FORWARD) -> list[Contender]:
    """Everything to time: lstm_ref's two paths, the lower bound, and the frameworks.

    ``mode`` is :data:`FORWARD` (the forward pass) or :data:`BACKWARD`
    (forward and backward). PyTorch and JAX are included only if they import,
    ONNX Runtime (its CPU LSTM kernel) only in :data:`FORWARD` mode and if it imports;
    ``eager=False`` leaves out the (slow) eager Keras layer,
    ``frameworks=False`` every framework.
    """
    if mode not in (FORWARD, BACKWARD):
        raise ValueError(f"mode: expected {FORWARD!r} or {BACKWARD!r}, got {mode!r}")
    backward_mode = mode == BACKWARD
    own = ([_readable, _fast, _lower_bound] if not backward_mode else
           [_readable_backward, _fast_backward, _lower_bound_backward])
    names = ["lstm_ref readable", "lstm_ref fast", LOWER_BOUND]
    found = [Contender(name, False, prepare, mode) for name, prepare in zip(names, own)]
    if frameworks:
        keras_contender = _keras_backward if backward_mode else _keras
        found.append(keras_contender(compiled=True))
        if eager:
            found.append(keras_contender(compiled=False))
        if torch_available():
            found.append(Contender("PyTorch nn.LSTM", True,
                                   _torch_backward if backward_mode else _torch, mode))
        if jax_available():
            found.append(Contender(JAX_NAME, True, _jax_backward if backward_mode else _jax,
                                   mode))
        if not backward_mode and onnxruntime_available():  # it computes no gradients
            found.append(Contender(ONNXRUNTIME, True, _onnxruntime, mode, float64=False))
    return found


def reference_answer(X: np.ndarray, params: LSTMParams, mode: str = FORWARD):
    """What every contender of ``mode`` must compute: the readable path's answer."""
    return lstm_sequence(X, params)[0] if mode == FORWARD else loss_gradients(X, params)


def verify_contenders(candidates: list[Contender]) -> dict[str, float]:
    """Check every contender in float64 against the readable path, to 1e-12.

    On :data:`CHECK_SIZE`: this is where a weight conversion (Keras, PyTorch,
    ONNX) or the fast path's reordering would show an error, at float64's
    tight bar. A contender without float64 (``float64=False``) is checked in
    float32, to 1e-6. Returns the max abs error of each; raises on a mismatch.
    """
    problems = {dtype: problem(CHECK_SIZE, dtype, seed=1) for dtype in (np.float64, np.float32)}
    references = {}
    errors = {}
    for contender in candidates:
        dtype = np.float64 if contender.float64 else np.float32
        X, params = problems[dtype]
        key = (contender.mode, dtype)
        if key not in references:
            references[key] = reference_answer(X, params, contender.mode)
        reference = references[key]
        run, result = contender.prepare(X, params, reference)
        errors[contender.name] = check(contender, run, result, X, params, reference)[0]
    return errors


def bench_size(
    label: str, size: Size, candidates: list[Contender], repeats: int, dtype=np.float32,
    settle: float = 1.0,
) -> list[Timing]:
    """Check, then time, every contender at one size; ratios filled in.

    The contenders share one mode. The check compares each contender's
    answer with the readable path's (:func:`check`; :data:`FLOAT32_TOLERANCE`
    in float32), so that a wrong answer is never timed.
    """
    X, params = problem(size, dtype)
    mode = candidates[0].mode
    reference = reference_answer(X, params, mode)
    tolerance = FLOAT32_TOLERANCE if np.dtype(dtype) == np.float32 else None
    runs, errors = [], []
    for contender in candidates:
        run, result = contender.prepare(X, params, reference)
        errors.append(check(contender, run, result, X, params, reference, tolerance))
        runs.append(run)
    seconds = time_runs(runs, repeats, settle)
    timings = [Timing(c.name, label, *size, np.dtype(dtype).name, s, abs_error,
                      mode=mode, max_rel_error=rel_error)
               for c, s, (abs_error, rel_error) in zip(candidates, seconds, errors)]
    bound = next(t.median for t in timings if t.implementation == LOWER_BOUND)
    framework_medians = [t.median for t, c in zip(timings, candidates) if c.framework]
    for timing in timings:
        timing.ratio_to_lower_bound = timing.median / bound
        if framework_medians:
            timing.ratio_to_fastest_framework = timing.median / min(framework_medians)
    return timings


# ---------------------------------------------------------------------------
# Where the fast path's time goes


def numpy_call_seconds(repeats: int = 2000) -> float:
    """Median time of one ufunc call with ``out=`` on a one-element array.

    What every NumPy operation costs before it touches any data: parsing its
    arguments, choosing a loop, checking ``out``. The fast path's loop pays it
    about ten times per step.
    """
    a, out = np.ones(1, np.float32), np.empty(1, np.float32)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.add(a, a, out=out)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def profile_fast(
    size: Size, repeats: int, dtype=np.float32, settle: float = 1.0
) -> dict[str, float]:
    """Median seconds of the fast path and of its parts, at one size.

    Keys: ``"fast"`` (all of :meth:`FastLSTM.__call__`), ``"prepare"``
    (making the :class:`FastLSTM`, which :func:`~lstm_ref.fast.lstm_sequence_fast` adds to
    every call), ``"lower_bound"``
    (:func:`matmul_lower_bound`), ``"input_projection"`` (its first part:
    the time-major copy of X, the one multiply and the bias),
    ``"input_projection_per_step"`` (the same product as T multiplies of
    (N, D) rows, as the readable path does it; checked equal first) and
    ``"numpy_call"`` (:func:`numpy_call_seconds`). The elementwise work and
    the loop's overhead are ``fast - lower_bound``; the recurrent multiplies
    ``lower_bound - input_projection``.
    """
    X, params = problem(size, dtype)
    fast, workspace = FastLSTM(params), Workspace()
    outputs = fast(X)[0]
    N, T, D = X.shape
    W = fast.W  # (4, D, H), gates i, f, o, g

    def per_step():  # x_t W + b for every t, one step at a time
        Z_x = np.empty((4, T, N, params.hidden_size), dtype)
        for t in range(T):
            np.matmul(X[:, t], W, out=Z_x[:, t])
            np.add(Z_x[:, t], fast.b, out=Z_x[:, t])
        return Z_x

    verify.compare({"x_t W + b": (per_step(), fast.input_projection(X))},
                   against="the input projection in one multiply",
                   tolerance=FLOAT32_TOLERANCE if np.dtype(dtype) == np.float32 else None)
    runs = {"fast": lambda: fast(X, workspace=workspace), "prepare": lambda: FastLSTM(params),
            "lower_bound": lambda: matmul_lower_bound(fast, X, outputs, workspace),
            "input_projection": lambda: fast.input_projection(X, workspace=workspace),
            "input_projection_per_step": per_step}
    seconds = time_runs(list(runs.values()), repeats, settle)
    profile = {name: statistics.median(s) for name, s in zip(runs, seconds)}
    profile["numpy_call"] = numpy_call_seconds()
    return profile


def format_profile(label: str, size: Size, profile: dict[str, float]) -> str:
    """Where the fast path's time goes, as text."""
    T = size.T
    elementwise = profile["fast"] - profile["lower_bound"]
    recurrent = profile["lower_bound"] - profile["input_projection"]
    ms = 1e3
    return (
        f"{label}: the fast path's {profile['fast'] * ms:.3f} ms = "
        f"input projection {profile['input_projection'] * ms:.3f} ms "
        f"(as T multiplies: {profile['input_projection_per_step'] * ms:.3f} ms)"
        f" + recurrent multiplies {recurrent * ms:.3f} ms"
        f" + elementwise work and loop {elementwise * ms:.3f} ms"
        f" ({elementwise / T * 1e6:.1f} us per step;"
        f" one NumPy call costs {profile['numpy_call'] * 1e6:.2f} us)")


def profile_backward(
    size: Size, repeats: int, dtype=np.float32, settle: float = 1.0
) -> dict[str, float]:
    """Median seconds of the fast forward and backward pass and its parts, at one size.

    Keys: ``"total"`` (:meth:`FastLSTM.forward`, then
    :meth:`FastLSTM.backward`, for the loss ``sum(outputs)``),
    ``"forward"`` (:meth:`FastLSTM.forward`, which keeps the Jacobians),
    ``"forward_only"`` (calling the :class:`FastLSTM`, which keeps nothing),
    ``"forward_multiplies"`` (:func:`matmul_lower_bound`), ``"loop"``
    (:meth:`~lstm_ref.fast.FastLSTM.preactivation_grads`),
    ``"recurrent_grads"`` (its T multiplies alone), ``"weight_grads"`` and
    ``"input_grads"`` (the multiplies after the loop), all of them given
    one :class:`~lstm_ref.fast.Workspace`, and ``"total_fresh_memory"``:
    the total given none, so that every large array is fresh memory. The
    elementwise work of the backward loop is ``loop - recurrent_grads``.
    """
    X, params = problem(size, dtype)
    fast, ws = FastLSTM(params), Workspace()
    outputs, _, cache = fast.forward(X)  # kept: no workspace
    d_outputs = np.ones_like(outputs)
    d_Z = fast.preactivation_grads(d_outputs, cache).d_Z
    runs = {"total": lambda: fast.backward(d_outputs, fast.forward(X, workspace=ws)[2],
                                           workspace=ws),
            "forward": lambda: fast.forward(X, workspace=ws),
            "forward_only": lambda: fast(X, workspace=ws),
            "forward_multiplies": lambda: matmul_lower_bound(fast, X, outputs, ws),
            "loop": lambda: fast.preactivation_grads(d_outputs, cache, workspace=ws),
            "recurrent_grads": lambda: recurrent_grad_multiplies(fast, d_Z),
            "weight_grads": lambda: fast.weight_grads(cache, d_Z),
            "input_grads": lambda: fast.input_grads(d_Z, workspace=ws),
            "total_fresh_memory": lambda: fast.backward(d_outputs, fast.forward(X)[2])}
    seconds = time_runs(list(runs.values()), repeats, settle)
    return {name: statistics.median(s) for name, s in zip(runs, seconds)}


def format_profile_backward(label: str, size: Size, profile: dict[str, float]) -> str:
    """Where the fast forward and backward pass's time goes, as text."""
    p = {name: value * 1e3 for name, value in profile.items()}  # ms
    elementwise = p["loop"] - p["recurrent_grads"]
    return (
        f"{label}: the fast forward and backward pass's {p['total']:.3f} ms"
        f" ({p['total_fresh_memory']:.3f} ms in fresh memory): forward"
        f" {p['forward']:.3f} ms (multiplies {p['forward_multiplies']:.3f}, without"
        f" keeping the Jacobians {p['forward_only']:.3f}), backward loop"
        f" {p['loop']:.3f} ms (multiplies {p['recurrent_grads']:.3f}, elementwise work"
        f" and loop {elementwise:.3f}, {elementwise / size.T * 1e3:.1f} us per step),"
        f" weight gradients {p['weight_grads']:.3f} ms, input gradients"
        f" {p['input_grads']:.3f} ms")


# ---------------------------------------------------------------------------
# The machine


def blas_threads() -> Optional[int]:
    """Threads of the OpenBLAS that NumPy loaded, or ``None`` if it cannot be asked."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line}
    except OSError:
        return None
    names = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
             "openblas_get_num_threads")
    for path in paths:
        library = ctypes.CDLL(path)
        for name in names:
            if hasattr(library, name):
                return int(getattr(library, name)())
    return None


def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo, else :func:`platform.processor`."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(frameworks: bool = True) -> dict:
    """Date, machine, thread counts and library versions, for the report and the JSON."""
    threads = {"cpu_count": os.cpu_count(), "numpy_openblas": blas_threads()}
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "lstm_ref": __version__}
    if frameworks:
        from ..frameworks.tensorflow import tf, versions as framework_versions

        versions.update(framework_versions())
        threads["tensorflow_intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
        threads["tensorflow_inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
        if torch_available():
            from ..frameworks.torch import torch

            versions["torch"] = torch.__version__
            threads["torch"] = torch.get_num_threads()
        if jax_available():
            from ..frameworks.jax import versions as jax_versions

            versions.update({k: v for k, v in jax_versions().items() if k != "numpy"})
        if onnxruntime_available():
            import onnxruntime

            versions["onnxruntime"] = onnxruntime.__version__
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "platform": platform.platform(),
                    "load_average_at_start": list(os.getloadavg())},
        "threads": threads,
        "versions": versions,
        "torch": ("measured" if "torch" in versions else
                  "ABSENT, not timed: torch is not importable (make bench installs "
                  "it from requirements.txt)"),
    }


# ---------------------------------------------------------------------------
# Report


def format_table(label: str, size: Size, timings: list[Timing]) -> str:
    """One size's results as a text table."""
    flops = matmul_flops(*size)["total"]
    mode = timings[0].mode
    if mode == BACKWARD:
        flops += backward_matmul_flops(*size)["total"]
    lines = [f"{label}, {mode}: {size}, {timings[0].dtype}, {flops / 1e9:.3g} GFLOP of "
             "matrix multiplies",
             f"  {'implementation':27} {'median ms':>10} {'x lower bound':>14} "
             f"{'x fastest fw':>13} {'max abs error':>14} {'max rel error':>14}"]
    for t in timings:
        fastest = ("" if t.ratio_to_fastest_framework is None
                   else f"{t.ratio_to_fastest_framework:.2f}")
        lines.append(f"  {t.implementation:27} {t.median * 1e3:10.3f} "
                     f"{t.ratio_to_lower_bound:14.2f} {fastest:>13} "
                     f"{t.max_abs_error:14.1e} {t.max_rel_error:14.1e}")
    return "\n".join(lines)


def format_environment(env: dict) -> str:
    """The machine, threads and versions as a few lines of text."""
    threads = ", ".join(f"{k} {v}" for k, v in env["threads"].items())
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    load = ", ".join(f"{x:.2f}" for x in env["machine"]["load_average_at_start"])
    return (f"{env['date']}  {env['machine']['cpu']}  ({env['machine']['platform']})\n"
            f"threads: {threads}\nversions: {versions}\nload average: {load}\n"
            f"PyTorch: {env['torch']}")


def main(argv: Optional[list[str]] = None) -> dict:
    """Command line: ``python -m lstm_ref.bench [--json PATH] [--sweep] ...``."""
    parser = argparse.ArgumentParser(prog="python -m lstm_ref.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="PATH", help="write every measurement to PATH")
    parser.add_argument("--repeats", type=int, default=9,
                        help="timed samples per measurement, in three rounds after "
                             "a warm-up each (>= 5)")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--sweep", action="store_true",
                        help="also time over T and over H (the book's figures)")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error(f"--repeats: expected at least 5, got {args.repeats}")

    env = environment()
    print(format_environment(env), flush=True)
    modes = (FORWARD, BACKWARD)
    checked = {mode: verify_contenders(contenders(mode=mode)) for mode in modes}
    print(f"\nchecked in float64 against the readable path ({CHECK_SIZE}), tolerance 1e-12:")
    for mode in modes:
        for name, error in checked[mode].items():
            print(f"  {mode:17} {name:27} max abs error {error:.1e}")
    print(f"float32 timings below are checked first, tolerance {FLOAT32_TOLERANCE:.0e} "
          "(gradients: times their largest magnitude)")
    results, profiles, backward_profiles = [], {}, {}
    for label in args.sizes:
        size = SIZES[label]
        for mode in modes:
            timings = bench_size(label, size, contenders(mode=mode), args.repeats)
            print("\n" + format_table(label, size, timings), flush=True)
            results += timings
        profiles[label] = profile_fast(size, args.repeats)
        print(format_profile(label, size, profiles[label]), flush=True)
        backward_profiles[label] = profile_backward(size, args.repeats)
        print(format_profile_backward(label, size, backward_profiles[label]),
              flush=True)
    sweeps = {}
    if args.sweep:
        for axis, sizes in (("T", SWEEP_T), ("H", SWEEP_H)):
            sweeps[axis] = []
            for size in sizes:
                for mode in modes:
                    candidates = contenders(eager=False, mode=mode)
                    timings = bench_size(f"sweep {axis}", size, candidates,
                                         args.repeats)
                    print("\n" + format_table(f"sweep over {axis}", size, timings),
                          flush=True)
                    sweeps[axis] += timings
    report = {**env, "repeats": args.repeats, "warm_up_seconds": WARM_UP_SECONDS,
              "min_sample_seconds": MIN_SAMPLE_SECONDS, "float64_check": checked,
              "float32_tolerance": FLOAT32_TOLERANCE,
              "load_average_at_end": list(os.getloadavg()),
              "results": [_record(t) for t in results], "profiles": profiles,
              "backward_profiles": backward_profiles,
              "sweeps": {axis: [_record(t) for t in ts] for axis, ts in sweeps.items()}}
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=1)
            file.write("\n")
        print(f"\nwrote {args.json}")
    return report


def _record(timing: Timing) -> dict:
    return {**asdict(timing), "median": timing.median}

