"""The bibliography's style: author-year, as the book cites.

The book cites as "Hochreiter and Schmidhuber [1997]" or "[Gers et al., 2000]"
(sphinxcontrib-bibtex's ``author_year`` referencing style), so the list is
labelled the same way, "[Hochreiter and Schmidhuber, 1997]", sorted by
author and year, with authors as "Hochreiter, S.". Titles keep the case they
were published in: pybtex's standard styles lower-case every word of a title
after the first.

Registered with pybtex as the formatting style ``lstm_ref_author_year``;
``bibtex_default_style`` in ``conf.py`` selects it.
"""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import field, sentence

STYLE_NAME = "lstm_ref_author_year"


def _plain(latex: str) -> str:
    """``"Schmidhuber, J{\\"u}rgen"`` -> ``"Schmidhuber, Jürgen"``."""
    return Text.from_latex(latex).render_as("text")


def _surname(person) -> str:
    return _plain(" ".join(person.prelast_names + person.last_names))


def author_year_label(entry) -> str:
    """``"Hochreiter and Schmidhuber, 1997"``, ``"Gers et al., 2000"``: what the citation shows.

    Three or more authors, or an author list ending in ``and others``, become
    "First et al."; an entry without authors is labelled by its title up to
    the first comma or parenthesis.
    """
    persons = entry.persons.get("author", [])
    surnames = [_surname(p) for p in persons if _surname(p) != "others"]
    if not surnames:
        names = _plain(entry.fields.get("title", "Anonymous")).split(",")[0].split(" (")[0]
    elif len(persons) >= 3 or len(surnames) < len(persons):
        names = f"{surnames[0]} et al."
    else:
        names = " and ".join(surnames)
    return f"{names}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Author-year labels; two entries with the same label get a, b, ... after the year."""

    def format_labels(self, sorted_entries):
        labels = [author_year_label(entry) for entry in sorted_entries]
        for label in labels:
            same = [k for k, other in enumerate(labels) if other == label]
            if len(same) > 1:
                for suffix, k in zip("abcdefghijklmnopqrstuvwxyz", same):
                    labels[k] = label + suffix
        yield from labels


class AuthorYearSorting(BaseSortingStyle):
    """By first author ("The" ignored), one author before two before more, year, title."""

    def sorting_key(self, entry):
        label = author_year_label(entry).lower().removeprefix("the ")
        first = label.split(" and ")[0].split(" et al.")[0].split(",")[0]
        authors = min(len(entry.persons.get("author", [])), 3)
        return first, authors, entry.fields.get("year", ""), label


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries, sorted by author and year, titles as published."""

    default_label_style = AuthorYearLabels
    default_sorting_style = AuthorYearSorting
    default_name_style = "lastfirst"

    def __init__(self, **kwargs):
        kwargs.setdefault("abbreviate_names", True)
        super().__init__(**kwargs)

    def format_title(self, e, which_field, as_sentence=True):
        title = field(which_field)
        return sentence[title] if as_sentence else title


def register() -> None:
    """Make the style known to pybtex (and so to ``bibtex_default_style``)."""
    register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle, force=True)
