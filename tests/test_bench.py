"""The benchmark's counts and machinery: results only, never a timing."""

import json

import numpy as np
import pytest

from lstm_ref import LSTMParams, lstm_sequence, verify
from lstm_ref.bench import (CHECK_SIZE, SIZES, Contender, Size, bench_size, check, contenders,
                            elementwise_bytes, format_profile, format_table, matmul_flops,
                            matmul_lower_bound, problem, profile_fast, time_runs,
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
                        settle=0, rounds=2)
    # Round one: a warm-up and 3 timed calls of each; round two: a warm-up and 2.
    assert calls == ["a"] * 4 + ["b"] * 4 + ["a"] * 3 + ["b"] * 3
    assert [len(s) for s in seconds] == [5, 5] and all(t >= 0 for s in seconds for t in s)


def test_every_contender_is_checked_in_float64():
    errors = verify_contenders(contenders(eager=False))
    assert "lstm_ref fast" in errors and "Keras 3 LSTM, tf.function" in errors
    assert max(errors.values()) <= 1e-12
    assert CHECK_SIZE.D != CHECK_SIZE.H


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
