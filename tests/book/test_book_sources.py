"""The book's sources parse: a broken bibliography or chapter header is caught by
`make test`, before a slow `make html` finds it."""

from pathlib import Path

import pytest
from pybtex.database import parse_file

BOOK = Path(__file__).resolve().parents[2] / "book"


def test_bibliography_parses_and_has_unique_keys():
    entries = parse_file(str(BOOK / "references.bib"), bib_format="bibtex").entries
    assert len(entries) >= 10


@pytest.mark.parametrize("chapter", sorted(p.name for p in BOOK.glob("*.md")))
def test_notebook_chapters_declare_the_python3_kernel(chapter):
    text = (BOOK / chapter).read_text()
    if "```{code-cell}" in text:
        header = text.split("---", 2)[1]
        assert "format_name: myst" in header and "name: python3" in header
