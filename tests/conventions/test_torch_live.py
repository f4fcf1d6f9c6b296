"""lstm_ref against the real torch.nn.LSTM and nn.LSTMCell: every option, both dtypes,
packed batches and torch.autograd."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_ref import verify
from lstm_ref.conventions.torch import LSTM, from_state_dict, state_dict_names, to_torch

torch_live = pytest.importorskip("lstm_ref.frameworks.torch")
torch = torch_live.torch

# (num_layers, bidirectional, proj_size, bias, batch_first), drawn with the sizes.
OPTIONS = st.tuples(st.integers(1, 3), st.booleans(), st.integers(0, 3), st.booleans(),
                    st.booleans())
SIZES = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 4), st.integers(4, 6),
                  st.integers(0, 2**32 - 1))


def real_lstm(options, D, H, dtype, seed):
    """A real nn.LSTM with PyTorch's own random initial weights."""
    num_layers, bidirectional, proj_size, bias, batch_first = options
    torch.manual_seed(seed % 2**31)
    return torch.nn.LSTM(D, H, num_layers=num_layers, bias=bias, batch_first=batch_first,
                         bidirectional=bidirectional, proj_size=proj_size,
                         dtype=getattr(torch, np.dtype(dtype).name)).eval()


def mirror_of(lstm):
    mirror = LSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bias,
                  lstm.batch_first, lstm.bidirectional, lstm.proj_size)
    mirror.load_state_dict(torch_live.state_dict_numpy(lstm))
    return mirror


def random_problem(lstm, N, T, dtype, rng, initial_state=True):
    D, H = lstm.input_size, lstm.hidden_size
    P = lstm.proj_size or H
    X = rng.normal(size=(N, T, D) if lstm.batch_first else (T, N, D)).astype(dtype)
    rows = lstm.num_layers * (2 if lstm.bidirectional else 1)
    hx = (rng.normal(size=(rows, N, P)).astype(dtype),
          rng.normal(size=(rows, N, H)).astype(dtype)) if initial_state else None
    return X, hx


def against(lstm) -> str:
    return (f"torch.nn.LSTM(num_layers={lstm.num_layers}, bidirectional={lstm.bidirectional}, "
            f"proj_size={lstm.proj_size}, bias={lstm.bias}, batch_first={lstm.batch_first})")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=8)
@given(options=OPTIONS, sizes=SIZES, initial_state=st.booleans())
def test_mirror_returns_what_nn_lstm_returns(options, sizes, initial_state, dtype):
    N, T, D, H, seed = sizes
    lstm = real_lstm(options, D, H, dtype, seed)
    X, hx = random_problem(lstm, N, T, dtype, np.random.default_rng(seed), initial_state)
    output, (h_n, c_n) = torch_live.run_torch_lstm(lstm, X, hx)
    ours, (h_ours, c_ours) = mirror_of(lstm)(X, hx)
    verify.compare({"output": (ours, output), "h_n": (h_ours, h_n), "c_n": (c_ours, c_n)},
                   against=against(lstm))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@settings(max_examples=5)
@given(options=OPTIONS, sizes=SIZES)
def test_packed_batches(options, sizes, enforce_sorted, dtype):
    N, T, D, H, seed = sizes
    lstm = real_lstm(options, D, H, dtype, seed)
    rng = np.random.default_rng(seed)
    X, hx = random_problem(lstm, N, T, dtype, rng)
    lengths = rng.integers(1, T + 1, size=N)
    if enforce_sorted:
        lengths = np.sort(lengths)[::-1].copy()
    output, (h_n, c_n) = torch_live.run_torch_lstm(lstm, X, hx, lengths, enforce_sorted)
    ours, (h_ours, c_ours) = mirror_of(lstm)(X, hx, lengths=lengths)
    verify.compare({"output": (ours, output), "h_n": (h_ours, h_n), "c_n": (c_ours, c_n)},
                   against=against(lstm) + " on a packed batch")


@pytest.mark.parametrize("num_layers, bidirectional, proj_size, bias", [
    (1, False, 0, True), (2, True, 0, True), (2, True, 2, False), (3, False, 3, True)])
def test_state_dict_names_and_shapes_are_pytorchs(num_layers, bidirectional, proj_size, bias):
    lstm = torch.nn.LSTM(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                         proj_size=proj_size, bias=bias)
    state = torch_live.state_dict_numpy(lstm)
    assert list(state) == state_dict_names(num_layers, bidirectional, bias, proj_size)
    assert [n for n, _ in lstm.named_parameters()] == list(state)
    layers = from_state_dict(state)
    rebuilt = torch_live.state_dict_numpy(torch_live.torch_lstm(layers))
    assert {n: a.shape for n, a in rebuilt.items()} == {n: a.shape for n, a in state.items()}
    back = torch_live.params_of(torch_live.torch_lstm(layers))
    verify.compare({f"layers[{k}][{d}].{name}": (getattr(back[k][d], name), array)
                    for k, directions in enumerate(layers) for d, p in enumerate(directions)
                    for name, array in p.arrays().items()},
                   against="nn.LSTM's weights, read back", tolerance=0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_cell(dtype, rng):
    cell = torch.nn.LSTMCell(3, 5, dtype=getattr(torch, np.dtype(dtype).name))
    params = torch_live.params_of(cell)[0][0]
    x, h, c = (rng.normal(size=(4, n)).astype(dtype) for n in (3, 5, 5))
    h_t, c_t = torch_live.run_torch_cell(cell, x, (h, c))
    from lstm_ref.conventions.torch import LSTMCell
    mirror = LSTMCell(3, 5)
    mirror.load_state_dict(torch_live.state_dict_numpy(cell))
    h_ours, c_ours = mirror(x, (h, c))
    rebuilt = torch_live.torch_lstm_cell(params)
    verify.compare({"h'": (h_ours, h_t), "c'": (c_ours, c_t),
                    "h' (rebuilt cell)": (h_ours, torch_live.run_torch_cell(rebuilt, x, (h, c))[0])},
                   against="torch.nn.LSTMCell")
    assert len(to_torch(params)) == 4


@settings(max_examples=6)
@given(options=OPTIONS, sizes=SIZES)
def test_bptt_matches_autograd(options, sizes):
    N, T, D, H, seed = sizes
    lstm = real_lstm(options, D, H, np.float64, seed)
    rng = np.random.default_rng(seed)
    X, hx = random_problem(lstm, N, T, np.float64, rng)
    output, (h_n, c_n) = torch_live.run_torch_lstm(lstm, X, hx)
    d_output = rng.normal(size=output.shape)
    d_hn = (rng.normal(size=h_n.shape), rng.normal(size=c_n.shape))
    theirs = torch_live.autograd_gradients(lstm, X, d_output, hx, d_hn)
    ours = mirror_of(lstm).gradients(X, d_output, hx, d_hn)
    assert ours.keys() == theirs.keys()
    verify.compare({f"d {name}": (ours[name], theirs[name]) for name in ours},
                   against=against(lstm) + ", torch.autograd")
