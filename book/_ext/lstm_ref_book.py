"""Sphinx extension for the lstm_ref book.

* **Verification report.** Every ``lstm_ref.verify.compare`` table that a
  chapter displays carries its rows as JSON. When Sphinx reads a chapter
  (executed now or taken from the execution cache) this extension collects
  those rows into the build environment; the ``verification-report``
  directive turns all of them into one table. The report page is re-read
  whenever any chapter changes, so it is never stale.
* **Notebook downloads.** Copies each executed notebook next to the page
  sources, so the theme's download menu offers ``.ipynb``.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

_RECORDS = re.compile(r'data-lstm-ref-verify="([^"]*)"')


# ---------------------------------------------------------------------------
# Collecting verification records


def _records_of(doctree: nodes.document) -> list[dict]:
    records = []
    for raw in doctree.findall(nodes.raw):
        if "html" in raw.get("format", ""):
            for match in _RECORDS.finditer(raw.astext()):
                records.extend(json.loads(html.unescape(match.group(1))))
    return records


def collect_records(app: Sphinx, doctree: nodes.document) -> None:
    records = _records_of(doctree)
    store = _store(app.env)
    store.pop(app.env.docname, None)
    if records:
        store[app.env.docname] = records


def _store(env) -> dict[str, list[dict]]:
    if not hasattr(env, "lstm_ref_verifications"):
        env.lstm_ref_verifications = {}
    return env.lstm_ref_verifications


def purge_records(app: Sphinx, env, docname: str) -> None:
    _store(env).pop(docname, None)
    _report_pages(env).discard(docname)


def merge_records(app: Sphinx, env, docnames, other) -> None:
    _store(env).update({d: r for d, r in _store(other).items() if d in docnames})
    _report_pages(env).update(_report_pages(other) & set(docnames))


def _report_pages(env) -> set[str]:
    if not hasattr(env, "lstm_ref_report_pages"):
        env.lstm_ref_report_pages = set()
    return env.lstm_ref_report_pages


def reread_reports(app: Sphinx, env, added, changed, removed) -> list[str]:
    """A report summarizes other pages: re-read it whenever any page changes."""
    if added or changed or removed:
        return sorted(_report_pages(env) - set(removed))
    return []


# ---------------------------------------------------------------------------
# The report


class verification_report(nodes.General, nodes.Element):
    """Placeholder, replaced by the table once every page has been read."""


class VerificationReportDirective(SphinxDirective):
    has_content = False

    def run(self):
        _report_pages(self.env).add(self.env.docname)
        return [verification_report()]


def _cell(text: str) -> nodes.entry:
    return nodes.entry("", nodes.paragraph(text=text))


def table(headers: list[str], rows: list[list[nodes.entry]], widths: list[int],
          css_class: str = "lstm-ref-report") -> nodes.table:
    """A docutils table: header texts, rows of entries, relative column widths."""
    group = nodes.tgroup(cols=len(headers))
    group += [nodes.colspec(colwidth=w) for w in widths]
    head = nodes.thead("", nodes.row("", *[_cell(h) for h in headers]))
    body = nodes.tbody("", *[nodes.row("", *cells) for cells in rows])
    group += [head, body]
    return nodes.table("", group, classes=[css_class])


def _page_heading(app: Sphinx, fromdoc: str, docname: str, count: int) -> nodes.rubric:
    title = app.env.titles[docname].astext() if docname in app.env.titles else docname
    ref = nodes.reference("", title, internal=True)
    ref["refuri"] = app.builder.get_relative_uri(fromdoc, docname)
    return nodes.rubric("", "", ref, nodes.Text(f" — {count} comparison{'s' * (count != 1)}"))


def _summary(records: list[tuple[str, dict]]) -> nodes.paragraph:
    pages = len({docname for docname, _ in records})
    failed = [r for _, r in records if not r["passed"]]
    text = (
        f"{len(records)} comparisons executed in {pages} page{'s' * (pages != 1)} "
        f"at build time; {len(records) - len(failed)} pass, {len(failed)} fail."
    )
    for dtype in ("float64", "float32"):
        errors = [r["max_abs_error"] for _, r in records if r["dtype"] == dtype]
        if errors:
            text += f" Worst {dtype} error: {max(errors):.1e} ({len(errors)} comparisons)."
    versions = sorted({r["versions"] for _, r in records if r["versions"]})
    if versions:
        text += f" Frameworks: {'; '.join(versions)}."
    return nodes.paragraph(text=text)


def _page_table(records: list[dict]) -> nodes.table:
    headers = ["quantity", "lstm_ref vs", "dtype", "max abs error", "tolerance", "result"]
    rows = [
        [
            _cell(f"{r['quantity']} ({'×'.join(map(str, r['shape'])) or 'scalar'})"),
            _cell(r["against"]),
            _cell(r["dtype"]),
            _cell(f"{r['max_abs_error']:.1e}"),
            _cell(f"≤ {r['tolerance']:.0e}"),
            _cell("✓ pass" if r["passed"] else "✗ FAIL"),
        ]
        for r in records
    ]
    return table(headers, rows, [22, 34, 8, 10, 9, 8])


def fill_reports(app: Sphinx, doctree: nodes.document, fromdoc: str) -> None:
    placeholders = list(doctree.findall(verification_report))
    if not placeholders:
        return
    store = _store(app.env)
    order = {d: k for k, d in enumerate(reading_order(app))}
    pages = sorted(store, key=lambda d: (order.get(d, len(order)), d))
    records = [(docname, record) for docname in pages for record in store[docname]]
    if not records:
        logger.warning("verification report: no comparison was found in any page", location=fromdoc)
    for record in (r for _, r in records if not r["passed"]):
        logger.warning(f"verification report: failed comparison {record}", location=fromdoc)
    content: list[nodes.Node] = [_summary(records)]
    for docname in pages:
        content.append(_page_heading(app, fromdoc, docname, len(store[docname])))
        content.append(_page_table(store[docname]))
    for placeholder in placeholders:
        placeholder.replace_self([node.deepcopy() for node in content])


def reading_order(app: Sphinx) -> list[str]:
    """Documents in table-of-contents order (the order a reader meets them)."""
    env = app.env
    ordered, seen = [], set()

    def visit(docname: str) -> None:
        if docname in seen:
            return
        seen.add(docname)
        ordered.append(docname)
        for child in env.toctree_includes.get(docname, []):
            visit(child)

    visit(app.config.root_doc)
    return ordered


# ---------------------------------------------------------------------------
# Chapter numbers that continue from one part to the next


def continue_numbering_across_parts() -> None:
    """Number the chapters of successive numbered toctrees 1, 2, ... throughout.

    Sphinx restarts at 1 in every numbered toctree, so Part II's first chapter
    would be "1." again and share equation and figure numbers with Part I's.
    After Sphinx assigns section numbers, shift each numbered toctree's
    chapter numbers by the number of chapters before it; figure and equation
    numbers, computed next from the section numbers, follow.
    """
    from sphinx.environment.collectors.toctree import TocTreeCollector

    assign = TocTreeCollector.assign_section_numbers
    if getattr(assign, "continues_across_parts", False):
        return

    def assign_section_numbers(self, env):
        old = env.toc_secnumbers
        assign(self, env)
        offset = 0
        for chapters in _numbered_toctrees(env):
            for docname in chapters:
                for member in _with_descendants(env, docname):
                    _shift_chapter_number(env, member, offset)
            offset += len(chapters)
        return [d for d, numbers in env.toc_secnumbers.items() if numbers != old.get(d)]

    assign_section_numbers.continues_across_parts = True
    TocTreeCollector.assign_section_numbers = assign_section_numbers


def _numbered_toctrees(env) -> list[list[str]]:
    """The chapters of each numbered toctree of the root document, in order."""
    from sphinx import addnodes

    root = env.config.root_doc
    if root not in env.all_docs:
        return []
    return [
        [ref for _, ref in toctree["entries"] if ref in env.toc_secnumbers]
        for toctree in env.get_doctree(root).findall(addnodes.toctree)
        if toctree.get("numbered")
    ]


def _with_descendants(env, docname: str) -> list[str]:
    found = [docname]
    for child in env.toctree_includes.get(docname, []):
        found += _with_descendants(env, child)
    return found


def _shift_chapter_number(env, docname: str, offset: int) -> None:
    if not offset or docname not in env.toc_secnumbers:
        return
    shift = lambda number: (number[0] + offset, *number[1:]) if number else number  # noqa: E731
    env.toc_secnumbers[docname] = {
        anchor: shift(number) for anchor, number in env.toc_secnumbers[docname].items()
    }
    # The numbers the sidebar and the page titles show.
    for reference in env.tocs[docname].findall(nodes.reference):
        if reference.get("secnumber"):
            reference["secnumber"] = list(shift(tuple(reference["secnumber"])))
    title = env.titles.get(docname)
    if title is not None and title.get("secnumber"):
        title["secnumber"] = list(shift(tuple(title["secnumber"])))


# ---------------------------------------------------------------------------
# Incremental builds


def purge_before_reading(app: Sphinx, env, docnames: list[str]) -> None:
    """Forget everything the pages about to be re-read defined, before any is read.

    Sphinx purges a page just before re-reading it, so a label that moved from
    a page read later to one read earlier (an equation moving between chapters)
    would otherwise be reported as a duplicate of its own stale copy.
    """
    for docname in docnames:
        if docname in env.all_docs:
            env.events.emit("env-purge-doc", env, docname)
            env.clear_doc(docname)


# ---------------------------------------------------------------------------
# .ipynb downloads


def offer_notebook_download(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Put the executed notebook in ``_sources`` so the download menu lists it."""
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if doctree is None or not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Sphinx) -> dict:
    continue_numbering_across_parts()
    app.add_node(verification_report)
    app.add_directive("verification-report", VerificationReportDirective)
    app.connect("env-before-read-docs", purge_before_reading)
    app.connect("doctree-read", collect_records)
    app.connect("env-purge-doc", purge_records)
    app.connect("env-merge-info", merge_records)
    app.connect("env-get-outdated", reread_reports)
    app.connect("doctree-resolved", fill_reports)
    # Before sphinx-book-theme builds its header buttons (priority 501).
    app.connect("html-page-context", offer_notebook_download, priority=400)
    # Bump env_version whenever what is stored in the environment changes shape.
    return {"version": "1", "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
