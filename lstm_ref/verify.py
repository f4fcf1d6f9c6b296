"""Compare lstm_ref's numbers with a reference, show the result, fail on mismatch.

Every claim of agreement in the book goes through :func:`compare`::

    verify.compare({"h_t": (h_ours, h_keras), "c_t": (c_ours, c_keras)},
                   against="keras.layers.LSTM")

It measures, for each named pair, the largest absolute difference and the
largest difference relative to the reference's largest magnitude, checks the
absolute one against a tolerance, and returns a :class:`Verification`, which
notebooks display as a small table. Any pair over its tolerance raises
:class:`VerificationError`, which fails the notebook cell and so the book
build.

The default tolerance follows the dtype of lstm_ref's array: 1e-12 for
float64 and 1e-6 for float32.

The table's HTML carries its comparisons as JSON in one attribute,
:data:`RECORDS_ATTRIBUTE`, from which the book's build assembles the
verification report. That contract lives here, whole: :func:`embed_records`
writes the attribute and :func:`read_records` reads every one back from a page's
HTML as :class:`Comparison` objects.
"""

from __future__ import annotations

import html
import json
import re
import sys
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Optional

import numpy as np

__all__ = [
    "DEFAULT_TOLERANCE", "RECORDS_ATTRIBUTE", "VerificationError", "Comparison", "Verification",
    "embed_records", "read_records", "framework_versions", "measure", "compare"
]

DEFAULT_TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}

#: The HTML attribute in which a displayed :class:`Verification` carries its
#: comparisons as JSON, for the book's verification report.
RECORDS_ATTRIBUTE = "data-lstm-ref-verify"
_RECORDS = re.compile(RECORDS_ATTRIBUTE + r'="([^"]*)"')

# Frameworks whose version is recorded when they are already imported.
# JAX is recorded only beside Flax: Keras 3 imports jax by itself, unused.
_FRAMEWORKS = (("tensorflow", "TensorFlow"), ("keras", "Keras"), ("tf_keras", "tf-keras"),
               ("torch", "PyTorch"), ("flax", "Flax"), ("jax", "JAX"), ("onnx", "onnx"),
               ("onnxruntime", "ONNX Runtime"), ("ai_edge_litert", "LiteRT"))
_ONLY_WITH = {"jax": "flax"}


class VerificationError(AssertionError):
    """lstm_ref disagreed with a reference beyond the stated tolerance."""


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one quantity with its reference."""

    quantity: str
    against: str
    versions: str
    dtype: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    tolerance: float
    passed: bool

    def __str__(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        return (
            f"{self.quantity} {self.shape} {self.dtype}: lstm_ref vs {self.against}: "
            f"max abs error {self.max_abs_error:.1e}, max rel error {self.max_rel_error:.1e}, "
            f"tolerance {self.tolerance:.0e}: {verdict}"
        )


class Verification(tuple):
    """The comparisons made by one call of :func:`compare`, all of which passed."""

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self)

    def __repr__(self) -> str:
        return str(self)

    @property
    def max_abs_error(self) -> float:
        """The worst absolute error over all comparisons."""
        return max(c.max_abs_error for c in self)

    def max_abs_error_of(self, dtype) -> float:
        """The worst absolute error over the comparisons made in ``dtype``."""
        name = np.dtype(dtype).name
        return max(c.max_abs_error for c in self if c.dtype == name)

    def summary(self) -> str:
        """One line: how many quantities agree with what, the worst error and the bar.

        For example ``"✓ 3 quantities agree with keras.layers.LSTM (float64):
        max abs error 2.2e-16 ≤ 1e-12"``.
        """
        againsts = ", ".join(dict.fromkeys(c.against for c in self))
        parts = []
        for dtype in dict.fromkeys(c.dtype for c in self):
            of_dtype = [c for c in self if c.dtype == dtype]
            worst = max(c.max_abs_error for c in of_dtype)
            bar = max(c.tolerance for c in of_dtype)
            parts.append(f"{dtype}: max abs error {worst:.1e} ≤ {bar:.0e}")
        count = f"{len(self)} quantit{'y agrees' if len(self) == 1 else 'ies agree'}"
        return f"✓ {count} with {againsts}; {'; '.join(parts)}"

    def _repr_html_(self) -> str:
        rows = "".join(_html_row(c) for c in self)
        versions = sorted({c.versions for c in self if c.versions})
        caption = f"<caption>{html.escape('; '.join(versions))}</caption>" if versions else ""
        return (
            f'<details class="lstm-ref-verify" {embed_records(self)}>'
            f"<summary>{html.escape(self.summary())}</summary>"
            f"<table>{caption}<thead><tr><th>verified</th><th>lstm_ref vs</th><th>dtype</th>"
            "<th>max abs error</th><th>max rel error</th><th>tolerance</th><th></th>"
            f"</tr></thead><tbody>{rows}</tbody></table></details>"
        )


def embed_records(comparisons: Iterable[Comparison]) -> str:
    """The HTML attribute ``RECORDS_ATTRIBUTE="..."`` carrying ``comparisons`` as JSON.

    :func:`read_records` gives them back, equal field for field.
    """
    records = json.dumps([asdict(c) for c in comparisons])
    return f'{RECORDS_ATTRIBUTE}="{html.escape(records, quote=True)}"'


def read_records(page: str) -> list[Comparison]:
    """Every :class:`Comparison` embedded by :func:`embed_records` in ``page``'s HTML, in order."""
    return [
        Comparison(**{**record, "shape": tuple(record["shape"])})
        for match in _RECORDS.finditer(page)
        for record in json.loads(html.unescape(match.group(1)))
    ]


def _html_row(c: Comparison) -> str:
    shape = "×".join(map(str, c.shape)) or "scalar"
    mark = "✓ pass" if c.passed else "✗ FAIL"
    return (
        f"<tr><td><code>{html.escape(c.quantity)}</code> ({shape})</td>"
        f"<td>{html.escape(c.against)}</td><td>{c.dtype}</td>"
        f"<td>{c.max_abs_error:.1e}</td><td>{c.max_rel_error:.1e}</td>"
        f"<td>≤ {c.tolerance:.0e}</td><td>{mark}</td></tr>"
    )


def framework_versions() -> str:
    """Versions of the frameworks imported in this process, e.g. ``"TensorFlow 2.21.0, Keras 3.15.1"``."""
    found = []
    for module, label in _FRAMEWORKS:
        if module in sys.modules and _ONLY_WITH.get(module, module) in sys.modules:
            version = getattr(sys.modules[module], "__version__", None)
            if version:
                found.append(f"{label} {version}")
    return ", ".join(found)


def measure(
    quantity: str,
    ours,
    reference,
    *,
    against: str,
    tolerance: Optional[float] = None,
) -> Comparison:
    """Compare one array with its reference, without raising on mismatch.

    Raises
    ------
    VerificationError
        If the shapes differ (nothing can be measured then).
    ValueError
        If no tolerance is given and ``ours`` is neither float32 nor float64.
    """
    ours, reference = np.asarray(ours), np.asarray(reference)
    if ours.shape != reference.shape:
        raise VerificationError(
            f"{quantity}: lstm_ref gives shape {ours.shape}, {against} gives {reference.shape}"
        )
    if tolerance is None:
        if ours.dtype not in DEFAULT_TOLERANCE:
            raise ValueError(
                f"tolerance: no default for dtype {ours.dtype}; pass tolerance= explicitly"
            )
        tolerance = DEFAULT_TOLERANCE[ours.dtype]
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, and NaN fails below
        difference = np.abs(ours.astype(np.float64) - reference.astype(np.float64))
    max_abs = float(difference.max()) if difference.size else 0.0
    scale = float(np.abs(reference).max()) if reference.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    return Comparison(
        quantity=quantity,
        against=against,
        versions=framework_versions(),
        dtype=str(ours.dtype),
        shape=tuple(ours.shape),
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        tolerance=float(tolerance),
        passed=bool(max_abs <= tolerance),  # False for NaN
    )


def compare(
    pairs: Mapping[str, tuple],
    *,
    against: str,
    tolerance: Optional[float] = None,
) -> Verification:
    """Compare lstm_ref's arrays with reference arrays; raise if any disagree.

    Parameters
    ----------
    pairs : mapping of str to (ours, reference)
        For each named quantity, lstm_ref's array and the reference's array.
        Shapes must be equal; nothing is broadcast.
    against : str
        What the reference is, e.g. ``"keras.layers.LSTM"`` or
        ``"TensorFlow's published test values"``. Versions of the frameworks
        imported in this process are recorded beside it.
    tolerance : float, optional
        Largest allowed absolute difference. Default: 1e-12 for float64, 1e-6
        for float32 (by the dtype of lstm_ref's array).

    Returns
    -------
    Verification
        One :class:`Comparison` per pair; displays as a table in notebooks.

    Raises
    ------
    VerificationError
        If any quantity differs by more than the tolerance (the message lists
        every failed quantity), or shapes differ.
    """
    if not pairs:
        raise ValueError("pairs: expected at least one (ours, reference) pair, got none")
    result = Verification(
        measure(name, ours, reference, against=against, tolerance=tolerance)
        for name, (ours, reference) in pairs.items()
    )
    failed = [c for c in result if not c.passed]
    if failed:
        raise VerificationError(
            "lstm_ref disagrees with the reference:\n" + "\n".join(str(c) for c in failed)
        )
    return result
