"""Sphinx extension for the lstm_ref book.

* **Verification report.** Every ``lstm_ref.verify.compare`` table that a
  chapter displays carries its comparisons (``lstm_ref.verify.embed_records``).
  When Sphinx reads a chapter (executed now or taken from the execution
  cache) this extension reads them back (``lstm_ref.verify.read_records``)
  into the build environment; the ``verification-report`` directive turns
  all of them into one report: live comparisons with each framework, then
  comparisons with printed or published values, then lstm_ref against
  itself, each with its own worst errors. The report page is re-read
  whenever any chapter changes, so it is never stale.
* **Notebook downloads.** Copies each executed notebook next to the page
  sources, so the theme's download menu offers ``.ipynb``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from lstm_ref.verify import Comparison, read_records

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Collecting verification records


def _records_of(doctree: nodes.document) -> list[Comparison]:
    return [
        record
        for raw in doctree.findall(nodes.raw)
        if "html" in raw.get("format", "")
        for record in read_records(raw.astext())
    ]


def collect_records(app: Sphinx, doctree: nodes.document) -> None:
    records = _records_of(doctree)
    store = _store(app.env)
    store.pop(app.env.docname, None)
    if records:
        store[app.env.docname] = records


def _store(env) -> dict[str, list[Comparison]]:
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
# What a comparison was against

#: The report's sections, in order: key, title, what they hold.
SECTIONS = (
    ("live", "Against the frameworks, live",
     "lstm_ref against the framework itself, run while this book was built."),
    ("published", "Against printed and published values",
     "lstm_ref against numbers a source printed: the seed notebooks' outputs and the "
     "expected values in TensorFlow's own tests. Their tolerances follow the digits printed."),
    ("self", "lstm_ref against itself",
     "One path of lstm_ref against another (the loop against the vectorized form, the "
     "fast path against the readable one, a hand calculation, finite differences)."),
)

_PRINTED = re.compile(r"\bprinted\b|\bpublished\b", re.I)
#: Live references by framework, first match wins: the pattern is searched in ``against``.
FRAMEWORKS = (
    ("LiteRT", re.compile(r"litert|tflite|tf\.lite", re.I)),
    ("ONNX Runtime", re.compile(r"onnx", re.I)),
    ("PyTorch", re.compile(r"torch", re.I)),
    ("JAX / Flax", re.compile(r"\bjax\b|\bflax\b|\bnnx\b", re.I)),
    # A bare cell name is TF 1.x's; keras.layers.LSTMCell (after a dot) is not.
    ("tf.compat.v1", re.compile(r"tf\.compat\.v1|(?<![.\w])(?:Basic)?LSTMCell\b|\bMultiRNNCell\b")),
    ("TensorFlow / Keras", re.compile(r"keras|tensorflow|\btf\.|\bTF\b|GradientTape|^LSTM\(",
                                      re.I)),
)
#: The order of the framework sections in the report.
FRAMEWORK_ORDER = ("TensorFlow / Keras", "tf.compat.v1", "PyTorch", "JAX / Flax", "ONNX Runtime",
                   "LiteRT")


def reference_group(against: str) -> tuple[str, str]:
    """(section key, group title) of a comparison, from what it was against.

    >>> reference_group("tf.GradientTape, tf.compat.v1 LSTMCell")
    ('live', 'tf.compat.v1')
    >>> reference_group("seed 003's printed output")
    ('published', 'Printed and published values')
    >>> reference_group("the loop above")
    ('self', 'lstm_ref against itself')
    """
    if _PRINTED.search(against):
        return "published", "Printed and published values"
    for title, pattern in FRAMEWORKS:
        if pattern.search(against):
            return "live", title
    return "self", "lstm_ref against itself"


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


def chapter_title(app: Sphinx, docname: str) -> str:
    """A page's title with its chapter number, as the sidebar shows it: "3. Layer normalization"."""
    title = app.env.titles[docname].astext() if docname in app.env.titles else docname
    number = app.env.toc_secnumbers.get(docname, {}).get("")
    return f"{'.'.join(map(str, number))}. {title}" if number else title


def _page_heading(app: Sphinx, fromdoc: str, docname: str, count: int) -> nodes.rubric:
    ref = nodes.reference("", chapter_title(app, docname), internal=True)
    ref["refuri"] = app.builder.get_relative_uri(fromdoc, docname)
    return nodes.rubric("", "", ref, nodes.Text(f" — {_count(count, 'comparison')}"))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def worst_errors(records: list[Comparison]) -> str:
    """``"worst float64 error 2.2e-16 (40 comparisons), worst float32 error ..."``."""
    parts = []
    for dtype in ("float64", "float32"):
        errors = [r.max_abs_error for r in records if r.dtype == dtype]
        if errors:
            parts.append(f"worst {dtype} error {max(errors):.1e} ({_count(len(errors), 'comparison')})")
    others = [r for r in records if r.dtype not in ("float64", "float32")]
    if others:
        parts.append(f"worst error in other dtypes {max(r.max_abs_error for r in others):.1e} "
                     f"({_count(len(others), 'comparison')})")
    return ", ".join(parts)


def _summary(records: list[tuple[str, Comparison]]) -> nodes.paragraph:
    pages = len({docname for docname, _ in records})
    failed = [r for _, r in records if not r.passed]
    return nodes.paragraph(text=(
        f"{len(records)} comparisons executed in {_count(pages, 'page')} at build time; "
        f"{len(records) - len(failed)} pass, {len(failed)} fail."))


def _page_table(records: list[Comparison]) -> nodes.table:
    headers = ["quantity", "lstm_ref vs", "dtype", "max abs error", "tolerance", "result"]
    rows = [
        [
            _cell(f"{r.quantity} ({'×'.join(map(str, r.shape)) or 'scalar'})"),
            _cell(r.against),
            _cell(r.dtype),
            _cell(f"{r.max_abs_error:.1e}"),
            _cell(f"≤ {r.tolerance:.0e}"),
            _cell("✓ pass" if r.passed else "✗ FAIL"),
        ]
        for r in records
    ]
    return table(headers, rows, [22, 34, 8, 10, 9, 8])


def _section(title: str, node_id: str, *children: nodes.Node) -> nodes.section:
    section = nodes.section("", nodes.title(text=title), *children, ids=[node_id], names=[node_id])
    return section


def _slug(text: str) -> str:
    return "report-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _by_chapter(app: Sphinx, fromdoc: str, records: list[tuple[str, Comparison]]) -> list[nodes.Node]:
    """A heading and a table per page, in reading order (``records`` already are)."""
    content = []
    for docname in dict.fromkeys(d for d, _ in records):
        page = [r for d, r in records if d == docname]
        content += [_page_heading(app, fromdoc, docname, len(page)), _page_table(page)]
    return content


def report_content(app: Sphinx, fromdoc: str, records: list[tuple[str, Comparison]]) -> list[nodes.Node]:
    """The report: a summary, then a section per kind of reference, live ones by framework."""
    content: list[nodes.Node] = [_summary(records)]
    for key, title, description in SECTIONS:
        in_section = [(d, r) for d, r in records if reference_group(r.against)[0] == key]
        if not in_section:
            continue
        section = _section(title, _slug(title), nodes.paragraph(text=(
            f"{description} {_count(len(in_section), 'comparison')}; "
            f"{worst_errors([r for _, r in in_section])}.")))
        if key == "live":
            groups = sorted({reference_group(r.against)[1] for _, r in in_section},
                            key=FRAMEWORK_ORDER.index)
            for group in groups:
                in_group = [(d, r) for d, r in in_section if reference_group(r.against)[1] == group]
                versions = sorted({r.versions for _, r in in_group if r.versions})
                text = f"{_count(len(in_group), 'comparison')}; {worst_errors([r for _, r in in_group])}."
                if versions:
                    text += f" Versions: {'; '.join(versions)}."
                section += _section(group, _slug(group), nodes.paragraph(text=text),
                                    *_by_chapter(app, fromdoc, in_group))
        else:
            section += _by_chapter(app, fromdoc, in_section)
        content.append(section)
    return content


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
    for record in (r for _, r in records if not r.passed):
        logger.warning(f"verification report: failed comparison {record}", location=fromdoc)
    content = report_content(app, fromdoc, records)
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
    return {"version": "2", "env_version": 2, "parallel_read_safe": True, "parallel_write_safe": True}
