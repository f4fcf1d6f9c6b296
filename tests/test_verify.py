"""lstm_ref.verify: measures, records, and refuses disagreement."""

import html
import json
import re

import numpy as np
import pytest

from lstm_ref import verify


def test_pass_records_errors():
    a = np.array([1.0, 2.0, 3.0])
    result = verify.compare({"x": (a, a + 1e-14)}, against="a shifted copy")
    (row,) = result
    assert row.passed and row.tolerance == 1e-12 and row.dtype == "float64"
    assert row.max_abs_error == pytest.approx(1e-14, rel=0.1)
    assert row.max_rel_error == pytest.approx(1e-14 / 3, rel=0.1)


def test_default_tolerance_follows_dtype():
    a = np.ones(3, np.float32)
    assert verify.compare({"x": (a, a + 5e-7)}, against="r")[0].tolerance == 1e-6
    with pytest.raises(verify.VerificationError):
        verify.compare({"x": (a, a + 5e-6)}, against="r")


def test_worst_error_by_dtype():
    result = verify.compare({"a": (np.array([1.0]), np.array([1.0 + 1e-13])),
                             "b": (np.float32([1.0]), np.float32([1.0 + 2**-20]))},
                            against="itself, nudged")
    assert result.max_abs_error_of(np.float64) == pytest.approx(1e-13, rel=1e-3)
    assert result.max_abs_error_of("float32") == 2**-20 == result.max_abs_error


def test_mismatch_names_every_failed_quantity():
    a = np.zeros(3)
    with pytest.raises(verify.VerificationError) as info:
        verify.compare({"h_t": (a, a + 1e-3), "c_t": (a, a), "o_t": (a, a - 1)},
                       against="keras.layers.LSTM")
    message = str(info.value)
    assert "h_t" in message and "o_t" in message and "c_t" not in message
    assert "keras.layers.LSTM" in message and "1.0e-03" in message


def test_nan_never_passes():
    a = np.zeros(2)
    with pytest.raises(verify.VerificationError):
        verify.compare({"x": (a, np.array([0.0, np.nan]))}, against="r")
    with pytest.raises(verify.VerificationError):
        verify.compare({"x": (np.array([np.inf]), np.array([np.inf]))}, against="r")


def test_shapes_must_match_exactly():
    with pytest.raises(verify.VerificationError, match=r"shape \(1, 3\).*gives \(3,\)"):
        verify.compare({"x": (np.zeros((1, 3)), np.zeros(3))}, against="r")


def test_no_default_tolerance_for_other_dtypes():
    with pytest.raises(ValueError, match="tolerance"):
        verify.compare({"n": (np.arange(3), np.arange(3))}, against="r")
    assert verify.compare({"n": (np.arange(3), np.arange(3))}, against="r", tolerance=0)


def test_html_carries_the_records():
    result = verify.compare({"x": (np.ones(2), np.ones(2))}, against="<b>r</b>")
    page = result._repr_html_()
    assert "<b>" not in page and "&lt;b&gt;" in page  # escaped in the table and the attribute
    assert verify.RECORDS_ATTRIBUTE in page
    (record,) = verify.read_records(page)
    assert record.quantity == "x" and record.against == "<b>r</b>" and record.passed


def test_records_round_trip_through_a_page():
    """What embed_records writes, read_records reads back equal, among other markup."""
    first = verify.compare({"h_t": (np.zeros((2, 3)), np.full((2, 3), 1e-13)),
                            "c_t": (np.float32([1.0]), np.float32([1.0]))},
                           against='quotes " and \' and <tags> & ampersands')
    second = verify.compare({"s": (np.float64(2.0), np.float64(2.0))}, against="scalar")
    page = (f"<p>before</p>{first._repr_html_()}<div>between</div>"
            f"<span {verify.embed_records(second)}></span>")
    assert verify.read_records(page) == [*first, *second]
    assert verify.read_records("<p>no comparison here</p>") == []


def test_summary_line_counts_and_reports_the_worst_error_per_dtype():
    pairs = {"a": (np.ones(2), np.ones(2) + 1e-14), "b": (np.zeros(3), np.zeros(3)),
             "c": (np.ones(2, np.float32), np.ones(2, np.float32) + np.float32(2e-7))}
    line = verify.compare(pairs, against="r").summary()
    assert line.startswith("✓ 3 quantities agree with r;")
    assert "float64: max abs error 1.0e-14 ≤ 1e-12" in line
    assert "float32: max abs error 2.4e-07 ≤ 1e-06" in line
    one = verify.compare({"x": (np.ones(1), np.ones(1))}, against="s").summary()
    assert one == "✓ 1 quantity agrees with s; float64: max abs error 0.0e+00 ≤ 1e-12"


def test_html_shows_the_summary_and_folds_the_table():
    result = verify.compare({"x": (np.ones(2), np.ones(2))}, against="r")
    page = result._repr_html_()
    assert page.startswith('<details class="lstm-ref-verify"')
    assert f"<summary>{html.escape(result.summary())}</summary>" in page
    assert "<table>" in page and page.endswith("</details>")
