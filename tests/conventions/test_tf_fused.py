"""TensorFlow's fused kernels LSTMBlockCell, BlockLSTM, BlockLSTMV2: gate order and every output."""

import numpy as np
import pytest

from conftest import random_params, random_state
from lstm_ref import LSTMConfig, LSTMParams, verify
from lstm_ref.cell import step_values
from lstm_ref.conventions.tf_fused import GATE_ORDERS, block_outputs, from_block, to_block
from lstm_ref.frameworks.tensorflow import fused_gate_order, run_block_lstm, run_lstm_block_cell
from lstm_ref.sequence import lstm_sequence_values

N, T, D, H = 2, 5, 3, 4


def with_peepholes(rng, params):
    return LSTMParams(**params.arrays(),
                      **{f"p_{g}": rng.normal(scale=0.5, size=H).astype(params.dtype)
                         for g in "ifo"})


@pytest.mark.parametrize("op", tuple(GATE_ORDERS))
def test_gate_order_settled_by_execution(op):
    assert fused_gate_order(op) == GATE_ORDERS[op]


def test_the_documented_order_is_wrong_for_lstm_block_cell():
    """TF documents [i, f, ci, o]; the kernel uses [i, ci, f, o] (TF 1.x's i, j, f, o)."""
    assert fused_gate_order("LSTMBlockCell") != ("i", "f", "g", "o")


@pytest.mark.parametrize("forget_bias, cell_clip", [(1.0, 3.0), (0.0, None), (0.5, 0.7)])
def test_lstm_block_cell_every_output(rng, forget_bias, cell_clip):
    params = with_peepholes(rng, random_params(rng, D, H, np.float32))
    x = rng.normal(size=(N, D)).astype(np.float32)
    state = random_state(rng, N, H, np.float32)
    ours = block_outputs(step_values(x, state, params,
                                     LSTMConfig(forget_bias=forget_bias, cell_clip=cell_clip)))
    theirs = run_lstm_block_cell(x, state, params, forget_bias=forget_bias, cell_clip=cell_clip)
    verify.compare({name: (ours[name], theirs[name]) for name in ours},
                   against="tf.raw_ops.LSTMBlockCell")


@pytest.mark.parametrize("op", ("BlockLSTM", "BlockLSTMV2"))
@pytest.mark.parametrize("peepholes, cell_clip", [(False, None), (True, 0.8)])
def test_block_lstm_every_output_every_step(rng, op, peepholes, cell_clip):
    params = random_params(rng, D, H, np.float32)
    if peepholes:
        params = with_peepholes(rng, params)
    X = rng.normal(size=(N, T, D)).astype(np.float32)
    state = random_state(rng, N, H, np.float32)
    forget_bias = 1.0 if op == "BlockLSTM" else 0.0  # V2 adds none
    values = lstm_sequence_values(X, params, LSTMConfig(forget_bias=forget_bias,
                                                        cell_clip=cell_clip), state)
    ours = block_outputs(values)
    theirs = run_block_lstm(X, params, op=op, initial_state=state, forget_bias=forget_bias,
                            cell_clip=cell_clip)
    verify.compare({name: (ours[name], theirs[name]) for name in ours},
                   against=f"tf.raw_ops.{op}")


def test_no_float64_kernel(rng):
    params = random_params(rng, D, H, np.float64)
    with pytest.raises(Exception, match="half, float"):
        run_lstm_block_cell(np.zeros((N, D)), random_state(rng, N, H), params)


# ---------------------------------------------------------------------------
# The converter, NumPy only


@pytest.mark.parametrize("op", tuple(GATE_ORDERS))
def test_round_trip_is_exact(rng, op):
    params = with_peepholes(rng, random_params(rng, D, H, np.float32))
    back = from_block(*to_block(params, op), input_size=D, op=op)
    for name, array in params.arrays().items():
        np.testing.assert_array_equal(getattr(back, name), array)


def test_bad_input_is_named(rng):
    params = random_params(rng, D, H, np.float32)
    with pytest.raises(ValueError, match=r"op: expected one of"):
        to_block(params, "BlockLSTMV3")
    w, b, *_ = to_block(params)
    with pytest.raises(ValueError, match=r"w: expected shape \(D \+ H, 4H\) with D = input_size = 4"):
        from_block(w, b, input_size=4)
    projected = LSTMParams(W=np.zeros((D, 4 * H)), U=np.zeros((2, 4 * H)),
                           W_proj=np.zeros((H, 2)))
    with pytest.raises(ValueError, match=r"params.W_proj: LSTMBlockCell has no such weight"):
        to_block(projected)
