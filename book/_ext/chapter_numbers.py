"""Sphinx extension: chapter numbers that continue from one part to the next.

Sphinx restarts at 1 in every numbered toctree, so Part II's first chapter
would be "1." again and share its equation and figure numbers with Part I's.
After Sphinx has numbered sections, figures and equations (its toctree
collector answers ``env-get-updated`` at the default priority, 500), this
extension answers the same event later, adds to each chapter of a numbered
toctree the number of chapters in the numbered toctrees before it, and has
Sphinx number the figures and equations again from the shifted chapters
(numbered from the unshifted ones, Part II's figures would continue Part
I's chapter 1 count).

Sphinx offers no API for this; :func:`shift_chapter_number` and
:func:`renumber_figures` are the only places that touch Sphinx's numbering,
and ``tests/book/test_book_extensions.py`` builds a two-part book to fail
loudly if a Sphinx upgrade changes it.
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx


def numbered_toctrees(env) -> list[list[str]]:
    """The chapters of each numbered toctree of the root document, in order."""
    root = env.config.root_doc
    if root not in env.all_docs:
        return []
    return [
        [ref for _, ref in toctree["entries"] if ref in env.toc_secnumbers]
        for toctree in env.get_doctree(root).findall(addnodes.toctree)
        if toctree.get("numbered")
    ]


def chapter_offsets(env) -> dict[str, int]:
    """For every page under a numbered toctree, what to add to its chapter number."""
    offsets, before = {}, 0
    for chapters in numbered_toctrees(env):
        for chapter in chapters:
            for docname in _with_descendants(env, chapter):
                offsets[docname] = before
        before += len(chapters)
    return offsets


def _with_descendants(env, docname: str) -> list[str]:
    found = [docname]
    for child in env.toctree_includes.get(docname, []):
        found += _with_descendants(env, child)
    return found


def shift_chapter_number(env, docname: str, offset: int) -> None:
    """Add ``offset`` to the chapter number of every number Sphinx gave ``docname``.

    Sphinx's data, as of Sphinx 9: ``env.toc_secnumbers[doc][anchor]`` are
    tuples whose first element is the chapter; the ``secnumber`` of the
    references in ``env.tocs[doc]`` (the sidebar) and of ``env.titles[doc]``
    (the page title) are lists.
    """
    if not offset:
        return

    def shift(number):
        return (number[0] + offset, *number[1:]) if number else number

    env.toc_secnumbers[docname] = {
        anchor: shift(number) for anchor, number in env.toc_secnumbers[docname].items()
    }
    for reference in env.tocs[docname].findall(nodes.reference):
        if reference.get("secnumber"):
            reference["secnumber"] = list(shift(tuple(reference["secnumber"])))
    title = env.titles.get(docname)
    if title is not None and title.get("secnumber"):
        title["secnumber"] = list(shift(tuple(title["secnumber"])))


def renumber_figures(env) -> None:
    """Have Sphinx number figures, tables and equations again, from the current chapter numbers."""
    from sphinx.environment.collectors.toctree import TocTreeCollector

    TocTreeCollector().assign_figure_numbers(env)


def continue_numbering(app: Sphinx, env) -> list[str]:
    """Shift every chapter's numbers; return the pages whose numbers changed since the last build."""
    offsets = {d: k for d, k in chapter_offsets(env).items() if k and d in env.toc_secnumbers}
    for docname, offset in offsets.items():
        shift_chapter_number(env, docname, offset)
    if offsets:
        renumber_figures(env)
    previous = getattr(env, "lstm_ref_chapter_numbers", {})
    current = {
        docname: (env.toc_secnumbers.get(docname), env.toc_fignumbers.get(docname))
        for docname in set(env.toc_secnumbers) | set(env.toc_fignumbers)
    }
    env.lstm_ref_chapter_numbers = current
    return sorted(d for d in current if current[d] != previous.get(d) and d in env.all_docs)


def setup(app: Sphinx) -> dict:
    # After the toctree collector (priority 500) has numbered everything.
    app.connect("env-get-updated", continue_numbering, priority=900)
    return {"version": "1", "env_version": 1, "parallel_read_safe": True,
            "parallel_write_safe": True}
