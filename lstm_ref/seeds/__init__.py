"""The data of the five seed notebooks the book grew from, and what they printed.

One place for these facts, shared by the book's chapters and the tests: each
seed's inputs and weights (replaying its random stream where it used one),
and the numbers it printed, exactly as printed, so that a chapter can show
them side by side with what ``lstm_ref`` computes.

Seed 000 and seed 004 drew their weights from unseeded random generators;
those weights cannot be recovered, and only the printed numbers are kept.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..conventions.per_gate import PerGateParams

__all__ = [
    "Seed000", "SEED_000", "Seed001", "SEED_001", "TFLayerNormTests", "TF_LAYER_NORM_TESTS",
    "Seed002", "SEED_002", "Seed003", "SEED_003", "SEED_003_PRINTED", "seed003_weights",
    "Seed004", "SEED_004"
]

# ---------------------------------------------------------------------------
# Seed 000: a manual BasicLSTMCell against tf.contrib.rnn.BasicLSTMCell


class Seed000(NamedTuple):
    """Inputs and printed results of seed 000 (TF's weights were random, unseeded)."""

    x: np.ndarray = np.array([[1.0, 1.0]])
    c: np.ndarray = np.array([[0.1, 0.1]])
    h: np.ndarray = np.array([[0.3, 0.5]])
    forget_bias: float = 1.0
    expected_c: np.ndarray = np.array([[-0.08290453, -0.21169293]])  # TensorFlow
    expected_h: np.ndarray = np.array([[-0.02955644, -0.0449947]])
    manual_c: np.ndarray = np.array([[-0.10680572, -0.23565682]])  # the manual cell
    manual_h: np.ndarray = np.array([[-0.03802023, -0.04991358]])


SEED_000 = Seed000()


# ---------------------------------------------------------------------------
# Seed 001: LayerNormBasicLSTMCell(layer_norm=False) by hand


class Seed001(NamedTuple):
    """Inputs (TF's published test case) and every number seed 001 printed."""

    x: np.ndarray = np.array([[1.0, 1.0, 1.0]])
    c: np.ndarray = 0.1 * np.array([[0.0, 1.0]])
    h: np.ndarray = 0.1 * np.array([[2.0, 3.0]])
    num_units: int = 2
    weight: float = 0.5  # every kernel and bias entry (constant_initializer(0.5))
    forget_bias: float = 1.0
    # The hand calculation, step by step (float64):
    args: np.ndarray = np.array([[1.0, 1.0, 1.0, 0.2, 0.3]])
    out: float = 1.75  # every column of args @ weights
    concat: float = 2.25  # ... plus the bias
    g: float = 0.97802611  # tanh(2.25)
    sigmoid_f: float = 0.96267311  # sigmoid(2.25 + forget_bias)
    sigmoid_i_g: float = 0.88477185  # sigmoid(2.25) * g
    new_c: np.ndarray = np.array([[0.88477185, 0.98103916]])
    new_h: np.ndarray = np.array([[0.64121796, 0.68166811]])
    # TensorFlow's result (float32), also TF's published expected values:
    tf_h: np.ndarray = np.array([[0.64121795, 0.68166804]])
    tf_c: np.ndarray = np.array([[0.88477188, 0.98103917]])


SEED_001 = Seed001()


class TFLayerNormTests(NamedTuple):
    """The expected values of TensorFlow's ``LayerNormBasicLSTMCellTest``.

    Float32 results printed to 8 decimals (the dropout values to 12), from
    ``tf.contrib.rnn``'s tests, for cells whose every kernel and bias entry
    is 0.5 (no bias with layer normalization). One cell reads seed 001's
    inputs (``SEED_001.x``, ``.c``, ``.h``); without layer normalization it
    gives ``SEED_001.tf_h`` and ``.tf_c``. Two cells in a ``MultiRNNCell``
    read x = (1, 1) from the states in ``stack_c`` and ``stack_h``.
    """

    # One cell, layer_norm=True:
    ln_h: np.ndarray = np.array([[-0.38079708, 0.38079708]])
    ln_c: np.ndarray = np.array([[-1.0, 1.0]])
    # The two-layer stack: the states each layer starts from, 0.1 * (0, 1)
    # and 0.1 * (2, 3) for the first, 0.1 * (4, 5) and 0.1 * (6, 7) for the second,
    stack_c: tuple = (0.1 * np.array([[0.0, 1.0]]), 0.1 * np.array([[4.0, 5.0]]))
    stack_h: tuple = (0.1 * np.array([[2.0, 3.0]]), 0.1 * np.array([[6.0, 7.0]]))
    # ... and each layer's new (h, c): with layer_norm=True,
    stack_ln_h: tuple = (np.array([[-0.38079708, 0.38079708]]),) * 2
    stack_ln_c: tuple = (np.array([[-1.0, 1.0]]),) * 2
    # ... and with layer_norm=False.
    stack_h_new: tuple = (np.array([[0.56668288, 0.60858738]]),
                          np.array([[0.70230919, 0.72581059]]))
    stack_c_new: tuple = (np.array([[0.8020075, 0.89599884]]),
                          np.array([[1.17500675, 1.26892781]]))
    # Recurrent dropout, keep_prob 0.5, all weights 1, x = c = h = 1 (5 units):
    # c and h of a unit whose candidate was kept, and of one that was dropped.
    dropout_c_high: float = 2.9998924946
    dropout_c_low: float = 0.999983298578
    dropout_h_high: float = 0.995008519604
    dropout_h_low: float = 0.761552567265


TF_LAYER_NORM_TESTS = TFLayerNormTests()


# ---------------------------------------------------------------------------
# Seed 002: the Keras LSTM layer walked through


class Seed002(NamedTuple):
    """The one-unit Keras example of seed 002 and its printed results (float32)."""

    x: float = 2.0
    kernel: np.ndarray = np.array([[0.0, 1.0, 4.0, 1.0]])
    recurrent_kernel: np.ndarray = np.array([[3.0, 2.0, -5.0, 4.0]])
    bias: np.ndarray = np.array([1.0, 2.0, 3.0, 2.0])
    c_t: float = 0.7310586
    h_t: float = 0.61249435


SEED_002 = Seed002()


# ---------------------------------------------------------------------------
# Seed 003: gates from the ground up, colah's notation


class Seed003(NamedTuple):
    """The two input batches of seed 003 and its sizes."""

    data_x1: np.ndarray = np.array(
        [[0.0, 1.0], [1, 0], [1, 1], [0, -1], [-1, 0], [-1, -1], [-1, -1]]
    )
    data_x2: np.ndarray = np.array(
        [[1.0, 0.0], [-1, 1], [0, -2], [2, 1], [1, -1], [2, 2], [1, 1]]
    )
    n_nodes: int = 3
    n_steps: int = 2
    random_seed: int = 666
    # How often each cell of the notebook that draws weights really ran: the
    # execution counters jump from In [12] to In [16] to In [20], and only
    # these repeat counts reproduce the printed arrays.
    runs_of_input_cell: int = 4  # In [13] ... In [16]: W_i, b_i, W_C, b_C drawn 4 times
    runs_of_output_cell: int = 3  # In [18] ... In [20]: W_o, b_o drawn 3 times


SEED_003 = Seed003()

# Seed 003's printed arrays, to the 8 decimals it printed (first example rows
# and full arrays where the seed printed them).
SEED_003_PRINTED = {
    "forget_gate1": np.array([
        [0.73197675, 0.47829704, 0.14818873], [0.72108162, 0.42521307, 0.39621623],
        [0.803063, 0.64600098, 0.19847554], [0.52329382, 0.13093712, 0.54991046],
        [0.53695366, 0.15733985, 0.24465725], [0.42369298, 0.0703666, 0.46189409],
        [0.42369298, 0.0703666, 0.46189409]]),
    "input_gate1": np.array([
        [0.37960833, 0.36042807, 0.46263574], [0.24426619, 0.31878066, 0.56593779],
        [0.20454467, 0.1720362, 0.54548179], [0.4915469, 0.74082486, 0.50399829],
        [0.64666322, 0.77489047, 0.40154326], [0.69701036, 0.8857472, 0.42160843],
        [0.69701036, 0.8857472, 0.42160843]]),
    "tanh_gate1": np.array([
        [0.04600799, 0.51793142, 0.52101879], [-0.71725169, 0.84304518, -0.05423635],
        [0.03103179, 0.76607325, 0.70943963], [-0.94883506, 0.76791217, -0.86248108],
        [-0.7023707, 0.34267455, -0.58558794], [-0.94731803, 0.52119215, -0.92334738],
        [-0.94731803, 0.52119215, -0.92334738]]),
    "lt_memory1": np.array([
        [0.01746501, 0.18667702, 0.24104191], [-0.17520034, 0.2687465, -0.0306944],
        [0.00634739, 0.13179233, 0.3869864], [-0.46639693, 0.56888843, -0.43468899],
        [-0.4541973, 0.26553524, -0.23513889], [-0.66029049, 0.46164449, -0.38929103],
        [-0.66029049, 0.46164449, -0.38929103]]),
    "output1": np.array([
        [0.0115965, 0.10223105, 0.15532237], [-0.05044544, 0.08215761, -0.01627125],
        [0.00313256, 0.06458154, 0.22006581], [-0.11290898, 0.11036491, -0.21560403],
        [-0.26709437, 0.11071561, -0.15094074], [-0.24031168, 0.11161061, -0.21879666],
        [-0.24031168, 0.11161061, -0.21879666]]),
}


def seed003_weights(
    runs_of_input_cell: int = SEED_003.runs_of_input_cell,
    runs_of_output_cell: int = SEED_003.runs_of_output_cell,
) -> PerGateParams:
    """Seed 003's per-gate weights, replaying the random stream it consumed.

    After ``np.random.seed(666)`` the notebook draws ``W_f`` (5, 3) and ``b_f``
    (3,), then every run of its input-gate cell draws ``W_i, b_i, W_C, b_C``
    and every run of its output cell ``W_o, b_o``, each as
    ``2 * np.random.rand(...) - 1``. Only the last draw of each cell is used.
    With the default run counts the printed arrays are reproduced; pass 1 and
    1 for the stream a single top-to-bottom run would consume.
    """
    D, H = SEED_003.data_x1.shape[1], SEED_003.n_nodes
    stream = np.random.RandomState(SEED_003.random_seed)  # same stream as np.random.seed

    def uniform(*shape):
        return 2 * stream.rand(*shape) - 1

    W_f, b_f = uniform(D + H, H), uniform(H)
    for _ in range(runs_of_input_cell):
        W_i, b_i, W_C, b_C = uniform(D + H, H), uniform(H), uniform(D + H, H), uniform(H)
    for _ in range(runs_of_output_cell):
        W_o, b_o = uniform(D + H, H), uniform(H)
    return PerGateParams(W_f=W_f, b_f=b_f, W_i=W_i, b_i=b_i, W_C=W_C, b_C=b_C, W_o=W_o, b_o=b_o)


# ---------------------------------------------------------------------------
# Seed 004: the "build an LSTM cell" exercise


class Seed004(NamedTuple):
    """Sizes of the seed-004 exercise and the one input it printed.

    ``x`` came from an unseeded ``np.random.random([1, 7])``: it is data here,
    not something that can be recomputed.
    """

    n_features: int = 7
    n_hidden: int = 5
    n_output: int = 3
    x: np.ndarray = np.array(
        [[0.9187018, 0.33828914, 0.31343234, 0.59327048, 0.01080375, 0.6280915, 0.39356742]]
    )


SEED_004 = Seed004()
