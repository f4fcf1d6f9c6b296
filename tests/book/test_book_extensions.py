"""The book's Sphinx extensions (book/_ext): chapter numbering, the verification
report's grouping, the bibliography style.

The numbering test builds a two-part book with Sphinx itself, so a Sphinx
upgrade that changes the numbering data chapter_numbers.py edits fails here,
loudly, before it renumbers the real book wrongly.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from bibliography_style import AuthorYearStyle, author_year_label  # noqa: E402
from lstm_ref_book import reference_group  # noqa: E402

# ---------------------------------------------------------------------------
# Chapter numbers continue across numbered toctrees

CHAPTER = """\
{title}
{underline}

A section
---------

.. math:: x = {n}
   :label: eq-{name}

.. figure:: dot.svg

   A figure.

See :eq:`eq-{name}` and :numref:`{name}-table`.

.. _{name}-table:

.. table:: A table.

   = =
   a b
   = =
"""

INDEX = """\
Book
====

.. toctree::
   :caption: Part I
   :numbered: 2

   one
   two

.. toctree::
   :caption: Part II
   :numbered: 2

   three
"""


def build(src: Path, out: Path) -> None:
    """``sphinx-build -W`` in its own process, as ``make html`` runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", "-d", str(out / "doctrees"),
         str(src), str(out / "html")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def two_part_book(tmp_path_factory):
    src = tmp_path_factory.mktemp("book")
    out = src / "_build"
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['chapter_numbers']\nnumfig = True\nmath_numfig = True\n"
        "exclude_patterns = ['_build']\n")
    (src / "dot.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    (src / "index.rst").write_text(INDEX)
    for n, name in enumerate(["one", "two", "three"], start=1):
        title = f"Chapter {name}"
        (src / f"{name}.rst").write_text(CHAPTER.format(title=title, underline="=" * len(title),
                                                        n=n, name=name))
    build(src, out)
    return src, out / "html"


def numbers(page: Path) -> dict:
    text = page.read_text()
    return {
        "title": re.search(r'<h1><span class="section-number">([\d.]+)', text).group(1),
        "section": re.search(r'<h2><span class="section-number">([\d.]+)', text).group(1),
        "equation": re.search(r'<span class="eqno">\(([\d.]+)\)', text).group(1),
        "figure": re.search(r'<span class="caption-number">Fig\. ([\d.]+)', text).group(1),
        "table": re.search(r'<span class="caption-number">Table ([\d.]+)', text).group(1),
    }


def test_part_two_continues_from_part_one(two_part_book):
    _, html = two_part_book
    assert numbers(html / "one.html") == {"title": "1.", "section": "1.1.", "equation": "1.1",
                                          "figure": "1.1", "table": "1.1"}
    assert numbers(html / "three.html") == {"title": "3.", "section": "3.1.", "equation": "3.1",
                                            "figure": "3.1", "table": "3.1"}
    index = (html / "index.html").read_text()
    assert re.search(r"3\. Chapter three", index), "the table of contents shows chapter 3"
    # References to equations and tables carry the shifted numbers too.
    three = (html / "three.html").read_text()
    assert "(3.1)" in three and "Table 3.1" in three


def test_a_rebuild_does_not_shift_twice(two_part_book):
    src, html = two_part_book
    page = src / "two.rst"
    page.write_text(page.read_text() + "\nOne more sentence.\n")
    build(src, html.parent)
    assert numbers(html / "three.html")["title"] == "3."
    assert numbers(html / "two.html")["equation"] == "2.1"


# ---------------------------------------------------------------------------
# The verification report's sections


@pytest.mark.parametrize("against, group", [
    ("keras.layers.LSTM", ("live", "TensorFlow / Keras")),
    ("tf.GradientTape, keras.layers.LSTM", ("live", "TensorFlow / Keras")),
    ("LSTM(go_backwards)", ("live", "TensorFlow / Keras")),
    ("LayerNormBasicLSTMCell.call in TF 2 ops", ("live", "TensorFlow / Keras")),
    ("TF's fused product, reordered", ("live", "TensorFlow / Keras")),
    ("Keras 3 seeded initializers", ("live", "TensorFlow / Keras")),
    ("keras.layers.LSTMCell", ("live", "TensorFlow / Keras")),
    ("tf.compat.v1 BasicLSTMCell vs keras.layers.LSTM (folded)", ("live", "tf.compat.v1")),
    ("tf.compat.v1 LSTMCell (diagonal V_o, read out)", ("live", "tf.compat.v1")),
    ("tf.GradientTape, tf.compat.v1 LSTMCell", ("live", "tf.compat.v1")),
    ("BasicLSTMCell, true z_f", ("live", "tf.compat.v1")),
    ("torch.nn.LSTM", ("live", "PyTorch")),
    ("flax.nnx.OptimizedLSTMCell", ("live", "JAX / Flax")),
    ("jax.grad", ("live", "JAX / Flax")),
    ("onnxruntime LSTM", ("live", "ONNX Runtime")),
    ("LiteRT UNIDIRECTIONAL_SEQUENCE_LSTM", ("live", "LiteRT")),
    ("TFLite fused LSTM", ("live", "LiteRT")),
    ("seed 003's printed output", ("published", "Printed and published values")),
    ("TF's published LayerNormBasicLSTMCellTest values", ("published", "Printed and published values")),
    ("TF's printed h and c", ("published", "Printed and published values")),
    ("the loop above", ("self", "lstm_ref against itself")),
    ("central finite differences", ("self", "lstm_ref against itself")),
    ("lstm_ref.grad.backward", ("self", "lstm_ref against itself")),
])
def test_each_comparison_lands_in_its_section(against, group):
    assert reference_group(against) == group


# ---------------------------------------------------------------------------
# The bibliography


@pytest.fixture(scope="module")
def bibliography():
    entries = parse_file(str(ROOT / "book" / "references.bib")).entries
    return entries, list(AuthorYearStyle().format_entries(entries.values()))


def test_labels_are_author_year_as_cited(bibliography):
    entries, _ = bibliography
    assert author_year_label(entries["hochreiter1997"]) == "Hochreiter and Schmidhuber, 1997"
    assert author_year_label(entries["gers2000forget"]) == "Gers et al., 2000"
    assert author_year_label(entries["paszke2019pytorch"]) == "Paszke et al., 2019"
    assert author_year_label(entries["olah2015"]) == "Olah, 2015"


def test_labels_are_unique_and_sorted_by_author(bibliography):
    _, formatted = bibliography
    labels = [entry.label for entry in formatted]
    assert len(labels) == len(set(labels))
    assert labels.index("Hochreiter, 1991") < labels.index("Hochreiter and Schmidhuber, 1997")
    assert labels.index("Britz, 2015") < labels.index("Olah, 2015") < labels.index("Zhang et al., 2023")


def test_titles_keep_their_published_case(bibliography):
    _, formatted = bibliography
    text = {entry.key: entry.text.render_as("text") for entry in formatted}
    assert "Long Short-Term Memory." in text["hochreiter1997"]
    assert "Learning to Forget: Continual Prediction with LSTM." in text["gers2000forget"]
    assert "Hochreiter, S. and Schmidhuber, J." in text["hochreiter1997"]


# ---------------------------------------------------------------------------
# The report reads what a chapter's comparison tables carry


def test_the_report_collects_the_comparisons_a_page_displays():
    import numpy as np
    from docutils import nodes
    from docutils.utils import new_document
    from lstm_ref_book import _records_of

    from lstm_ref import verify

    shown = verify.compare({"h_t": (np.zeros(3), np.zeros(3))}, against="keras.layers.LSTM")
    page = new_document("chapter")
    page += nodes.raw("", shown._repr_html_(), format="html")
    page += nodes.raw("", "<p>no comparison here</p>", format="html")
    page += nodes.raw("", shown._repr_html_(), format="latex")  # not HTML: not read
    assert _records_of(page) == list(shown)
