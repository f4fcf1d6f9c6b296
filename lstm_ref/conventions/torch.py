"""PyTorch ``nn.LSTM`` and ``nn.LSTMCell``, in NumPy only.

An ``nn.LSTM(D, H, num_layers=L, bidirectional=..., proj_size=P)`` keeps, for
layer ``k`` and direction suffix ``s`` (``""`` forward, ``"_reverse"``
backward), in this order in its ``state_dict``:

=======================  ===========  ==========================================
name                     shape        canonical
=======================  ===========  ==========================================
``weight_ih_l{k}{s}``    (4H, D_k)    ``W = weight_ih.T`` (D_k, 4H)
``weight_hh_l{k}{s}``    (4H, P)      ``U = weight_hh.T`` (P, 4H)
``bias_ih_l{k}{s}``      (4H,)        ``b = bias_ih + bias_hh``
``bias_hh_l{k}{s}``      (4H,)        (only the sum is ever used)
``weight_hr_l{k}{s}``    (P, H)       ``W_proj = weight_hr.T`` (H, P); only
                                      with ``proj_size`` > 0
=======================  ===========  ==========================================

D_0 = D, and D_k = P (or 2P when bidirectional) for k > 0: layer k reads the
outputs of layer k - 1, both directions concatenated. P = H without a
projection. The gate blocks along the 4H axis are in the canonical order
i, f, g, o. PyTorch writes its gates with the weight on the left,
``W_ii x_t + b_ii + W_hi h_{t-1} + b_hi``, so its matrices are the
canonical ``W`` and ``U`` transposed. ``nn.LSTMCell`` keeps the same four
arrays without the ``_l0`` suffix, and has no projection.

States ``h_0``/``h_n`` are (L * directions, N, P) and ``c_0``/``c_n``
(L * directions, N, H), row ``k * directions + d`` for layer k, direction d.

The canonical parameters of an ``nn.LSTM`` are a list with one entry per
layer, each a list with one :class:`~lstm_ref.LSTMParams` per direction
(forward first): ``layers[k][d]``.

No module of lstm_ref.conventions imports torch: these functions take and
return NumPy arrays (``{k: v.numpy() for k, v in lstm.state_dict().items()}``
in, ``torch.from_numpy`` out); :mod:`lstm_ref.frameworks.torch` does the rest.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

import numpy as np

from ..cell import lstm_step
from ..grad import backward, forward
from ..layout import gate_hidden_size
from ..params import LSTMParams, LSTMState, as_float_array, check_finite, checked_array
from ..sequence import bidirectional_lstm_sequence, lstm_sequence, reverse_time

__all__ = [
    "DIRECTION_SUFFIXES", "from_torch", "to_torch", "state_dict_names", "from_state_dict",
    "to_state_dict", "check_layers", "torch_options", "LSTMCell", "LSTM", "lengths_mask",
]

DIRECTION_SUFFIXES = ("", "_reverse")
# The arrays of one layer and direction, in nn.LSTM's parameter order.
_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
_NAME = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")


# ---------------------------------------------------------------------------
# One layer, one direction


def from_torch(
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: Optional[np.ndarray] = None,
    bias_hh: Optional[np.ndarray] = None,
    weight_hr: Optional[np.ndarray] = None,
    *more: np.ndarray,
) -> LSTMParams:
    """Canonical parameters from one layer and direction of an ``nn.LSTM`` (or an ``nn.LSTMCell``).

    Implements :eq:`eq-torch-weights`: transpose the two matrices (PyTorch
    multiplies weights on the left) and add the two biases.

    Parameters
    ----------
    weight_ih : ndarray, shape (4H, D)
        ``weight_ih_l0`` (or ``weight_ih`` of a cell); blocks i, f, g, o along
        the first axis.
    weight_hh : ndarray, shape (4H, P)
        ``weight_hh_l0``; P = H unless the LSTM has ``proj_size`` = P.
    bias_ih, bias_hh : ndarray, shape (4H,), optional
        Both or neither (``bias=False``).
    weight_hr : ndarray, shape (P, H), optional
        ``weight_hr_l0``, the projection of an LSTM with ``proj_size``.

    Returns
    -------
    LSTMParams
        ``W = weight_ih.T`` (D, 4H), ``U = weight_hh.T`` (P, 4H),
        ``b = bias_ih + bias_hh`` (4H,) and ``W_proj = weight_hr.T`` (H, P),
        copied into contiguous arrays.

    Raises
    ------
    TypeError
        If given more than five arrays: the weights of several layers or
        directions (use :func:`from_state_dict`).
    ValueError, TypeError
        If a shape, dtype or value is wrong; the message names the array.

    Examples
    --------
    With a one-layer PyTorch LSTM,
    ``from_torch(*(p.detach().numpy() for p in lstm.parameters()))``. With arrays:

    >>> import numpy as np
    >>> params = from_torch(np.zeros((8, 3)), np.zeros((8, 2)), np.ones(8), np.ones(8))
    >>> params.input_size, params.hidden_size, float(params.b[0])
    (3, 2, 2.0)
    """
    if more:
        raise TypeError(
            f"from_torch: expected the arrays of one layer and direction (weight_ih, "
            f"weight_hh, bias_ih, bias_hh, weight_hr), got {5 + len(more)} arrays: an "
            "nn.LSTM with several layers or directions; pass its state_dict to "
            "from_state_dict instead"
        )
    weight_ih = as_float_array("weight_ih", weight_ih)
    H = gate_hidden_size("weight_ih", weight_ih, axis=0, shape="(4H, D)", ndim=2)
    check_finite("weight_ih", weight_ih)
    dtype = weight_ih.dtype
    _check_bias_pair(bias_ih, bias_hh, weight_hr, H)
    W_proj = None
    if weight_hr is not None:
        weight_hr = checked_array("weight_hr", weight_hr, (None, H), ("P", "H"), dtype,
                                  "weight_ih")
        W_proj = weight_hr.T.copy()  # PyTorch computes W_hr m; the book m W_proj
    P, P_symbol = (H, "H") if weight_hr is None else (weight_hr.shape[0], "P")
    weight_hh = as_float_array("weight_hh", weight_hh)
    if weight_hr is None and weight_hh.ndim == 2 and weight_hh.shape[0] == 4 * H \
            and weight_hh.shape[1] != H:
        raise ValueError(
            f"weight_hh: expected shape (4H, H) = ({4 * H}, {H}), got {weight_hh.shape}: "
            f"an nn.LSTM with proj_size = {weight_hh.shape[1]} has weight_hh (4H, P); "
            "pass its weight_hr (P, H) too"
        )
    weight_hh = checked_array("weight_hh", weight_hh, (4 * H, P), ("4H", P_symbol), dtype,
                              "weight_ih")
    b = None
    if bias_ih is not None:
        shape = ((4 * H,), ("4H",))
        bias_ih = checked_array("bias_ih", bias_ih, *shape, dtype, "weight_ih")
        bias_hh = checked_array("bias_hh", bias_hh, *shape, dtype, "weight_ih")
        b = bias_ih + bias_hh  # PyTorch adds both at every step; only the sum matters
    # PyTorch multiplies W_ih x (weights on the left); the book multiplies x W.
    return LSTMParams(W=weight_ih.T.copy(), U=weight_hh.T.copy(), b=b, W_proj=W_proj)


def _check_bias_pair(bias_ih, bias_hh, weight_hr, H: int) -> None:
    """Both biases or neither, and a clear error where a projection took a bias's place.

    ``nn.LSTM(..., bias=False, proj_size=P).parameters()`` gives
    ``weight_ih, weight_hh, weight_hr``: the third array is then a (P, H)
    projection, not a bias.
    """
    if bias_ih is not None and np.ndim(bias_ih) == 2 and bias_hh is None and weight_hr is None:
        raise ValueError(
            f"bias_ih: expected shape (4H,) = ({4 * H},), got {np.shape(bias_ih)}: this looks "
            "like weight_hr (P, H) of an nn.LSTM with proj_size and bias=False; pass it as "
            "weight_hr=..."
        )
    if (bias_ih is None) != (bias_hh is None):
        missing = "bias_hh" if bias_hh is None else "bias_ih"
        raise ValueError(f"{missing}: PyTorch has both biases or neither; got only one")


def to_torch(params: LSTMParams) -> list[np.ndarray]:
    """One layer and direction of ``nn.LSTM``: ``[weight_ih, weight_hh, bias_ih, bias_hh, weight_hr]``.

    The inverse of :func:`from_torch`, in the order of
    ``nn.LSTM(D, H, proj_size=P).parameters()``:
    ``weight_ih`` (4H, D), ``weight_hh`` (4H, P), the biases (4H,) unless
    ``params.b`` is ``None`` (``bias=False``), and ``weight_hr`` (P, H) only
    if ``params`` has a projection. ``bias_ih`` is all of ``params.b`` and
    ``bias_hh`` zeros: their sum is what PyTorch uses, and ``b + 0`` is ``b``
    exactly, so ``from_torch(*to_torch(params))`` gives ``params`` back bit for bit.

    Raises
    ------
    ValueError
        If ``params`` has peepholes or layer normalization, which ``nn.LSTM``
        does not compute.
    """
    extras = [name for name in params.extras() if name != "W_proj"]
    if extras:
        raise ValueError(
            f"params.{extras[0]}: nn.LSTM has no such weight; only W, U, b and W_proj "
            "(proj_size) convert"
        )
    weights = [params.W.T.copy(), params.U.T.copy()]  # (4H, D), (4H, P)
    if params.b is not None:
        weights += [params.b.copy(), np.zeros_like(params.b)]
    if params.W_proj is not None:
        weights.append(params.W_proj.T.copy())  # (P, H)
    return weights


# ---------------------------------------------------------------------------
# A whole nn.LSTM: state_dict


def state_dict_names(num_layers: int = 1, bidirectional: bool = False, bias: bool = True,
                     proj_size: int = 0) -> list[str]:
    """The keys of an ``nn.LSTM``'s ``state_dict``, in PyTorch's order.

    >>> state_dict_names(2, bidirectional=True, bias=False)[:4]
    ['weight_ih_l0', 'weight_hh_l0', 'weight_ih_l0_reverse', 'weight_hh_l0_reverse']
    """
    kinds = [k for k in _WEIGHTS if (bias or not k.startswith("bias"))
             and (proj_size > 0 or k != "weight_hr")]
    return [f"{kind}_l{layer}{suffix}"
            for layer in range(num_layers)
            for suffix in DIRECTION_SUFFIXES[:2 if bidirectional else 1]
            for kind in kinds]


def from_state_dict(state_dict: Mapping[str, np.ndarray]) -> list[list[LSTMParams]]:
    """Canonical parameters of every layer and direction of an ``nn.LSTM``.

    Parameters
    ----------
    state_dict : mapping of str to ndarray
        ``{name: tensor.numpy()}`` of ``lstm.state_dict()``: exactly the names
        :func:`state_dict_names` lists for some number of layers, directions,
        bias and projection.

    Returns
    -------
    list of list of LSTMParams
        ``layers[k][d]``: layer k, direction d (0 forward, 1 backward), each
        converted by :func:`from_torch`.

    Raises
    ------
    ValueError
        If a name is unknown or missing, or the sizes of consecutive layers
        do not fit (layer k reads P, or 2P when bidirectional, features).
    """
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise TypeError(f"state_dict: expected a non-empty mapping of names to arrays, "
                        f"got {type(state_dict).__name__}")
    found = {}
    for name in state_dict:
        match = _NAME.match(str(name))
        if match is None:
            raise ValueError(
                f"state_dict: unexpected name {name!r}; nn.LSTM's names are like "
                "'weight_ih_l0', 'bias_hh_l1_reverse', 'weight_hr_l0'"
            )
        kind, layer, reverse = match.groups()
        found[(int(layer), 1 if reverse else 0, kind)] = state_dict[name]
    num_layers = 1 + max(layer for layer, _, _ in found)
    bidirectional = any(direction for _, direction, _ in found)
    bias = any(kind == "bias_ih" for _, _, kind in found)
    proj_size = int(np.shape(next(v for (_, _, k), v in found.items() if k == "weight_hh"))[1]) \
        if any(k == "weight_hr" for _, _, k in found) else 0
    expected = state_dict_names(num_layers, bidirectional, bias, proj_size)
    if sorted(expected) != sorted(state_dict):
        missing = sorted(set(expected) - set(state_dict))
        extra = sorted(set(state_dict) - set(expected))
        raise ValueError(
            f"state_dict: an nn.LSTM with num_layers={num_layers}, bidirectional="
            f"{bidirectional}, bias={bias}, proj_size={proj_size} has the names {expected}; "
            f"missing {missing}, unexpected {extra}"
        )
    layers = []
    for k in range(num_layers):
        directions = []
        for d in range(2 if bidirectional else 1):
            arrays = {kind: found.get((k, d, kind)) for kind in _WEIGHTS}
            try:
                directions.append(from_torch(**arrays))
            except (ValueError, TypeError) as error:
                raise type(error)(f"layer {k}{DIRECTION_SUFFIXES[d]}: {error}") from None
        layers.append(directions)
    check_layers(layers)
    return layers


def to_state_dict(layers: Sequence[Sequence[LSTMParams]]) -> dict[str, np.ndarray]:
    """An ``nn.LSTM``'s ``state_dict`` (names and shapes as PyTorch writes them) from
    canonical parameters ``layers[k][d]``; the inverse of :func:`from_state_dict`.

    Load it with ``lstm.load_state_dict({k: torch.from_numpy(v) for k, v in ...})``
    into ``nn.LSTM(**torch_options(layers))``. Each bias goes into ``bias_ih``,
    ``bias_hh`` is zeros (:func:`to_torch`).
    """
    check_layers(layers)
    state_dict = {}
    for k, directions in enumerate(layers):
        for suffix, params in zip(DIRECTION_SUFFIXES, directions):
            names = [n for n in _WEIGHTS if (params.b is not None or not n.startswith("bias"))
                     and (params.W_proj is not None or n != "weight_hr")]
            for name, array in zip(names, to_torch(params)):
                state_dict[f"{name}_l{k}{suffix}"] = array
    return state_dict


def check_layers(layers) -> None:
    """Raise unless ``layers[k][d]`` describes an ``nn.LSTM``: one or two directions in
    every layer, equal sizes and dtype throughout, and layer k reading P (or 2P) features."""
    if not isinstance(layers, (list, tuple)) or not layers or not all(
            isinstance(directions, (list, tuple)) and len(directions) in (1, 2)
            and all(isinstance(p, LSTMParams) for p in directions) for directions in layers):
        raise TypeError(
            "layers: expected a non-empty list with one list [forward] or [forward, backward] "
            f"of LSTMParams per layer, got {_describe(layers)}"
        )
    first = layers[0][0]
    directions = len(layers[0])
    for k, layer in enumerate(layers):
        for d, params in enumerate(layer):
            where = f"layers[{k}][{d}]"
            if len(layer) != directions:
                raise ValueError(f"layers[{k}]: expected {directions} direction(s) like "
                                 f"layers[0], got {len(layer)}")
            if params.dtype != first.dtype:
                raise TypeError(f"{where}: expected dtype {first.dtype} (the dtype of "
                                f"layers[0][0]), got {params.dtype}")
            sizes = (params.hidden_size, params.output_size, params.b is not None,
                     params.W_proj is not None)
            expected = (first.hidden_size, first.output_size, first.b is not None,
                        first.W_proj is not None)
            if sizes != expected:
                raise ValueError(
                    f"{where}: expected (H, P, bias, projection) = {expected} as layers[0][0] "
                    f"(nn.LSTM has one size for all layers), got {sizes}"
                )
            D = first.input_size if k == 0 else directions * first.output_size
            if params.input_size != D:
                raise ValueError(
                    f"{where}.W: expected D = {D} rows (layer {k} reads "
                    f"{'the input' if k == 0 else 'the outputs of layer ' + str(k - 1)}), "
                    f"got {params.input_size}"
                )
    extras = [name for name in first.extras() if name != "W_proj"]
    if extras:
        raise ValueError(f"layers[0][0].{extras[0]}: nn.LSTM has no such weight")


def _describe(value) -> str:
    if isinstance(value, LSTMParams):
        return "one LSTMParams (wrap it: [[params]])"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {[type(v).__name__ for v in value]}"
    return type(value).__name__


def torch_options(layers: Sequence[Sequence[LSTMParams]]) -> dict:
    """The ``nn.LSTM`` constructor arguments that hold ``layers``: ``input_size``,
    ``hidden_size``, ``num_layers``, ``bias``, ``bidirectional``, ``proj_size``."""
    check_layers(layers)
    first = layers[0][0]
    return dict(input_size=first.input_size, hidden_size=first.hidden_size,
                num_layers=len(layers), bias=first.b is not None,
                bidirectional=len(layers[0]) == 2,
                proj_size=first.output_size if first.W_proj is not None else 0)


# ---------------------------------------------------------------------------
# NumPy mirrors of nn.LSTMCell and nn.LSTM


class LSTMCell:
    """``torch.nn.LSTMCell`` in NumPy: ``cell(input, (h, c))`` returns ``(h', c')``.

    Weights are loaded with :meth:`load_state_dict` from ``weight_ih``
    (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` and ``bias_hh`` (4H,); the
    step is :func:`lstm_ref.lstm_step`.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.params: Optional[LSTMParams] = None

    def load_state_dict(self, state_dict: Mapping[str, np.ndarray]) -> None:
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        if sorted(state_dict) != sorted(names):
            raise ValueError(f"state_dict: expected the names {names}, got {sorted(state_dict)}")
        params = from_torch(**{name: state_dict[name] for name in names})
        if (params.input_size, params.hidden_size) != (self.input_size, self.hidden_size):
            raise ValueError(
                f"state_dict: expected weights for (D, H) = ({self.input_size}, "
                f"{self.hidden_size}), got ({params.input_size}, {params.hidden_size})")
        self.params = params

    def state_dict(self) -> dict[str, np.ndarray]:
        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        return dict(zip(names, to_torch(self._loaded())))

    def _loaded(self) -> LSTMParams:
        if self.params is None:
            raise ValueError("params: no weights loaded; call load_state_dict first")
        return self.params

    def __call__(self, input, hx=None) -> tuple[np.ndarray, np.ndarray]:
        """One step: ``input`` (N, D) or (D,), ``hx = (h, c)`` each (N, H) or (H,)."""
        params = self._loaded()
        x = as_float_array("input", input)
        unbatched = x.ndim == 1
        if unbatched:
            x = x[None]
            hx = None if hx is None else tuple(np.asarray(a)[None] for a in hx)
        state = None if hx is None else LSTMState(*hx)
        if state is None:
            state = LSTMState(np.zeros((x.shape[0], self.hidden_size), params.dtype),
                              np.zeros((x.shape[0], self.hidden_size), params.dtype))
        h, c = lstm_step(x, state, params)
        return (h[0], c[0]) if unbatched else (h, c)


class LSTM:
    """``torch.nn.LSTM`` in NumPy (evaluation mode): takes PyTorch's weights, returns
    what PyTorch returns.

    ``lstm(input, hx=None, lengths=None)`` returns ``output, (h_n, c_n)``:

    * ``input`` (T, N, D), or (N, T, D) with ``batch_first``, or (T, D) unbatched;
    * ``hx = (h_0, c_0)``: (L * directions, N, P) and (L * directions, N, H);
    * ``output``: (T, N, directions * P) (batch-first if asked), the top
      layer's outputs, forward and backward concatenated;
    * ``lengths`` (N,) computes what a packed batch gives:
      ``pad_packed_sequence(lstm(pack_padded_sequence(input, lengths,
      enforce_sorted=False)))``: each sequence stops at its length (the
      backward direction starts there), the padded outputs are zeros, the time
      axis is cut to ``max(lengths)``, and ``h_n``/``c_n`` hold each
      sequence's state after its own last step (for the backward direction,
      after its first).

    Each layer is :func:`lstm_ref.lstm_sequence` (one direction) or
    :func:`lstm_ref.sequence.bidirectional_lstm_sequence`, with a mask built
    from ``lengths``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, bidirectional: bool = False,
                 proj_size: int = 0):
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if not 0 <= proj_size < hidden_size:
            raise ValueError(f"proj_size: expected 0 <= proj_size < hidden_size = "
                             f"{hidden_size}, got {proj_size}")
        self.options = dict(input_size=input_size, hidden_size=hidden_size,
                            num_layers=num_layers, bias=bias, bidirectional=bidirectional,
                            proj_size=proj_size)
        self.batch_first = batch_first
        self.layers: Optional[list[list[LSTMParams]]] = None

    @classmethod
    def from_params(cls, layers: Sequence[Sequence[LSTMParams]], batch_first: bool = False):
        """A mirror holding canonical ``layers[k][d]``."""
        lstm = cls(**torch_options(layers), batch_first=batch_first)
        lstm.layers = [list(directions) for directions in layers]
        return lstm

    @property
    def num_directions(self) -> int:
        return 2 if self.options["bidirectional"] else 1

    def load_state_dict(self, state_dict: Mapping[str, np.ndarray]) -> None:
        """Load PyTorch's ``state_dict`` (NumPy arrays), checked against the options."""
        expected = state_dict_names(self.options["num_layers"], self.options["bidirectional"],
                                    self.options["bias"], self.options["proj_size"])
        if sorted(state_dict) != sorted(expected):
            raise ValueError(f"state_dict: expected the names {expected}, got "
                             f"{sorted(state_dict)}")
        layers = from_state_dict(state_dict)
        if torch_options(layers) != self.options:
            raise ValueError(f"state_dict: expected weights for {self.options}, got "
                             f"{torch_options(layers)}")
        self.layers = layers

    def state_dict(self) -> dict[str, np.ndarray]:
        return to_state_dict(self._loaded())

    def _loaded(self) -> list[list[LSTMParams]]:
        if self.layers is None:
            raise ValueError("layers: no weights loaded; call load_state_dict first")
        return self.layers

    def __call__(self, input, hx=None, lengths=None):
        layers = self._loaded()
        X, unbatched = self._batch_major(input)
        N, T, _ = X.shape
        mask = None if lengths is None else lengths_mask(lengths, N, T)
        initial = self._initial_states(hx, N, unbatched)
        h_n, c_n = [], []
        for k, directions in enumerate(layers):
            states = initial[k]
            if len(directions) == 1:
                X, state = lstm_sequence(X, directions[0], initial_state=states[0], mask=mask,
                                         zero_output_for_mask=True)
                finals = [state]
            else:
                X, *finals = bidirectional_lstm_sequence(X, *directions,
                                                         initial_state=tuple(states), mask=mask)
            h_n += [s.h for s in finals]
            c_n += [s.c for s in finals]
        if lengths is not None:
            X = X[:, :int(np.max(lengths))]  # pad_packed_sequence pads to the longest only
        h_n, c_n = np.stack(h_n), np.stack(c_n)  # (L * directions, N, P), (..., N, H)
        if unbatched:
            return X[0], (h_n[:, 0], c_n[:, 0])
        output = X if self.batch_first else X.transpose(1, 0, 2)
        return output, (h_n, c_n)

    def _batch_major(self, input) -> tuple[np.ndarray, bool]:
        X = as_float_array("input", input)
        if X.ndim == 2:
            return X[None], True
        if X.ndim != 3:
            raise ValueError(f"input: expected shape ({'N, T' if self.batch_first else 'T, N'}"
                             f", D) or (T, D), got {X.shape}")
        return (X if self.batch_first else X.transpose(1, 0, 2)), False

    def _initial_states(self, hx, N: int, unbatched: bool) -> list[list[Optional[LSTMState]]]:
        L, dirs = self.options["num_layers"], self.num_directions
        if hx is None:
            return [[None] * dirs for _ in range(L)]
        if not isinstance(hx, tuple) or len(hx) != 2:
            raise TypeError(f"hx: expected a pair (h_0, c_0), got {type(hx).__name__}")
        h_0, c_0 = (np.asarray(a) for a in hx)
        if unbatched:
            h_0, c_0 = h_0[:, None], c_0[:, None]
        first = self._loaded()[0][0]
        H, P = first.hidden_size, first.output_size
        h_0 = checked_array("h_0", h_0, (L * dirs, N, P), ("L*directions", "N", "P"),
                            first.dtype, "the weights")
        c_0 = checked_array("c_0", c_0, (L * dirs, N, H), ("L*directions", "N", "H"),
                            first.dtype, "the weights")
        return [[LSTMState(h_0[k * dirs + d], c_0[k * dirs + d]) for d in range(dirs)]
                for k in range(L)]

    def gradients(self, input, d_output, hx=None, d_hn=None) -> dict[str, np.ndarray]:
        """Gradients of ``sum(output ⊙ d_output) + sum(h_n ⊙ d_h_n) + sum(c_n ⊙ d_c_n)``,
        by :func:`lstm_ref.grad.backward` for every layer and direction.

        ``d_output`` has the shape of ``output``, ``d_hn = (d_h_n, d_c_n)`` that
        of ``(h_n, c_n)`` (zeros if omitted). No ``lengths``: packed batches are
        not differentiated here. Returns what ``torch.autograd`` would give:
        ``"input"``, ``"h_0"``, ``"c_0"`` and every ``state_dict`` name (both
        biases get the gradient of their sum).

        A backward direction is a forward pass over the time-reversed input,
        so its gradients are :func:`lstm_ref.grad.backward`'s, reversed back.
        """
        layers = self._loaded()
        X, unbatched = self._batch_major(input)
        if unbatched:
            raise ValueError("input: gradients need a batch, (T, N, D) or (N, T, D); got (T, D)")
        N, T, _ = X.shape
        initial = self._initial_states(hx, N, False)
        d_Y = as_float_array("d_output", d_output)
        d_Y = d_Y if self.batch_first else d_Y.transpose(1, 0, 2)
        # Forward, keeping each layer's input and each direction's cache.
        caches, inputs, finals = [], [], []
        for k, directions in enumerate(layers):
            inputs.append(X)
            outputs = []
            for d, params in enumerate(directions):
                X_d = X if d == 0 else reverse_time(X)
                Y_d, final, cache = forward(X_d, params, initial_state=initial[k][d])
                outputs.append(Y_d if d == 0 else reverse_time(Y_d))
                caches.append(cache)
                finals.append(final)
            X = np.concatenate(outputs, axis=-1)
        checked_array("d_output", d_Y, X.shape, ("N", "T", "directions*P"), X.dtype,
                      "the weights")
        dirs = len(layers[0])
        d_finals = [None] * len(finals)
        if d_hn is not None:
            first = layers[0][0]
            d_h_n, d_c_n = (
                checked_array(name, a, (len(finals), N, size), ("L*directions", "N", symbol),
                              first.dtype, "the weights")
                for name, a, size, symbol in zip(("d_h_n", "d_c_n"), d_hn,
                                                 (first.output_size, first.hidden_size), "PH"))
            d_finals = [LSTMState(d_h_n[j], d_c_n[j]) for j in range(len(finals))]
        # Backward, from the top layer down.
        grads, d_h0, d_c0 = {}, [None] * len(finals), [None] * len(finals)
        for k in reversed(range(len(layers))):
            P = layers[k][0].output_size
            d_X = np.zeros_like(inputs[k])
            for d, params in enumerate(layers[k]):
                j = k * dirs + d
                d_Y_d = d_Y[..., d * P:(d + 1) * P]
                g = backward(d_Y_d if d == 0 else reverse_time(d_Y_d), caches[j], d_finals[j])
                d_X += g.d_X if d == 0 else reverse_time(g.d_X)
                d_h0[j], d_c0[j] = g.d_initial_state
                suffix = DIRECTION_SUFFIXES[d]
                names = {"W": "weight_ih", "U": "weight_hh", "W_proj": "weight_hr"}
                for field, array in g.d_params.arrays().items():
                    if field == "b":  # z = ... + bias_ih + bias_hh: both get d_b
                        grads[f"bias_ih_l{k}{suffix}"] = array
                        grads[f"bias_hh_l{k}{suffix}"] = array.copy()
                    else:
                        grads[f"{names[field]}_l{k}{suffix}"] = array.T.copy()
            d_Y = d_X
        grads["input"] = d_Y if self.batch_first else d_Y.transpose(1, 0, 2)
        grads["h_0"], grads["c_0"] = np.stack(d_h0), np.stack(d_c0)
        return grads


def lengths_mask(lengths, batch_size: int, steps: int) -> np.ndarray:
    """The mask (N, T) of a padded batch: ``True`` for the first ``lengths[n]`` steps of
    sequence n. Lengths must be integers from 1 to T, as ``pack_padded_sequence`` requires."""
    lengths = np.asarray(lengths)
    if lengths.shape != (batch_size,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths: expected {batch_size} integers (one per sequence), got "
                         f"{lengths.dtype} array of shape {lengths.shape}")
    if lengths.min() < 1 or lengths.max() > steps:
        raise ValueError(f"lengths: expected lengths from 1 to T = {steps}, got "
                         f"{lengths.tolist()}")
    return np.arange(steps)[None, :] < lengths[:, None]  # (N, T)
