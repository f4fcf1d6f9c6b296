"""PyTorch, behind one door: the only module of lstm_ref that imports ``torch``.

The helpers build ``torch.nn.LSTM`` and ``torch.nn.LSTMCell`` from canonical
:class:`lstm_ref.LSTMParams` (through :mod:`lstm_ref.conventions.torch`),
run them on NumPy inputs and return NumPy arrays, in the weights' dtype
(float64 runs in float64: PyTorch computes in double on the CPU).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Optional, Sequence

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..conventions.torch import (from_state_dict, from_torch, to_state_dict, to_torch,
                                 torch_options)
from ..params import LSTMParams

__all__ = [
    "versions", "state_dict_numpy", "torch_lstm", "torch_lstm_cell", "run_torch_lstm",
    "run_torch_cell", "autograd_gradients", "params_of",
]

# A float32 LSTM with proj_size runs PyTorch's own kernel instead of oneDNN's,
# and says so in a warning; which kernel runs is not what is checked here.
_ONEDNN_PROJECTION = "LSTM with projections is not supported with oneDNN"


@contextlib.contextmanager
def _quiet():
    """Without the oneDNN projection warning; set at every call, since a test runner
    may have reset the filters since import."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_ONEDNN_PROJECTION)
        yield


def versions() -> dict[str, str]:
    """Versions of NumPy and PyTorch in this process."""
    return {"numpy": np.__version__, "torch": torch.__version__}


def _tensor(array) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def _dtype(params: LSTMParams) -> torch.dtype:
    return getattr(torch, params.dtype.name)


def state_dict_numpy(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A module's ``state_dict`` as NumPy arrays (copies), names and order kept."""
    return {name: value.detach().cpu().numpy().copy()
            for name, value in module.state_dict().items()}


def torch_lstm(layers: Sequence[Sequence[LSTMParams]], batch_first: bool = False) -> torch.nn.LSTM:
    """An ``nn.LSTM`` holding canonical ``layers[k][d]`` (layer k, direction d), in their dtype.

    Its options (layers, directions, bias, ``proj_size``) follow from the
    parameters (:func:`lstm_ref.conventions.torch.torch_options`); the weights
    are loaded with ``load_state_dict(strict=True)``, so every name and shape
    must be PyTorch's own.
    """
    lstm = torch.nn.LSTM(**torch_options(layers), batch_first=batch_first,
                         dtype=_dtype(layers[0][0]))
    lstm.load_state_dict({name: _tensor(a) for name, a in to_state_dict(layers).items()})
    return lstm.eval()


def torch_lstm_cell(params: LSTMParams) -> torch.nn.LSTMCell:
    """An ``nn.LSTMCell`` holding ``params`` (no projection), in their dtype."""
    cell = torch.nn.LSTMCell(params.input_size, params.hidden_size, bias=params.b is not None,
                             dtype=_dtype(params))
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    cell.load_state_dict({n: _tensor(a) for n, a in zip(names, to_torch(params))})
    return cell


def run_torch_lstm(
    lstm: torch.nn.LSTM,
    input: np.ndarray,
    hx: Optional[tuple[np.ndarray, np.ndarray]] = None,
    lengths: Optional[np.ndarray] = None,
    enforce_sorted: bool = False,
):
    """Run ``lstm`` on ``input``; return ``output, (h_n, c_n)`` as NumPy.

    With ``lengths``, the batch goes through ``pack_padded_sequence(input,
    lengths, batch_first=lstm.batch_first, enforce_sorted=enforce_sorted)``
    and the output comes back through ``pad_packed_sequence`` (zeros after
    each sequence's end, time cut to the longest).
    """
    x = _tensor(input)
    state = None if hx is None else tuple(_tensor(a) for a in hx)
    with torch.no_grad(), _quiet():
        if lengths is None:
            output, (h_n, c_n) = lstm(x, state)
        else:
            packed = pack_padded_sequence(x, torch.as_tensor(np.asarray(lengths)),
                                          batch_first=lstm.batch_first,
                                          enforce_sorted=enforce_sorted)
            output, (h_n, c_n) = lstm(packed, state)
            output, _ = pad_packed_sequence(output, batch_first=lstm.batch_first)
    return output.numpy(), (h_n.numpy(), c_n.numpy())


def run_torch_cell(cell: torch.nn.LSTMCell, input: np.ndarray, hx=None):
    """One step of ``cell``: ``(h', c')`` as NumPy."""
    with torch.no_grad():
        h, c = cell(_tensor(input), None if hx is None else tuple(_tensor(a) for a in hx))
    return h.numpy(), c.numpy()


def autograd_gradients(
    lstm: torch.nn.LSTM,
    input: np.ndarray,
    d_output: np.ndarray,
    hx: tuple[np.ndarray, np.ndarray],
    d_hn: Optional[tuple[np.ndarray, np.ndarray]] = None,
) -> dict[str, np.ndarray]:
    """Gradients by ``torch.autograd`` of ``sum(output ⊙ d_output) + sum(h_n ⊙ d_h_n) +
    sum(c_n ⊙ d_c_n)``: ``"input"``, ``"h_0"``, ``"c_0"`` and every parameter by its
    ``state_dict`` name, as :meth:`lstm_ref.conventions.torch.LSTM.gradients` names them."""
    x = _tensor(input).clone().requires_grad_(True)
    h_0, c_0 = (_tensor(a).clone().requires_grad_(True) for a in hx)
    lstm.zero_grad(set_to_none=True)
    with _quiet():
        output, (h_n, c_n) = lstm(x, (h_0, c_0))
    loss = (output * _tensor(d_output)).sum()
    if d_hn is not None:
        loss = loss + (h_n * _tensor(d_hn[0])).sum() + (c_n * _tensor(d_hn[1])).sum()
    loss.backward()
    grads = {name: p.grad.numpy().copy() for name, p in lstm.named_parameters()}
    grads.update(input=x.grad.numpy(), h_0=h_0.grad.numpy(), c_0=c_0.grad.numpy())
    return grads


def params_of(module: torch.nn.Module) -> list[list[LSTMParams]]:
    """Canonical ``layers[k][d]`` read back from an ``nn.LSTM`` (or ``[[params]]`` of an
    ``nn.LSTMCell``)."""
    state = state_dict_numpy(module)
    if isinstance(module, torch.nn.LSTMCell):
        return [[from_torch(**state)]]
    return from_state_dict(state)

