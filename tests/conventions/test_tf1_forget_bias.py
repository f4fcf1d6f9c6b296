"""The forget bias of TF 1.x cells: the gap it makes, and solving that gap for z_f."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstm_ref import verify
from lstm_ref.activations import sigmoid
from lstm_ref.cell import preactivations
from lstm_ref.conventions import tf1
from lstm_ref.frameworks.tensorflow import run_tf1_cell, tf1_cell
from lstm_ref.layout import split_gates
from lstm_ref.seeds import SEED_000

PRINTED_8_DECIMALS = 5e-9  # a value printed to 8 decimals is within half a unit of the 8th


def random_cell(rng, D, H, forget_bias, dtype=np.float64):
    cell = tf1.BasicLSTMCell(H, forget_bias=forget_bias)
    cell.set_weights([rng.normal(scale=0.5, size=(D + H, 4 * H)).astype(dtype),
                      rng.normal(scale=0.5, size=4 * H).astype(dtype)])
    return cell


@given(sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5),
                       st.integers(0, 2**32 - 1)),
       forget_bias=st.sampled_from([1.0, 0.5, 2.0]))
def test_gap_between_real_tf_cells_is_the_forget_bias_gap(sizes, forget_bias):
    """TF's cell with forget_bias minus TF's cell without it is eq-forget-gap."""
    N, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    with_bias = random_cell(rng, D, H, forget_bias)
    without = tf1.BasicLSTMCell(H, forget_bias=0.0)
    without.set_weights(with_bias.get_weights())
    x = rng.normal(size=(N, D))
    state = tf1.LSTMStateTuple(c=rng.normal(size=(N, H)), h=rng.normal(size=(N, H)))
    _, c_with = run_tf1_cell(tf1_cell(with_bias), x, state)
    _, c_without = run_tf1_cell(tf1_cell(without), x, state)
    _, z_f, _, _ = split_gates(preactivations(x, state.h, with_bias.params))
    verify.compare(
        {"c gap": (tf1.forget_bias_gap(z_f, state.c, forget_bias), c_with.c - c_without.c)},
        against="tf.compat.v1 BasicLSTMCell, forget_bias minus none")


@given(seed=st.integers(0, 2**32 - 1), forget_bias=st.sampled_from([1.0, 0.3, 3.0]))
def test_solver_recovers_z_f(seed, forget_bias):
    """One root is the z_f that made the gap, the other its mirror image about -b_F/2."""
    rng = np.random.default_rng(seed)
    offset = rng.uniform(0.2, 3.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    z_f = -forget_bias / 2 + offset  # well away from the double root at -b_F/2
    c_prev = rng.uniform(0.1, 2.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    gap = tf1.forget_bias_gap(z_f, c_prev, forget_bias)
    z_low, z_high = tf1.solve_forget_preactivation(gap, c_prev, forget_bias)
    recovered = np.where(offset > 0, z_high, z_low)
    mirrored = np.where(offset > 0, z_low, z_high)
    # A root near z = 3 sits where the gap is small and flat: 1e-10 covers the
    # conditioning there (the gap's slope is about 1e-2 of its size).
    verify.compare({"z_f": (recovered, z_f), "-b_F - z_f": (mirrored, -forget_bias - z_f)},
                   against="the z_f that made the gap", tolerance=1e-10)


def test_solver_at_the_largest_gap_has_one_double_root():
    d_max = np.tanh(1.0 / 4)
    z_low, z_high = tf1.solve_forget_preactivation(np.array([[0.5 * d_max]]),
                                                   np.array([[0.5]]))
    # At a double root an error e in d moves the roots by about sqrt(e): 1e-7 for
    # float64 rounding of d_max.
    verify.compare({"z_low": (z_low, np.array([[-0.5]])), "z_high": (z_high, np.array([[-0.5]]))},
                   against="the maximum of sigmoid(z + 1) - sigmoid(z)", tolerance=1e-7)


def test_seed_000_printed_numbers():
    """Output gates agree; the gap has roots; both printed c's come back."""
    s = SEED_000
    o_tf, o_manual = s.expected_h / np.tanh(s.expected_c), s.manual_h / np.tanh(s.manual_c)
    verify.compare({"o": (o_manual, o_tf)}, against="o implied by TF's printed h and c",
                   tolerance=1e-7)  # 8 printed decimals through h / tanh(c): ~6e-8 at worst
    z_low, z_high = tf1.solve_forget_preactivation(s.expected_c - s.manual_c, s.c,
                                                   s.forget_bias)
    verify.compare({"z_low + z_high": (z_low + z_high, np.full((1, 2), -s.forget_bias))},
                   against="the roots' symmetry about -b_F/2")
    for z_f in (z_low, z_high):
        w = s.manual_c - s.c * sigmoid(z_f)
        verify.compare({"c TF": (s.c * sigmoid(z_f + s.forget_bias) + w, s.expected_c)},
                       against="seed 000's printed c", tolerance=PRINTED_8_DECIMALS)


def test_without_forget_bias_is_the_seed_manual_cell():
    rng = np.random.default_rng(7)
    cell = random_cell(rng, 2, 2, forget_bias=0.0)
    kernel, bias = cell.get_weights()
    s = SEED_000
    arr = np.concatenate([s.x, s.h], axis=1) @ kernel + bias
    i, j, f, o = np.split(arr, 4, axis=1)
    new_c = s.c * sigmoid(f) + sigmoid(i) * np.tanh(j)
    _, state = cell(s.x, tf1.LSTMStateTuple(s.c, s.h))
    verify.compare({"c": (state.c, new_c), "h": (state.h, np.tanh(new_c) * sigmoid(o))},
                   against="seed 000's manual cell")


@pytest.mark.parametrize("delta_c, c_prev, forget_bias, message", [
    (np.array([[0.3]]), np.array([[1.0]]), 1.0, r"delta_c: expected delta_c / c_prev in "
                                                r"\(0, tanh\(forget_bias / 4\)\] = \(0, 0.244919\]"),
    (np.array([[-0.1]]), np.array([[1.0]]), 1.0, "no forget gate explains this gap"),
    (np.array([[0.1]]), np.array([[0.0]]), 1.0, "c_prev: expected no zero entries"),
    (np.array([[0.1]]), np.array([[1.0]]), 0.0, "forget_bias: expected a positive number"),
    (np.array([[0.1, 0.1]]), np.array([[1.0]]), 1.0,
     r"c_prev: expected shape \(N, H\) = \(1, 2\), got \(1, 1\)"),
    (np.array([[np.nan]]), np.array([[1.0]]), 1.0, "delta_c: contains nan"),
])
def test_solver_rejects_what_no_forget_gate_explains(delta_c, c_prev, forget_bias, message):
    with pytest.raises(ValueError, match=message):
        tf1.solve_forget_preactivation(delta_c, c_prev, forget_bias)


def test_gap_checks_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"c_prev: expected shape \(N, H\) = \(2, 3\), got \(3, 2\)"):
        tf1.forget_bias_gap(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="z_f: expected a floating-point array"):
        tf1.forget_bias_gap(np.zeros((2, 3), dtype=int), np.zeros((2, 3)))
