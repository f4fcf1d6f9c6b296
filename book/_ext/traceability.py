"""Sphinx extension: every numbered equation → the lstm_ref function that
implements it → the tests that exercise that function.

* An equation is *implemented* by every function, method or class of
  ``lstm_ref`` whose docstring cites its label as ``:eq:`label```.
* A function is *exercised* by a test that names it (a call, an attribute,
  an import), or that names a function of lstm_ref which calls it: the
  package's own call graph is followed, so a test of ``lstm_step`` also
  exercises ``cell_update``.

Both are read from the source with ``ast``, nothing is imported or run. The
``traceability-table`` directive shows the result, and the build fails (a
warning, which ``-W`` makes an error) when a numbered equation has no
implementation, an implementation no test, or a docstring cites a label no
page defines.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from lstm_ref_book import chapter_title, reading_order, table

logger = logging.getLogger(__name__)

_CITATION = re.compile(r":eq:`([^`]+)`")


@dataclass
class Definition:
    """A function, method or class of lstm_ref."""

    qualname: str  # lstm_ref.cell.cell_update, lstm_ref.conventions.tf1.LSTMCell.__call__
    labels: list[str]
    calls: set[str] = field(default_factory=set)  # simple names it calls or mentions

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


def _referenced_names(node: ast.AST) -> set[str]:
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, ast.Attribute):
            names.add(child.attr)
        elif isinstance(child, ast.alias):
            names.add(child.asname or child.name.rsplit(".", 1)[-1])
    return names


def package_definitions(package_dir: Path) -> list[Definition]:
    """Every function, method and class under ``package_dir`` with the labels it cites."""
    definitions = []
    root = package_dir.parent
    for path in sorted(package_dir.rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(), filename=str(path))

        def visit(body, prefix):
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qualname = f"{prefix}.{node.name}"
                    labels = _CITATION.findall(ast.get_docstring(node) or "")
                    definitions.append(Definition(qualname, labels, _referenced_names(node)))
                    if isinstance(node, ast.ClassDef):
                        visit(node.body, qualname)

        visit(tree.body, module)
    return definitions


def test_references(tests_dir: Path) -> dict[str, set[str]]:
    """For each test (``file::name``), the names it mentions, module imports included."""
    references = {}
    for path in sorted(tests_dir.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names = _referenced_names(node)
                # Helpers of the test module that the test calls count as the test.
                for helper in names & set(helpers) - {node.name}:
                    names |= _referenced_names(helpers[helper])
                references[f"{path.relative_to(tests_dir)}::{node.name}"] = names
    return references


def exercising_tests(definitions: list[Definition], tests: dict[str, set[str]]) -> dict[str, set[str]]:
    """Tests exercising each definition, directly or through lstm_ref's calls."""
    by_name = defaultdict(list)
    for d in definitions:
        by_name[d.name].append(d)
    reached = defaultdict(set)  # qualname -> tests
    for test, names in tests.items():
        frontier = [d for n in names for d in by_name.get(n, [])]
        seen = set()
        while frontier:
            d = frontier.pop()
            if d.qualname in seen:
                continue
            seen.add(d.qualname)
            reached[d.qualname].add(test)
            # A class is exercised through its methods and vice versa; a
            # function through every lstm_ref function it calls.
            frontier += [c for n in d.calls for c in by_name.get(n, [])]
            frontier += [m for m in definitions if m.qualname.startswith(d.qualname + ".")]
    return reached


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _describe_tests(definition: Definition, found: set[str], references) -> str:
    """``"3 by name (test_a, test_b, ...); 41 in all"``."""
    direct = sorted(t for t in found if definition.name in references[t])
    shown = ", ".join(t.split("::")[1] for t in direct[:2]) + (", ..." if len(direct) > 2 else "")
    text = f"{len(direct)} by name ({shown}); " if direct else ""
    return text + f"{len(found)} in all"


# ---------------------------------------------------------------------------
# Sphinx


class traceability_table(nodes.General, nodes.Element):
    """Placeholder, replaced once every page has been read."""


class TraceabilityDirective(SphinxDirective):
    def run(self):
        _pages(self.env).add(self.env.docname)
        return [traceability_table()]


def _pages(env) -> set[str]:
    if not hasattr(env, "lstm_ref_traceability_pages"):
        env.lstm_ref_traceability_pages = set()
    return env.lstm_ref_traceability_pages


def _purge(app, env, docname):
    _pages(env).discard(docname)


def _merge(app, env, docnames, other):
    _pages(env).update(_pages(other) & set(docnames))


def _reread(app, env, added, changed, removed):
    """The table summarizes every page and the package: rebuild it on any change."""
    return sorted(_pages(env) - set(removed))


def _para(*children) -> nodes.paragraph:
    return nodes.paragraph("", "", *children)


def _entry(*children) -> nodes.entry:
    return nodes.entry("", *children)


def _equation_ref(app, fromdoc, label):
    domain = app.env.get_domain("math")
    ref = domain.resolve_xref(app.env, fromdoc, app.builder, "eq", label,
                              nodes.Element(), nodes.literal(text=label))
    return ref if ref is not None else nodes.literal(text=label)


def _api_ref(app, fromdoc, qualname):
    """A link to the definition's entry on the API page.

    Top-level names are documented where ``lstm_ref`` exports them
    (``lstm_ref.lstm_step``), methods may only have their class documented.
    """
    objects = app.env.get_domain("py").objects
    parent, name = qualname.rsplit(".", 1)
    candidates = [qualname, f"lstm_ref.{name}", parent, f"lstm_ref.{parent.rsplit('.', 1)[-1]}"]
    label = nodes.literal(text=qualname.removeprefix("lstm_ref."))
    for candidate in candidates:
        if candidate in objects:
            entry = objects[candidate]
            uri = app.builder.get_relative_uri(fromdoc, entry.docname) + "#" + entry.node_id
            return nodes.reference("", "", label, internal=True, refuri=uri)
    return label


def _equation_cell(app, fromdoc, label, docname) -> nodes.entry:
    """The equation's number, its name (its label without ``eq-``) and the equation, rendered."""
    name = label.removeprefix("eq-").replace("-", " ")
    blocks = [b for b in app.env.get_doctree(docname).findall(nodes.math_block)
              if b.get("label") == label]
    rendered = [_para(nodes.math(b.astext(), b.astext())) for b in blocks[:1]]
    return _entry(_para(_equation_ref(app, fromdoc, label), nodes.Text(f" {name}")), *rendered)


def fill_table(app: Sphinx, doctree: nodes.document, fromdoc: str) -> None:
    placeholders = list(doctree.findall(traceability_table))
    if not placeholders:
        return
    root = Path(app.confdir)
    definitions = package_definitions(root / "lstm_ref")
    references = test_references(root / "tests")
    tests = exercising_tests(definitions, references)
    equations = app.env.get_domain("math").equations  # label -> (docname, number)
    implementers = defaultdict(list)
    for d in definitions:
        for label in d.labels:
            implementers[label].append(d)
            if label not in equations:
                logger.warning(f"traceability: {d.qualname} cites :eq:`{label}`, "
                               "which no page defines", location=fromdoc)

    order = {doc: k for k, doc in enumerate(reading_order(app))}
    labels = sorted(equations, key=lambda lbl: (order.get(equations[lbl][0], len(order)),
                                                equations[lbl][1] or 0))
    rows, missing = [], 0
    for label in labels:
        docname = equations[label][0]
        impl = implementers.get(label, [])
        if not impl:
            missing += 1
            logger.warning(f"traceability: equation {label} ({docname}) has no implementing "
                           "function (cite it as :eq:`...` in a docstring)", location=docname)
        test_cells = []
        for d in impl:
            found = tests.get(d.qualname, set())
            if not found:
                logger.warning(f"traceability: {d.qualname} implements {label} but no test "
                               "exercises it", location=fromdoc)
            test_cells.append(_para(nodes.Text(_describe_tests(d, found, references))))
        chapter = nodes.reference("", chapter_title(app, docname), internal=True,
                                  refuri=app.builder.get_relative_uri(fromdoc, docname))
        rows.append([
            _equation_cell(app, fromdoc, label, docname),
            _entry(_para(chapter)),
            _entry(*[_para(_api_ref(app, fromdoc, d.qualname)) for d in impl] or [_para(nodes.Text("—"))]),
            _entry(*test_cells or [_para(nodes.Text("—"))]),
        ])
    summary = nodes.paragraph(text=(
        f"{len(labels)} numbered equations, {len(labels) - missing} of them implemented, "
        f"in {_count(len({equations[lbl][0] for lbl in labels}), 'page')}; the suite has "
        f"{len(references)} tests."))
    headers = ["equation", "defined in", "implemented by", "tests that exercise it"]
    result = table(headers, rows, [30, 16, 24, 30], css_class="lstm-ref-trace")
    for placeholder in placeholders:
        placeholder.replace_self([summary.deepcopy(), result.deepcopy()])


def setup(app: Sphinx) -> dict:
    app.add_node(traceability_table)
    app.add_directive("traceability-table", TraceabilityDirective)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _reread)
    app.connect("doctree-resolved", fill_table)
    return {"version": "1", "env_version": 1, "parallel_read_safe": True,
            "parallel_write_safe": True}
