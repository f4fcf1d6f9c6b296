"""The benchmark's counts and machinery: results only, never a timing."""

import json

import numpy as np
import pytest

from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.bench.benchmark import (BACKWARD, CHECK_SIZE, FORWARD, JAX_NAME, ONNXRUNTIME,
                                      SIZES, Contender, Size, backward_matmul_flops,
                                      bench_size, check, contenders, elementwise_bytes,
                                      format_profile, format_profile_backward, format_table,
                                      loss_gradients, matmul_flops, matmul_lower_bound,
                                      matmul_lower_bound_backward, problem, profile_backward,
                                      profile_fast, reference_answer, time_runs,
                                      verify_contenders)
from lstm_ref.cell import preactivations
from lstm_ref.fast import FastLSTM


def product_flops(a_shape, b_shape):
    """An (m, k) by (k, n) product: m n dot products of length k, k multiplies and k adds each."""
    (m, k), (k2, n) = a_shape, b_shape
    assert k == k2
    return m * n * (k + k)


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (1, 50, 32, 32), (3, 7, 5, 2),
                                        (64, 200, 512, 512)])
def test_flops_count_every_product_of_every_step(N, T, D, H):
    flops = matmul_flops(N, T, D, H)
    input_products = sum(product_flops((N, D), (D, 4 * H)) for _ in range(T))
    recurrent_products = sum(product_flops((N, H), (H, 4 * H)) for _ in range(T))
    assert flops == {"input": input_products, "recurrent": recurrent_products,
                     "total": input_products + recurrent_products}
    assert flops["input"] == 8 * N * T * D * H and flops["recurrent"] == 8 * N * T * H * H


def test_flops_of_one_big_product_equal_those_of_the_per_step_products():
    N, T, D, H = 4, 9, 3, 5
    assert product_flops((N * T, D), (D, 4 * H)) == matmul_flops(N, T, D, H)["input"]


@pytest.mark.parametrize("itemsize", [4, 8])
def test_elementwise_bytes_count_what_a_step_reads_and_writes(itemsize, rng):
    N, T, H = 3, 4, 5
    # What one step of the cell reads and writes, by array: the two products
    # (N, 4H), c_{t-1} (N, H); c_t and h_t (N, H).
    step = [np.empty((N, 4 * H)), np.empty((N, 4 * H)), np.empty((N, H)),
            np.empty((N, H)), np.empty((N, H))]
    per_step = sum(a.size for a in step) * itemsize
    assert elementwise_bytes(N, T, H, itemsize) == T * per_step


def test_problem_has_the_sizes_and_dtype():
    X, params = problem(Size(N=2, T=3, D=4, H=5), np.float32)
    assert X.shape == (2, 3, 4) and X.dtype == np.float32
    assert (params.input_size, params.hidden_size, params.dtype) == (4, 5, np.float32)
    assert SIZES["medium"] == Size(32, 100, 128, 128)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lower_bound_multiplies_what_the_lstm_multiplies(dtype):
    X, params = problem(Size(N=3, T=6, D=4, H=5), dtype, seed=2)
    outputs = lstm_sequence(X, params)[0]
    fast = FastLSTM(params)
    Z_x, z = matmul_lower_bound(fast, X, outputs)
    z_T = fast.to_canonical(Z_x[:, -1] + z)
    expected = preactivations(X[:, -1], outputs[:, -2], params)
    verify.compare({"z_T": (z_T, expected)}, against="lstm_ref.cell.preactivations")


def test_time_runs_in_rounds_each_after_a_warm_up():
    calls = []
    seconds = time_runs([lambda: calls.append("a"), lambda: calls.append("b")], repeats=5,
                        settle=0, rounds=2, warm_up=0, min_sample=0)
    # Round one: a warm-up and 3 timed calls of each; round two: a warm-up and 2.
    assert calls == ["a"] * 4 + ["b"] * 4 + ["a"] * 3 + ["b"] * 3
    assert [len(s) for s in seconds] == [5, 5] and all(t >= 0 for s in seconds for t in s)


def test_a_sample_of_quick_calls_is_the_mean_of_many():
    calls = []
    seconds = time_runs([lambda: calls.append(None)], repeats=3, settle=0, rounds=1,
                        warm_up=0.005, min_sample=0.005)
    # A list append takes well under a microsecond: thousands of calls in the
    # warm-up and in each sample, and three samples of the time per call.
    assert len(seconds[0]) == 3 and all(t > 0 for t in seconds[0])
    assert len(calls) > 1000


def test_every_contender_is_checked_in_float64():
    candidates = contenders(eager=False)
    errors = verify_contenders(candidates)
    assert "lstm_ref fast" in errors and "Keras 3 LSTM, tf.function" in errors
    assert "PyTorch nn.LSTM" in errors and JAX_NAME in errors
    assert max(errors[c.name] for c in candidates if c.float64) <= 1e-12
    assert CHECK_SIZE.D != CHECK_SIZE.H


def test_onnxruntime_is_checked_in_float32_and_forward_only():
    """ONNX Runtime's CPU LSTM kernel has no float64 and computes no gradients."""
    (onnx_contender,) = [c for c in contenders(eager=False) if c.name == ONNXRUNTIME]
    assert not onnx_contender.float64
    assert verify_contenders([onnx_contender])[ONNXRUNTIME] <= 1e-6
    assert ONNXRUNTIME not in [c.name for c in contenders(eager=False, mode=BACKWARD)]


@pytest.fixture
def unrecorded():
    """Keep the comparisons this test fails on purpose out of the run's summary."""
    import conftest

    start = len(conftest._COMPARISONS)
    yield
    del conftest._COMPARISONS[start:]


def test_a_wrong_answer_is_refused_before_timing(unrecorded):
    def wrong(X, params, outputs):
        return lambda: lstm_sequence(X, LSTMParams(W=params.W, U=params.U))[0], np.asarray

    timed = []

    def never_timed(X, params, outputs):
        def run():
            timed.append(True)
        return run, lambda answer: outputs

    X, params = problem(Size(2, 4, 3, 2), np.float64)
    outputs = lstm_sequence(X, params)[0]
    for name, framework in (("lstm_ref wrong", False), ("some framework", True)):
        contender = Contender(name, framework, wrong)
        with pytest.raises(verify.VerificationError, match="disagrees"):
            check(contender, *wrong(X, params, outputs), X, params, outputs)
    candidates = [Contender("matmul lower bound", False, never_timed),
                  Contender("lstm_ref wrong", False, wrong)]
    with pytest.raises(verify.VerificationError):
        bench_size("tiny", Size(2, 4, 3, 2), candidates, repeats=5, settle=0)
    assert len(timed) == 1  # the lower bound's check ran it; nothing was timed


def test_bench_size_fills_in_ratios_and_records():
    timings = bench_size("tiny", Size(2, 5, 3, 4), contenders(eager=False), repeats=5,
                         settle=0)
    names = [t.implementation for t in timings]
    assert names[:4] == ["lstm_ref readable", "lstm_ref fast", "matmul lower bound",
                         "Keras 3 LSTM, tf.function"]
    bound = timings[2]
    assert bound.ratio_to_lower_bound == 1.0
    assert min(t.ratio_to_fastest_framework for t in timings[3:]) == 1.0
    assert all(len(t.seconds) == 5 and t.max_abs_error <= 1e-5 for t in timings)
    json.dumps([vars(t) for t in timings])  # plain numbers and strings only
    table = format_table("tiny", Size(2, 5, 3, 4), timings)
    assert "lstm_ref fast" in table and "x lower bound" in table


def test_profile_of_the_fast_path_has_its_parts():
    size = Size(2, 6, 3, 4)
    profile = profile_fast(size, repeats=5, settle=0)
    assert set(profile) == {"fast", "prepare", "lower_bound", "input_projection",
                            "input_projection_per_step", "numpy_call"}
    assert "elementwise work and loop" in format_profile("tiny", size, profile)


# ---------------------------------------------------------------------------
# Forward and backward


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (1, 50, 32, 32), (3, 7, 5, 2),
                                        (64, 200, 512, 512)])
def test_backward_flops_count_every_product_of_every_step(N, T, D, H):
    flops = backward_matmul_flops(N, T, D, H)
    recurrent = sum(product_flops((N, 4 * H), (4 * H, H)) for _ in range(T))  # d_z_t U^T
    inputs = product_flops((N * T, 4 * H), (4 * H, D))  # d_Z W^T
    weights = (product_flops((D, N * T), (N * T, 4 * H))  # X^T d_Z
               + product_flops((H, N * T), (N * T, 4 * H)))  # H_prev^T d_Z
    assert flops == {"recurrent": recurrent, "inputs": inputs, "weights": weights,
                     "total": recurrent + inputs + weights}
    assert flops["total"] == 16 * N * T * (D + H) * H == 2 * matmul_flops(N, T, D, H)["total"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lower_bound_backward_multiplies_what_backpropagation_multiplies(dtype):
    """Given the backward pass's d_Z, its multiplies are the gradients."""
    X, params = problem(Size(N=3, T=6, D=4, H=5), dtype, seed=2)
    fast = FastLSTM(params)
    outputs, _, cache = fast.forward(X)
    d_Z = fast.preactivation_grads(np.ones_like(outputs), cache).d_Z
    answer = dict(zip(("d_X", "d_W", "d_U", "d_b"),
                      matmul_lower_bound_backward(fast, X, cache, d_Z)))
    reference = loss_gradients(X, params)
    verify.compare({name: (answer[name], reference[name]) for name in reference},
                   against="lstm_ref.grad.backward",
                   tolerance=1e-12 if dtype == np.float64 else 1e-5)


def test_every_backward_contender_is_checked_in_float64():
    candidates = contenders(eager=False, mode=BACKWARD)
    assert {c.mode for c in candidates} == {BACKWARD}
    errors = verify_contenders(candidates)
    assert "lstm_ref fast" in errors and "Keras 3 LSTM, tf.function" in errors
    assert JAX_NAME in errors
    assert max(errors.values()) <= 1e-12
    with pytest.raises(ValueError, match=r"^mode: expected 'forward' or 'forward\+backward'"):
        contenders(mode="backward")


def test_reference_answers():
    X, params = problem(Size(2, 3, 4, 5), np.float64)
    outputs = reference_answer(X, params, FORWARD)
    assert outputs.shape == (2, 3, 5)
    grads = reference_answer(X, params, BACKWARD)
    assert {k: v.shape for k, v in grads.items()} == {
        "d_X": (2, 3, 4), "d_W": (4, 20), "d_U": (5, 20), "d_b": (20,)}


def test_a_wrong_gradient_is_refused_before_timing(unrecorded):
    def wrong(X, params, reference):
        def result(answer):
            return {**reference, "d_U": reference["d_U"] * 1.01}
        return lambda: None, result

    X, params = problem(Size(2, 4, 3, 2), np.float32)
    reference = reference_answer(X, params, BACKWARD)
    for framework in (False, True):
        contender = Contender("wrong", framework, wrong, BACKWARD)
        with pytest.raises(verify.VerificationError, match="d_U"):
            check(contender, *wrong(X, params, reference), X, params, reference, 1e-5)


def test_bench_size_backward_fills_in_ratios_and_records():
    size = Size(2, 5, 3, 4)
    timings = bench_size("tiny", size, contenders(eager=False, mode=BACKWARD), repeats=5,
                         settle=0)
    assert all(t.mode == BACKWARD for t in timings)
    assert timings[2].implementation == "matmul lower bound"
    assert timings[2].ratio_to_lower_bound == 1.0
    assert all(t.max_rel_error <= 1e-5 for t in timings)
    json.dumps([vars(t) for t in timings])
    table = format_table("tiny", size, timings)
    flops = matmul_flops(*size)["total"] + backward_matmul_flops(*size)["total"]
    assert "forward+backward" in table and f"{flops / 1e9:.3g} GFLOP" in table


def test_profile_of_the_backward_pass_has_its_parts():
    size = Size(2, 6, 3, 4)
    profile = profile_backward(size, repeats=5, settle=0)
    assert set(profile) == {"total", "forward", "forward_only", "forward_multiplies", "loop",
                            "recurrent_grads", "weight_grads", "input_grads",
                            "total_fresh_memory"}
    assert "backward loop" in format_profile_backward("tiny", size, profile)


@pytest.mark.parametrize("mode", [FORWARD, BACKWARD])
@pytest.mark.parametrize("bias", [True, False])
def test_jax_contender_agrees_in_float32(mode, bias):
    """The JAX scan's float32 answer, checked as the benchmark checks it before timing."""
    X, params = problem(Size(2, 6, 3, 4), np.float32, seed=3)
    if not bias:
        params = LSTMParams(W=params.W, U=params.U)
    jax_contender = next(c for c in contenders(eager=False, mode=mode) if c.name == JAX_NAME)
    reference = reference_answer(X, params, mode)
    run, result = jax_contender.prepare(X, params, reference)
    max_abs, _ = check(jax_contender, run, result, X, params, reference, 1e-5)
    assert max_abs <= 1e-5
