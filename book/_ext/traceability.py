"""Sphinx extension: every numbered equation → the one lstm_ref function that
implements it → the tests that exercise that function.

* An equation is *implemented* by the function, method or class of
  ``lstm_ref`` whose docstring cites its label as ``:eq:`label```: exactly
  one, so that a reader who searches the label in ``lstm_ref/`` lands on it.
  No other place in ``lstm_ref/`` may mention the label.
* A function is *exercised* by a test that names it (a call, an attribute,
  an import), or that names a function of lstm_ref which calls it: the
  package's own call graph is followed, so a test of ``lstm_step`` also
  exercises ``cell_update``.

Both are read from the source with ``ast``, nothing is imported or run. The
``traceability-table`` directive shows the result, and the build fails (a
warning, which ``-W`` makes an error) when a numbered equation is cited by no
function or by more than one, is mentioned anywhere else in ``lstm_ref/``, or
its function has no test, or when a docstring cites a label no page defines.
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

from lstm_ref_book import reading_order, table

logger = logging.getLogger(__name__)

_CITATION = re.compile(r":eq:`([^`]+)`")
_LABEL = re.compile(r"(?<![\w-])eq-[\w-]*\w")  # a label, however it is written


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


def label_mentions(package_dir: Path) -> dict[str, set[str]]:
    """For each label mentioned anywhere under ``package_dir``, where: the qualified
    name of the innermost function, method or class around the mention, or the
    module's name for a mention outside every definition."""
    mentions = defaultdict(set)
    root = package_dir.parent
    for path in sorted(package_dir.rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        text = path.read_text()
        spans = []  # (first line, last line, qualname), outer before inner

        def visit(body, prefix):
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qualname = f"{prefix}.{node.name}"
                    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    spans.append((first, node.end_lineno, qualname))
                    visit(node.body, qualname)

        visit(ast.parse(text, filename=str(path)).body, module)
        for number, line in enumerate(text.splitlines(), start=1):
            for label in _LABEL.findall(line):
                inside = [q for first, last, q in spans if first <= number <= last]
                mentions[label].add(inside[-1] if inside else module)
    return mentions


def implementers_of(definitions: list["Definition"]) -> dict[str, list["Definition"]]:
    """The definitions whose docstrings cite each label."""
    implementers = defaultdict(list)
    for d in definitions:
        for label in d.labels:
            implementers[label].append(d)
    return implementers


def citation_problems(label: str, implementers: list["Definition"],
                      mentions: set[str]) -> list[str]:
    """What is wrong with how ``lstm_ref`` cites ``label``: [] when exactly one
    function cites it and nothing else in the package mentions it."""
    if not implementers:
        return [f"equation {label} has no implementing function (cite it as :eq:`{label}` "
                "in the docstring of the one function whose body computes it)"]
    names = [d.qualname for d in implementers]
    if len(names) > 1:
        return [f"equation {label} is cited by {len(names)} functions ({', '.join(names)}); "
                "exactly one, the function whose body computes it, may cite it"]
    others = sorted(mentions - set(names))
    if others:
        return [f"equation {label} is implemented by {names[0]} but also mentioned in "
                f"{', '.join(others)}; refer to {names[0].rsplit('.', 1)[-1]} by name instead"]
    return []


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


def fill_table(app: Sphinx, doctree: nodes.document, fromdoc: str) -> None:
    placeholders = list(doctree.findall(traceability_table))
    if not placeholders:
        return
    root = Path(app.confdir)
    definitions = package_definitions(root / "lstm_ref")
    references = test_references(root / "tests")
    tests = exercising_tests(definitions, references)
    equations = app.env.get_domain("math").equations  # label -> (docname, number)
    implementers = implementers_of(definitions)
    mentions = label_mentions(root / "lstm_ref")
    for label, where in sorted(mentions.items()):
        if label not in equations:
            logger.warning(f"traceability: {', '.join(sorted(where))} mentions {label}, "
                           "which no page defines", location=fromdoc)

    order = {doc: k for k, doc in enumerate(reading_order(app))}
    labels = sorted(equations, key=lambda lbl: (order.get(equations[lbl][0], len(order)),
                                                equations[lbl][1] or 0))
    rows, missing = [], 0
    for label in labels:
        docname = equations[label][0]
        impl = implementers.get(label, [])
        problems = citation_problems(label, impl, mentions.get(label, set()))
        for problem in problems:
            logger.warning(f"traceability: {problem}", location=docname)
        missing += bool(problems)
        test_cells = []
        for d in impl:
            found = tests.get(d.qualname, set())
            if not found:
                logger.warning(f"traceability: {d.qualname} implements {label} but no test "
                               "exercises it", location=fromdoc)
            test_cells.append(_para(nodes.Text(_describe_tests(d, found, references))))
        title = app.env.titles[docname].astext() if docname in app.env.titles else docname
        chapter = nodes.reference("", title, internal=True,
                                  refuri=app.builder.get_relative_uri(fromdoc, docname))
        rows.append([
            _entry(_para(_equation_ref(app, fromdoc, label))),
            _entry(_para(chapter)),
            _entry(*[_para(_api_ref(app, fromdoc, d.qualname)) for d in impl] or [_para(nodes.Text("—"))]),
            _entry(*test_cells or [_para(nodes.Text("—"))]),
        ])
    summary = nodes.paragraph(text=(
        f"{len(labels)} numbered equations in "
        f"{_count(len({equations[lbl][0] for lbl in labels}), 'page')}, "
        f"{len(labels) - missing} of them implemented by exactly one function each; the suite has "
        f"{len(references)} tests."))
    headers = ["equation", "defined in", "implemented by", "tests that exercise it"]
    result = table(headers, rows, [10, 22, 30, 38], css_class="lstm-ref-trace")
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
