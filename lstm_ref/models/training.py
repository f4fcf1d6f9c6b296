"""Training a character-level language model in NumPy.

The model reads one character per time step, one-hot encoded, and predicts
the next one::

    x_t = one_hot(character t)                  (N, V)
    h_t = LSTM(x_t, h_{t-1}, c_{t-1})           (N, H)      lstm_ref.grad.forward
    s_t = h_t W_y + b_y                         (N, V)      logits
    p_t = softmax(s_t)                          (N, V)
    L   = mean over n, t of -log p_t[next character]

and learns by truncated backpropagation through time (:func:`bptt_windows`),
gradient clipping by global norm and Adam. Every piece mirrors its Keras 3
counterpart closely enough that the same run in Keras, from the same initial
weights, gives the same losses step by step in float64:

* :func:`init_char_model` draws the weights a seeded Keras ``LSTM`` and
  ``Dense`` would get;
* :class:`Adam` performs ``keras.optimizers.Adam``'s update operation by
  operation (``epsilon`` added to ``sqrt(v)``, the bias correction folded into
  the step size, the learning rate held in a float32 variable), with its
  ``global_clipnorm``;
* :func:`cross_entropy` is ``SparseCategoricalCrossentropy(from_logits=True)``
  averaged over every character of the batch.

V is the vocabulary size; N, T, H as in the rest of the book (N streams of
text, T characters per window, H cells). Gate blocks are ordered i, f, g, o.
Randomness comes only from explicit seeds, so every run is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple, Optional

import numpy as np

from .. import grad
from ..cell import lstm_step
from ..initializers.keras import glorot_uniform, keras_lstm_init, zeros
from ..params import LSTMParams, LSTMState, check_finite, check_shape, checked_array, zero_state

__all__ = [
    "Vocabulary", "check_ids", "one_hot", "bptt_windows", "CharModel", "init_char_model",
    "logits", "softmax", "log_softmax", "cross_entropy", "cross_entropy_grad", "readout_grads",
    "loss_and_grads", "global_norm", "clip_by_global_norm", "adam_update", "Adam",
    "TrainingRun", "train", "sample"
]

# ---------------------------------------------------------------------------
# Text


@dataclass(frozen=True)
class Vocabulary:
    """The characters of a text, sorted; a character's id is its index.

    Examples
    --------
    >>> vocab = Vocabulary.from_text("abba")
    >>> vocab.chars, vocab.encode("ab").tolist(), vocab.decode([1, 0])
    ('ab', [0, 1], 'ba')
    """

    chars: str

    @classmethod
    def from_text(cls, text: str) -> "Vocabulary":
        """Every distinct character of ``text``, sorted."""
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        """V, the number of characters."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text``, shape (len(text),); unknown ones refused."""
        index = {ch: k for k, ch in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"text: characters not in the vocabulary: {unknown!r}")
        return np.array([index[ch] for ch in text], dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        """The characters with these ids."""
        return "".join(self.chars[int(k)] for k in ids)


def check_ids(name: str, ids, vocab_size: int) -> np.ndarray:
    """Integer ids in ``[0, vocab_size)`` as an int64 array; ``ValueError`` otherwise."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{name}: expected integer character ids, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"{name}: expected ids in [0, V) = [0, {vocab_size}), "
            f"got values from {ids.min()} to {ids.max()}"
        )
    return ids.astype(np.int64)


def one_hot(ids: np.ndarray, vocab_size: int, dtype=np.float64) -> np.ndarray:
    """One-hot rows: shape ``ids.shape + (V,)``, a 1 at each id."""
    ids = check_ids("ids", ids, vocab_size)
    return (ids[..., None] == np.arange(vocab_size)).astype(dtype)


def bptt_windows(
    ids: np.ndarray, batch_size: int, seq_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a long text into windows for truncated backpropagation through time.

    The text is split into ``batch_size`` (N) contiguous streams of equal
    length, side by side; window k holds characters ``k T ... k T + T - 1``
    of every stream and, as targets, the characters one later. Consecutive
    windows continue each other, so the final state of window k is the right
    initial state for window k + 1; gradients stop at the window's edge.

    Parameters
    ----------
    ids : ndarray, shape (L,)
        The text as character ids.
    batch_size : int
        N, the number of streams.
    seq_len : int
        T, the characters per window.

    Returns
    -------
    inputs, targets : ndarray of int64, shape (K, N, T)
        K windows; the characters that do not fill a whole window are dropped.

    Examples
    --------
    >>> inputs, targets = bptt_windows(np.arange(10), batch_size=2, seq_len=2)
    >>> inputs.tolist(), targets.tolist()
    ([[[0, 1], [5, 6]], [[2, 3], [7, 8]]], [[[1, 2], [6, 7]], [[3, 4], [8, 9]]])
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids: expected shape (L,), got {ids.shape}")
    for name, value in (("batch_size", batch_size), ("seq_len", seq_len)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    stream_len = len(ids) // batch_size
    K = (stream_len - 1) // seq_len  # a target is needed after the last input
    if K < 1:
        raise ValueError(
            f"ids: a text of {len(ids)} characters is too short for {batch_size} "
            f"streams of windows of {seq_len} (needs at least "
            f"{batch_size * (seq_len + 1)})"
        )
    streams = ids[: batch_size * stream_len].reshape(batch_size, stream_len)  # (N, L/N)
    inputs = streams[:, : K * seq_len].reshape(batch_size, K, seq_len)
    targets = streams[:, 1 : K * seq_len + 1].reshape(batch_size, K, seq_len)
    return inputs.transpose(1, 0, 2).astype(np.int64), targets.transpose(1, 0, 2).astype(np.int64)


# ---------------------------------------------------------------------------
# The model


class CharModel(NamedTuple):
    """Weights of the character model: an LSTM and a dense read-out.

    Attributes
    ----------
    lstm : LSTMParams
        ``W`` (V, 4H), ``U`` (H, 4H), ``b`` (4H,); gate blocks i, f, g, o.
    W_y : ndarray, shape (H, V)
        Read-out weights (Keras ``Dense`` ``kernel``).
    b_y : ndarray, shape (V,)
        Read-out bias.
    """

    lstm: LSTMParams
    W_y: np.ndarray
    b_y: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """Every weight by name, in the order of the Keras model's trainable variables:
        ``W``, ``U``, ``b`` (the LSTM's kernel, recurrent kernel, bias), ``W_y``, ``b_y``."""
        return {**self.lstm.arrays(), "W_y": self.W_y, "b_y": self.b_y}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "CharModel":
        """The inverse of :meth:`arrays`."""
        return cls(LSTMParams(W=arrays["W"], U=arrays["U"], b=arrays.get("b")),
                   arrays["W_y"], arrays["b_y"])

    @property
    def vocab_size(self) -> int:
        """V."""
        return self.b_y.shape[0]


def init_char_model(vocab_size: int, hidden_size: int, seed: int, dtype=np.float64) -> CharModel:
    """Initial weights, as a seeded Keras 3 ``LSTM`` + ``Dense`` would draw them.

    The LSTM is :func:`lstm_ref.initializers.keras.keras_lstm_init` with ``seed``
    (Glorot-uniform kernel, orthogonal recurrent kernel, forget bias 1); the
    read-out is ``Dense(V, kernel_initializer=GlorotUniform(seed=seed + 1))``
    with a zero bias.

    Parameters
    ----------
    vocab_size : int
        V, the inputs (one-hot) and the outputs.
    hidden_size : int
        H.
    seed : int
    dtype : float32 or float64
    """
    lstm = keras_lstm_init(vocab_size, hidden_size, seed, dtype)
    return CharModel(lstm=lstm,
                     W_y=glorot_uniform((hidden_size, vocab_size), seed + 1, dtype),
                     b_y=zeros((vocab_size,), dtype))


def logits(Y: np.ndarray, W_y: np.ndarray, b_y: np.ndarray) -> np.ndarray:
    """The read-out ``s_t = h_t W_y + b_y``, shape (N, T, V).

    Implements :eq:`eq-logits`, for the LSTM's outputs ``Y`` (N, T, H).
    """
    return Y @ W_y + b_y


def softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(s) / sum(exp(s))`` along ``axis``, computed without overflow.

    Implements :eq:`eq-softmax`. Subtracting the largest logit first changes
    nothing mathematically and keeps every ``exp`` at most 1.
    """
    s = _finite_logits(s)
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(s))`` along ``axis``, as ``s - max - log(sum(exp(s - max)))``."""
    s = _finite_logits(s)
    shifted = s - s.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _finite_logits(s) -> np.ndarray:
    """``s`` as an array; ``ValueError`` at a NaN or infinity (its softmax would be NaN)."""
    s = np.asarray(s)
    check_finite("s", s)
    return s


def _check_targets(s: np.ndarray, targets) -> np.ndarray:
    check_shape("s", s, (None, None, None), ("N", "T", "V"))
    targets = check_ids("targets", targets, s.shape[-1])
    check_shape("targets", targets, s.shape[:-1], ("N", "T"))
    return targets


def cross_entropy(s: np.ndarray, targets: np.ndarray) -> float:
    """Mean of ``-log softmax(s)[target]`` over every position, a float.

    Implements :eq:`eq-cross-entropy`. ``s`` are logits (N, T, V), ``targets``
    the ids of the right characters (N, T). Keras's
    ``SparseCategoricalCrossentropy(from_logits=True)`` with its default
    reduction (``"sum_over_batch_size"``) computes the same mean.
    """
    targets = _check_targets(s, targets)
    picked = np.take_along_axis(log_softmax(s), targets[..., None], axis=-1)
    return float(-picked.mean())


def cross_entropy_grad(s: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Gradient of :func:`cross_entropy` with respect to the logits, ``(p - e_y) / n``.

    Implements :eq:`eq-softmax-grad`: the softmax's probabilities minus the
    one-hot targets, divided by the number of positions ``n`` (N T).
    """
    targets = _check_targets(s, targets)
    return (softmax(s) - one_hot(targets, s.shape[-1], s.dtype)) / targets.size


def readout_grads(
    Y: np.ndarray, d_S: np.ndarray, W_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``W_y`` (H, V), ``b_y`` (V,) and the LSTM's outputs ``Y`` (N, T, H).

    Implements :eq:`eq-readout-grad`: ``Σ h_t^T d_s_t``, ``Σ d_s_t`` and
    ``d_s_t W_y^T``, from the logits' gradient ``d_S`` (N, T, V).
    """
    d_W_y = np.tensordot(Y, d_S, axes=([0, 1], [0, 1]))  # Σ over n and t
    return d_W_y, d_S.sum(axis=(0, 1)), d_S @ W_y.T


def loss_and_grads(
    model: CharModel,
    inputs: np.ndarray,
    targets: np.ndarray,
    initial_state: Optional[LSTMState] = None,
) -> tuple[float, CharModel, LSTMState]:
    """Loss and gradients for one window of truncated BPTT.

    Parameters
    ----------
    model : CharModel
    inputs, targets : ndarray of ints, shape (N, T)
        Character ids; ``targets`` are the characters that follow ``inputs``.
    initial_state : LSTMState, optional
        The state the previous window ended in (zeros if omitted). It is a
        constant here: no gradient flows into earlier windows.

    Returns
    -------
    loss : float
        :func:`cross_entropy` of the window.
    grads : CharModel
        The gradient of the loss with respect to every weight.
    final_state : LSTMState
        To start the next window from.
    """
    V = model.vocab_size
    targets = check_ids("targets", targets, V)
    check_shape("targets", targets, np.shape(inputs), ("N", "T"))
    X = one_hot(inputs, V, model.W_y.dtype)                      # (N, T, V)
    Y, final_state, cache = grad.forward(X, model.lstm,
                                         initial_state=initial_state)
    S = logits(Y, model.W_y, model.b_y)                          # (N, T, V)
    d_S = cross_entropy_grad(S, targets)
    d_W_y, d_b_y, d_Y = readout_grads(Y, d_S, model.W_y)
    d_lstm = grad.backward(d_Y, cache).d_params  # no gradient into the past
    grads = CharModel(d_lstm, d_W_y, d_b_y)
    return cross_entropy(S, targets), grads, final_state


# ---------------------------------------------------------------------------
# Optimization


def global_norm(arrays: Iterable[np.ndarray]) -> np.ndarray:
    """``sqrt(Σ_k Σ g_k²)`` over all the arrays, a 0-d array of their dtype."""
    return np.sqrt(np.sum([np.sum(np.square(g)) for g in arrays]))


def clip_by_global_norm(
    grads: Mapping[str, np.ndarray], clip_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients together so that their global norm is at most ``clip_norm``.

    Implements :eq:`eq-clip`, in Keras 3's operations
    (``keras.optimizers.base_optimizer.clip_by_global_norm``): the factor is
    ``clip_norm * min(1 / norm, 1 / clip_norm)``, which is 1 (or within a
    rounding of it) when the norm is below ``clip_norm``.

    Returns
    -------
    clipped : dict of str to ndarray
        The gradients times the factor, by name.
    norm : float
        The global norm before clipping.
    """
    if not clip_norm > 0:
        raise ValueError(f"clip_norm: expected a positive number, got {clip_norm!r}")
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads: expected a dict of gradients by name, got {type(grads).__name__}")
    for name, g in grads.items():
        check_finite(f"grads[{name!r}]", np.asarray(g))
    norm = global_norm(grads.values())
    dtype = norm.dtype.type
    with np.errstate(divide="ignore"):  # a zero norm gives 1/0 = inf, and min() picks 1/clip
        scale = dtype(clip_norm) * np.minimum(dtype(1) / norm, dtype(1.0 / clip_norm))
    return {name: g * scale for name, g in grads.items()}, float(norm)


def adam_update(
    variable: np.ndarray, gradient: np.ndarray, m: np.ndarray, v: np.ndarray, step: int,
    learning_rate, beta_1: float, beta_2: float, epsilon: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Adam update of one variable, operation by operation as Keras 3 does it.

    Implements :eq:`eq-adam`. With ``t = step`` (1 for the first update)::

        m ← m + (g - m)(1 - β1)
        v ← v + (g² - v)(1 - β2)
        α = lr sqrt(1 - β2^t) / (1 - β1^t)
        θ ← θ - (m α) / (sqrt(v) + ε)

    This is Kingma and Ba's algorithm with the bias corrections folded into
    the step size ``α``, which moves ``ε`` from ``sqrt(v̂)`` to ``sqrt(v)``
    (``ε̂ = ε sqrt(1 - β2^t)`` in the paper's terms). The scalars are rounded
    where Keras rounds them: the powers ``β^t`` use β rounded to float32,
    because Keras computes them from ``ops.cast(beta, dtype)`` and TensorFlow
    turns a Python float into a float32 tensor before casting it (as for the
    Glorot bound, :func:`lstm_ref.initializers.keras.glorot_uniform`); the factors
    ``1 - β`` and ``ε`` enter in the variable's dtype directly.

    Returns
    -------
    variable, m, v : ndarray
        The updated variable and moments (new arrays).
    """
    dtype = variable.dtype.type
    t = dtype(step)
    lr = dtype(learning_rate)
    beta_1_power = np.power(dtype(np.float32(beta_1)), t)  # Keras: ops.cast(0.9, dtype)
    beta_2_power = np.power(dtype(np.float32(beta_2)), t)
    alpha = lr * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    m = m + (gradient - m) * dtype(1 - beta_1)
    v = v + (np.square(gradient) - v) * dtype(1 - beta_2)
    variable = variable - (m * alpha) / (np.sqrt(v) + dtype(epsilon))
    return variable, m, v


class Adam:
    """``keras.optimizers.Adam`` in NumPy, for weights held in a dict of arrays.

    Same arguments and defaults as Keras 3 (``learning_rate=0.001``,
    ``beta_1=0.9``, ``beta_2=0.999``, ``epsilon=1e-7``, ``global_clipnorm``).
    Like Keras, it keeps the learning rate in a variable of dtype ``floatx``
    (``"float32"`` unless ``keras.config.set_floatx`` changed it), so with
    float64 weights the rate in effect is the float32 rounding of the one
    given; each update (:meth:`apply`) clips the gradients by their global
    norm if asked, then applies :func:`adam_update` to every variable.

    Examples
    --------
    The first update moves every weight by about the learning rate, against
    its gradient's sign:

    >>> opt = Adam(learning_rate=0.1)
    >>> new = opt.apply({"w": np.array([1.0])}, {"w": np.array([0.5])})
    >>> round(float(new["w"][0]), 4), opt.iterations
    (0.9, 1)
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7,
                 global_clipnorm: Optional[float] = None, floatx: str = "float32"):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate: expected a positive number, got {learning_rate!r}")
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name}: expected a number in [0, 1), got {beta!r}")
        if global_clipnorm is not None and not global_clipnorm > 0:
            raise ValueError(
                f"global_clipnorm: expected a positive number or None, got {global_clipnorm!r}"
            )
        self.learning_rate = float(np.dtype(floatx).type(learning_rate))
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.global_clipnorm = global_clipnorm
        self.iterations = 0
        self.moments: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def apply(self, variables: Mapping[str, np.ndarray],
              grads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One update of every variable; returns the new values by name.

        ``grads`` must have the same names, shapes and dtypes as ``variables``.
        The moments start at zero for a name seen for the first time.
        """
        if set(grads) != set(variables):
            raise ValueError(
                f"grads: expected the names {sorted(variables)}, got {sorted(grads)}"
            )
        grads = {name: checked_array(f"grads[{name!r}]", grads[name], value.shape,
                                     [str(size) for size in value.shape], value.dtype,
                                     f"variables[{name!r}]")
                 for name, value in variables.items()}
        if self.global_clipnorm is not None:
            grads, _ = clip_by_global_norm(grads, self.global_clipnorm)
        self.iterations += 1
        updated = {}
        for name, value in variables.items():
            m, v = self.moments.get(name, (np.zeros_like(value), np.zeros_like(value)))
            updated[name], m, v = adam_update(
                value, grads[name], m, v, self.iterations, self.learning_rate,
                self.beta_1, self.beta_2, self.epsilon)
            self.moments[name] = (m, v)
        return updated


class TrainingRun(NamedTuple):
    """What :func:`train` returns.

    Attributes
    ----------
    model : CharModel
        The weights after the last update.
    losses : ndarray, shape (steps,)
        The loss of each window, before the update it leads to.
    grad_norms : ndarray, shape (steps,)
        The global norm of each step's gradients, before clipping.
    """

    model: CharModel
    losses: np.ndarray
    grad_norms: np.ndarray


def train(
    model: CharModel,
    inputs: np.ndarray,
    targets: np.ndarray,
    optimizer: Adam,
    steps: int,
) -> TrainingRun:
    """Truncated BPTT: one optimizer step per window, the state carried across windows.

    Parameters
    ----------
    model : CharModel
        The initial weights (not modified).
    inputs, targets : ndarray of ints, shape (K, N, T)
        Windows from :func:`bptt_windows`. Step k uses window ``k mod K``;
        the state starts from zeros at window 0 (every pass over the text)
        and otherwise from the final state of the previous window.
    optimizer : Adam
    steps : int

    Returns
    -------
    TrainingRun
    """
    losses, norms, state = np.empty(steps), np.empty(steps), None
    for k in range(steps):
        window = k % len(inputs)
        if window == 0:
            state = None
        loss, grads, state = loss_and_grads(model, inputs[window], targets[window], state)
        losses[k], norms[k] = loss, float(global_norm(grads.arrays().values()))
        model = CharModel.from_arrays(optimizer.apply(model.arrays(), grads.arrays()))
    return TrainingRun(model=model, losses=losses, grad_norms=norms)


# ---------------------------------------------------------------------------
# Sampling


def sample(
    model: CharModel,
    vocab: Vocabulary,
    prime: str,
    length: int,
    temperature: float = 1.0,
    seed: int = 0,
) -> str:
    """Generate ``length`` characters after ``prime``, drawing each from the model.

    Implements :eq:`eq-temperature`: the next character is drawn with
    probabilities ``softmax(s_t / τ)``. ``τ = 1`` samples the model's own
    distribution; a smaller τ sharpens it towards the likeliest character, a
    larger one flattens it. The draws come from
    ``numpy.random.default_rng(seed)`` (one uniform number per character,
    inverted through the cumulative probabilities), so a seed fixes the text.

    Parameters
    ----------
    model : CharModel
    vocab : Vocabulary
    prime : str
        At least one character, read before sampling starts.
    length : int
        Characters to generate.
    temperature : float
        τ > 0.
    seed : int

    Returns
    -------
    str
        ``prime`` followed by the generated characters.
    """
    if not temperature > 0:
        raise ValueError(f"temperature: expected a positive number, got {temperature!r}")
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 0:
        raise ValueError(f"length: expected a number of characters >= 0, got {length!r}")
    if not prime:
        raise ValueError("prime: expected at least one character, got ''")
    V, dtype, rng = vocab.size, model.W_y.dtype, np.random.default_rng(seed)
    if V != model.vocab_size:
        raise ValueError(f"vocab: expected {model.vocab_size} characters (the model's V), "
                         f"got {V}")
    state = zero_state(model.lstm, 1)
    ids = list(vocab.encode(prime))
    for k in range(len(prime) - 1 + length):
        state = lstm_step(one_hot(np.array([ids[k]]), V, dtype), state, model.lstm)
        if k >= len(prime) - 1:
            p = softmax(logits(state.h, model.W_y, model.b_y)[0] / temperature)
            cumulative = np.cumsum(p)
            ids.append(int(np.searchsorted(cumulative, rng.random() * cumulative[-1],
                                           side="right")))
    return vocab.decode(ids)
