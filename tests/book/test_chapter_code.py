"""Each chapter shows at most about 120 lines of code; the rest is hidden.

A code cell is shown unless its tags hide or remove its input (``hide-input``,
``remove-input``, ``remove-cell``): imports, plotting and table-building code
are hidden, and the lstm_ref code and the framework code a reader follows are
shown. The appendix of seed reproductions is back matter and exempt.
"""

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
SHOWN_LINES = 130  # "about 120"
EXEMPT = {"seeds.md"}
_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)
_HIDDEN = re.compile(r"\b(hide-input|remove-input|remove-cell)\b")


def shown_code_lines(text: str) -> int:
    """Lines of code in the cells whose input the page shows."""
    count = 0
    for cell in _CELL.findall(text):
        if cell.startswith("---\n"):  # YAML metadata block
            metadata, cell = cell[4:].split("\n---\n", 1)
        else:
            metadata = "\n".join(line for line in cell.splitlines() if line.startswith(":"))
            cell = "\n".join(line for line in cell.splitlines() if not line.startswith(":"))
        if not _HIDDEN.search(metadata):
            count += len(cell.strip("\n").splitlines())
    return count


def test_counting_skips_hidden_cells():
    text = ("```{code-cell} ipython3\n:tags: [hide-input]\nimport numpy\n```\n"
            "```{code-cell} ipython3\nx = 1\ny = 2\n```\n"
            "```{code-cell} ipython3\n---\ntags: [remove-cell]\n---\nz = 3\n```\n"
            "```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    name: f\n---\nplot()\n```\n")
    assert shown_code_lines(text) == 3


@pytest.mark.parametrize("chapter", sorted(p.name for p in BOOK.glob("*.md")
                                           if p.name not in EXEMPT))
def test_chapter_shows_about_120_lines_of_code_at_most(chapter):
    shown = shown_code_lines((BOOK / chapter).read_text())
    assert shown <= SHOWN_LINES, f"{chapter}: {shown} lines of code shown, at most {SHOWN_LINES}"
