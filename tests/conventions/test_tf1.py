"""TF 1.x cells: lstm_ref's mirrors against the real tf.compat.v1.nn.rnn_cell objects."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import random_params
from lstm_ref import LSTMState, lstm_sequence, verify
from lstm_ref.conventions import tf1
from lstm_ref.frameworks.tensorflow import run_tf1_cell, tf1_cell

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}
DTYPES = [np.float64, np.float32]


def random_weights(cell, D, rng, dtype, scale=0.5):
    """Random arrays for every variable of a mirror cell, by TF's shapes."""
    H, P = cell.num_units, cell.output_size
    shapes = {"kernel": (D + P, 4 * H), "bias": (4 * H,), "w_f_diag": (H,), "w_i_diag": (H,),
              "w_o_diag": (H,), "projection/kernel": (H, P)}
    return [rng.normal(scale=scale, size=shapes[n]).astype(dtype) for n in cell.weight_names()]


def random_state(cell, N, rng, dtype):
    H, P = cell.num_units, cell.output_size
    return tf1.LSTMStateTuple(c=rng.normal(size=(N, H)).astype(dtype),
                              h=rng.normal(size=(N, P)).astype(dtype))


def check_step(cell, x, state, dtype):
    output, new_state = cell(x, state)
    output_tf, new_state_tf = run_tf1_cell(tf1_cell(cell), x, state)
    pairs = {"output": (output, output_tf)}
    if isinstance(new_state, tf1.LSTMStateTuple):
        pairs.update({"c": (new_state.c, new_state_tf.c), "h": (new_state.h, new_state_tf.h)})
    else:
        pairs["state"] = (new_state, new_state_tf)
    return verify.compare(pairs, against=f"tf.compat.v1 {type(cell).__name__}",
                          tolerance=TOLERANCE[dtype])


sizes = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6),
                  st.integers(0, 2**32 - 1))


@pytest.mark.parametrize("dtype", DTYPES)
@given(sizes=sizes, forget_bias=st.sampled_from([0.0, 1.0, 0.37]),
       activation=st.sampled_from(["tanh", "relu", "softsign"]))
def test_basic_lstm_cell(dtype, sizes, forget_bias, activation):
    N, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    cell = tf1.BasicLSTMCell(H, forget_bias=forget_bias, activation=activation)
    cell.set_weights(random_weights(cell, D, rng, dtype))
    x = rng.normal(size=(N, D)).astype(dtype)
    check_step(cell, x, random_state(cell, N, rng, dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@given(sizes=sizes, use_peepholes=st.booleans(),
       num_proj=st.one_of(st.none(), st.integers(1, 5)),
       cell_clip=st.sampled_from([None, 0.3, 2.0]), proj_clip=st.sampled_from([None, 0.2, 5.0]),
       forget_bias=st.sampled_from([0.0, 1.0]))
def test_lstm_cell(dtype, sizes, use_peepholes, num_proj, cell_clip, proj_clip, forget_bias):
    N, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    cell = tf1.LSTMCell(H, use_peepholes=use_peepholes, cell_clip=cell_clip, num_proj=num_proj,
                        proj_clip=proj_clip, forget_bias=forget_bias)
    cell.set_weights(random_weights(cell, D, rng, dtype, scale=1.0))
    x = rng.normal(scale=2.0, size=(N, D)).astype(dtype)
    check_step(cell, x, random_state(cell, N, rng, dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_concatenated_state(dtype, rng):
    for cell in (tf1.BasicLSTMCell(3, state_is_tuple=False),
                 tf1.LSTMCell(3, num_proj=2, use_peepholes=True, state_is_tuple=False)):
        cell.set_weights(random_weights(cell, 4, rng, dtype))
        state = np.concatenate(random_state(cell, 2, rng, dtype), axis=1)  # [c, h]
        check_step(cell, rng.normal(size=(2, 4)).astype(dtype), state, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multi_rnn_cell(dtype, rng):
    cells = [tf1.BasicLSTMCell(4), tf1.LSTMCell(3, use_peepholes=True, num_proj=2),
             tf1.LSTMCell(5, cell_clip=0.5)]
    D = 3
    for cell in cells:
        cell.set_weights(random_weights(cell, D, rng, dtype))
        D = cell.output_size
    multi = tf1.MultiRNNCell(cells)
    x = rng.normal(size=(2, 3)).astype(dtype)
    state = tuple(random_state(cell, 2, rng, dtype) for cell in cells)
    output, new_state = multi(x, state)
    output_tf, new_state_tf = run_tf1_cell(tf1_cell(multi), x, state)
    pairs = {"output": (output, output_tf)}
    for k, (ours, theirs) in enumerate(zip(new_state, new_state_tf)):
        pairs[f"layer {k} c"] = (ours.c, theirs.c)
        pairs[f"layer {k} h"] = (ours.h, theirs.h)
    verify.compare(pairs, against="tf.compat.v1 MultiRNNCell", tolerance=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_long_sequence_through_lstm_cell(dtype, rng):
    """100 steps of LSTMCell with every option: lstm_sequence against TF stepped in a loop."""
    N, T, D, H, P = 3, 100, 4, 6, 3
    cell = tf1.LSTMCell(H, use_peepholes=True, cell_clip=3.0, num_proj=P, proj_clip=2.0)
    cell.set_weights(random_weights(cell, D, rng, dtype))
    X = rng.normal(size=(N, T, D)).astype(dtype)
    state = random_state(cell, N, rng, dtype)
    real = tf1_cell(cell)
    outputs_tf, state_tf = [], state
    for t in range(T):
        output, state_tf = run_tf1_cell(real, X[:, t], state_tf)
        outputs_tf.append(output)
    outputs, final = lstm_sequence(X, cell.params, cell.config, LSTMState(h=state.h, c=state.c))
    verify.compare({"outputs": (outputs, np.stack(outputs_tf, axis=1)), "c_T": (final.c, state_tf.c),
                    "h_T": (final.h, state_tf.h)},
                   against="tf.compat.v1 LSTMCell, 100 steps", tolerance=TOLERANCE[dtype])


def test_weights_round_trip_exactly(rng):
    cell = tf1.LSTMCell(4, use_peepholes=True, num_proj=3)
    weights = random_weights(cell, 5, rng, np.float64)
    cell.set_weights(weights)
    assert all(np.array_equal(a, b) for a, b in zip(cell.get_weights(), weights))
    params = tf1.from_tf1(weights[0], weights[1], w_f_diag=weights[2], w_i_diag=weights[3],
                          w_o_diag=weights[4], projection_kernel=weights[5])
    back = tf1.to_tf1(params)
    assert np.array_equal(back["kernel"], weights[0]) and np.array_equal(back["bias"], weights[1])


def test_gate_blocks_are_reordered(rng):
    """TF's blocks i, j, f, o become i, f, g, o: the f block moves in front of j."""
    kernel = np.repeat(np.arange(4.0), 2)[None, :].repeat(3, axis=0)  # blocks 0, 1, 2, 3
    params = tf1.from_tf1(kernel, np.repeat(np.arange(4.0), 2))
    assert params.W[0].tolist() == [0, 0, 2, 2, 1, 1, 3, 3]
    assert params.b.tolist() == [0, 0, 2, 2, 1, 1, 3, 3]


def test_kernel_rows_must_exceed_output_size():
    with pytest.raises(ValueError, match=r"kernel: expected shape \(D \+ P, 4H\)"):
        tf1.from_tf1(np.zeros((2, 8)), np.zeros(8))


def test_wrong_number_of_weights():
    cell = tf1.LSTMCell(2, use_peepholes=True)
    with pytest.raises(ValueError, match=r"weights: expected 5 arrays \(kernel, bias, w_f_diag"):
        cell.set_weights([np.zeros((4, 8)), np.zeros(8)])


def test_weights_must_match_num_units():
    cell = tf1.BasicLSTMCell(3)
    with pytest.raises(ValueError, match="kernel: expected 4 \\* num_units = 12 columns, got 8"):
        cell.set_weights([np.zeros((4, 8)), np.zeros(8)])


# ---------------------------------------------------------------------------
# Wrong input: a clear error naming TF's own argument


def test_projection_kernel_must_match_num_proj(rng):
    """A projection kernel for num_proj=2 is refused by a cell made with num_proj=3."""
    cell = tf1.LSTMCell(2, num_proj=3)
    weights = [rng.normal(size=(3 + 2, 8)), rng.normal(size=8), rng.normal(size=(2, 2))]
    with pytest.raises(ValueError, match=r"^projection/kernel: expected shape \(H, P\) = \(2, 3\) "
                                         r"for num_proj=3, got \(2, 2\)$"):
        cell.set_weights(weights)
    assert cell.params is None
    cell.set_weights([rng.normal(size=(3 + 3, 8)), rng.normal(size=8), rng.normal(size=(2, 3))])
    h, state = cell(rng.normal(size=(4, 3)), cell.zero_state(4, np.float64))
    assert h.shape == (4, cell.output_size) == (4, 3)


def test_lists_are_accepted_as_weights(rng):
    params = random_params(rng, 3, 2)
    variables = tf1.to_tf1(params)
    as_lists = tf1.from_tf1(variables["kernel"].tolist(), variables["bias"].tolist())
    verify.compare({"W": (as_lists.W, params.W), "b": (as_lists.b, params.b)},
                   against="the converted arrays", tolerance=0.0)
    cell = tf1.BasicLSTMCell(2)
    cell.set_weights([variables["kernel"].tolist(), list(variables["bias"])])
    verify.compare({"U": (cell.params.U, params.U)}, against="the converted arrays",
                   tolerance=0.0)


@pytest.mark.parametrize("name, value, message", [
    ("bias", np.zeros(7), r"^bias: expected shape \(4H,\) = \(8,\), got \(7,\)$"),
    ("bias", np.zeros(8, np.float32), r"^bias: expected dtype float64 \(the dtype of kernel\)"),
    ("bias", [0.0] * 7 + [np.nan], r"^bias: contains nan at index \(7,\)"),
    ("w_i_diag", np.zeros(3), r"^w_i_diag: expected shape \(H,\) = \(2,\), got \(3,\)$"),
    ("w_o_diag", np.zeros(2, np.int64), r"^w_o_diag: expected a floating-point array"),
])
def test_wrong_variables_are_named_by_tf(name, value, message, rng):
    kernel = rng.normal(size=(5, 8))
    args = {"bias": rng.normal(size=8), "w_i_diag": None, "w_o_diag": None, name: value}
    bias = args.pop("bias")
    with pytest.raises((ValueError, TypeError), match=message):
        tf1.from_tf1(kernel, bias, **args)


def test_other_wrong_types_are_named(rng):
    with pytest.raises(TypeError, match=r"^params: expected LSTMParams, got list$"):
        tf1.to_tf1([rng.normal(size=(5, 8))])
    with pytest.raises(ValueError, match=r"^variables: expected a dict .* 'kernel', got \['bias'\]$"):
        tf1.from_tf1_variables({"bias": np.zeros(8)})
    with pytest.raises(TypeError, match=r"^cells\[1\]: expected a cell .*got int$"):
        tf1.MultiRNNCell([tf1.BasicLSTMCell(2), 2])
    for units in (True, 2.0, 0):
        with pytest.raises(ValueError, match=r"^num_units: expected a positive integer"):
            tf1.BasicLSTMCell(units)


@pytest.mark.parametrize("z_f, c_prev, forget_bias, name", [
    ([np.nan], [1.0], 1.0, "z_f"), ([0.5], [np.inf], 1.0, "c_prev"), ([0.5], [1.0], np.nan, "forget_bias"),
])
def test_forget_bias_gap_refuses_non_finite_values(z_f, c_prev, forget_bias, name):
    with pytest.raises(ValueError, match=rf"^{name}: contains"):
        tf1.forget_bias_gap(np.array([z_f]), np.array([c_prev]), forget_bias)
