"""Sphinx extension: every numbered equation → the one lstm_ref function that
implements it → the tests that exercise that function.

* An equation is *implemented* by the function, method or class of
  ``lstm_ref`` whose docstring cites its label as ``:eq:`label```: exactly
  one, so that a reader who searches the label in ``lstm_ref/`` lands on it.
  No other place in ``lstm_ref/`` may mention the label.
* A function is *exercised* by a test that reaches it: that names it (a
  call, an attribute, an import), or a helper or a function of lstm_ref that
  reaches it, so a test of ``lstm_step`` also exercises ``cell_update``.
  Names are resolved to the definition they reach (:class:`Index`): through
  imports and aliases, and ``obj.method`` only where ``obj``'s class is a
  class of lstm_ref that the source shows, so that ``array.copy()`` or
  ``tensor.backward()`` reach nothing of lstm_ref.

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
from typing import Optional

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from lstm_ref_book import chapter_title, reading_order, table

logger = logging.getLogger(__name__)

_CITATION = re.compile(r":eq:`([^`]+)`")
_LABEL = re.compile(r"(?<![\w-])eq-[\w-]*\w")  # a label, however it is written


@dataclass
class Definition:
    """A function, method, class or module-level variable of lstm_ref or of the tests."""

    qualname: str  # lstm_ref.cell.cell_update, lstm_ref.conventions.tf1.LSTMCell.__call__
    labels: list[str]
    calls: set[str] = field(default_factory=set)  # qualnames of the definitions it reaches
    kind: str = "function"  # "function", "class" or "variable"

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------
# Resolving names to the definitions they reach
#
# A value the resolver can tell apart: ("ref", qualname) is a module, class,
# function or variable itself, ("inst", class) an instance of a class of the
# index, ("tuple", values) a tuple of such, ("super", class) what super()
# returns in a method of that class; None is anything else (NumPy arrays,
# fixtures, numbers), on which no attribute resolves.


@dataclass
class _Module:
    name: str
    tree: ast.Module
    is_package: bool
    names: dict[str, str] = field(default_factory=dict)  # local name -> dotted target


_PROPERTIES = {"property", "cached_property"}


class Index:
    """The modules of lstm_ref and of the tests, and every name they bind.

    :meth:`target` follows imports (``from lstm_ref import cell as c``,
    ``import lstm_ref.fast as fast``, re-exports through ``__init__``),
    attributes of modules and classes, and ``obj.method`` where ``obj`` is an
    instance of a class of the index: made by calling the class, annotated as
    one, ``self``, returned by a function annotated to return one or whose
    ``return`` makes one (tuples unpacked), or an attribute of such an
    instance that the class annotates or assigns (``self.lstm = lstm``). What
    cannot be resolved, such as a method of a NumPy array (``.copy()``) or of
    a framework object (``.backward()``), reaches nothing.
    """

    def __init__(self):
        self.modules: dict[str, _Module] = {}
        self.definitions: dict[str, Definition] = {}
        self.nodes: dict[str, ast.AST] = {}  # qualname -> its ast node
        self.module_of: dict[str, str] = {}  # qualname -> module name
        self.bases: dict[str, list[str]] = {}  # class -> resolved base classes
        self.variable_values: dict[str, ast.expr] = {}
        # class -> attribute -> where its value comes from: ("annotation", node,
        # module) for a field, ("assign", method, node) for self.attr = ... .
        self.attributes: dict[str, dict[str, list[tuple]]] = {}
        self._evaluating: set = set()  # what is being evaluated: a = b; b = a ends there
        self._environments: dict[str, dict] = {}

    # -- building ------------------------------------------------------------

    def add_tree(self, root: Path, prefix: Optional[str] = None) -> None:
        """Every ``*.py`` under ``root``, named as Python imports them from ``root``'s
        parent (or, for ``prefix=""``, as top-level modules, as pytest imports tests)."""
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root if prefix == "" else root.parent).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            self.add_module(name, path.read_text(), is_package, str(path))

    def add_module(self, name: str, source: str, is_package: bool = False,
                   filename: str = "<source>") -> None:
        module = _Module(name, ast.parse(source, filename=filename), is_package)
        self.modules[name] = module
        for node in module.tree.body:
            self._bind(module, node, name)

    def _bind(self, module: _Module, node: ast.stmt, prefix: str) -> None:
        """Register what ``node`` defines (at module level or in a class body)."""
        at_module = prefix == module.name
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qualname = f"{prefix}.{node.name}"
            labels = _CITATION.findall(ast.get_docstring(node) or "")
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            self.definitions[qualname] = Definition(qualname, labels, kind=kind)
            self.nodes[qualname], self.module_of[qualname] = node, module.name
            if at_module:
                module.names[node.name] = qualname
            if isinstance(node, ast.ClassDef):
                for child in node.body:
                    self._bind(module, child, qualname)
        elif at_module and isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if isinstance(node, ast.Import):
                    if alias.asname:
                        module.names[alias.asname] = alias.name
                    else:  # import a.b binds a
                        top = alias.name.split(".")[0]
                        module.names[top] = top
                else:
                    source = self._absolute(module, node.module, node.level)
                    module.names[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif at_module and isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    qualname = f"{prefix}.{target.id}"
                    self.definitions[qualname] = Definition(qualname, [], kind="variable")
                    self.nodes[qualname], self.module_of[qualname] = node.value, module.name
                    self.variable_values[qualname] = node.value
                    module.names[target.id] = qualname

    @staticmethod
    def _absolute(module: _Module, name: Optional[str], level: int) -> str:
        if not level:
            return name or ""
        parts = module.name.split(".")
        if not module.is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (level - 1)]
        return ".".join(parts + ([name] if name else []))

    def finish(self) -> None:
        """Resolve the base classes and what every definition reaches."""
        for qualname, node in self.nodes.items():
            if isinstance(node, ast.ClassDef):
                module = self.modules[self.module_of[qualname]]
                self.bases[qualname] = [
                    v[1] for v in (self.evaluate(b, module, {}) for b in node.bases)
                    if v and v[0] == "ref" and isinstance(self.nodes.get(v[1]), ast.ClassDef)]
                self.attributes[qualname] = self._attribute_sources(qualname, node, module)
        for qualname, definition in self.definitions.items():
            definition.calls = self.references(qualname)

    def _attribute_sources(self, qualname: str, node: ast.ClassDef, module: _Module
                           ) -> dict[str, list[tuple]]:
        """Where each attribute of a class's instances gets its value: the class's
        annotated fields (dataclasses, NamedTuples) and ``self.attr = ...`` in its methods."""
        sources = defaultdict(list)
        for child in node.body:
            if isinstance(child, ast.AnnAssign) and isinstance(child.target, ast.Name):
                sources[child.target.id].append(("annotation", child.annotation, module))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for statement in ast.walk(child):
                    if isinstance(statement, ast.Assign):
                        for target, value in _pairs(statement.targets, statement.value):
                            if (isinstance(target, ast.Attribute)
                                    and isinstance(target.value, ast.Name)
                                    and target.value.id == "self"):
                                sources[target.attr].append(
                                    ("assign", f"{qualname}.{child.name}", value))
        return dict(sources)

    def _guarded(self, key, compute):
        """``compute()``, or None if ``key`` is already being computed (a cycle)."""
        if key in self._evaluating:
            return None
        self._evaluating.add(key)
        try:
            return compute()
        finally:
            self._evaluating.discard(key)

    def attribute(self, cls: str, attr: str):
        """What ``instance.attr`` holds for an instance of ``cls`` (or of a subclass
        that inherits the assignment), if the class's source tells."""
        for kind, where, node in self.attributes.get(cls, {}).get(attr, []):
            if kind == "annotation":
                value = self.annotation(where, node)
            else:
                module = self.modules[self.module_of[where]]
                value = self.evaluate(node, module, self._environment(where, self.nodes[where],
                                                                      module))
            if value is not None:
                return value
        for base in self.bases.get(cls, []):
            value = self._guarded(("attribute", base, attr), lambda: self.attribute(base, attr))
            if value is not None:
                return value
        return None

    # -- resolving -----------------------------------------------------------

    def canonical(self, target: str, _seen: frozenset = frozenset()) -> Optional[str]:
        """The module or definition a dotted name stands for, following re-exports."""
        if target in self.definitions or target in self.modules:
            return target
        if target in _seen or "." not in target:
            return None
        parent, _, attr = target.rpartition(".")
        seen = _seen | {target}
        module = self.modules.get(parent)
        if module is not None and attr in module.names:
            return self.canonical(module.names[attr], seen)
        resolved = self.canonical(parent, seen)
        if resolved is None or resolved == parent:
            return None
        if isinstance(self.nodes.get(resolved), ast.ClassDef):
            return self.member(resolved, attr)
        return self.canonical(f"{resolved}.{attr}", seen)

    def member(self, cls: str, attr: str, _seen: frozenset = frozenset()) -> Optional[str]:
        """``cls.attr`` as defined in the class or the first base class that has it."""
        if f"{cls}.{attr}" in self.definitions:
            return f"{cls}.{attr}"
        for base in self.bases.get(cls, []):
            if base not in _seen:
                found = self.member(base, attr, _seen | {cls})
                if found:
                    return found
        return None

    def _is_property(self, qualname: str) -> bool:
        node = self.nodes.get(qualname)
        return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            (d.id if isinstance(d, ast.Name) else getattr(d, "attr", None)) in _PROPERTIES
            for d in node.decorator_list)

    def target(self, node: ast.expr, module: _Module, env: dict) -> Optional[str]:
        """The definition (or module) the name or attribute ``node`` names, if any."""
        if isinstance(node, ast.Name):
            if node.id in env:
                value = env[node.id]
                return value[1] if value and value[0] == "ref" else None
            return self.canonical(module.names[node.id]) if node.id in module.names else None
        if isinstance(node, ast.Attribute):
            owner = self.evaluate(node.value, module, env)
            if not owner:
                return None
            kind, what = owner
            if kind == "ref" and what in self.modules:
                return self.canonical(f"{what}.{node.attr}")
            if kind in ("inst", "ref") and isinstance(self.nodes.get(what), ast.ClassDef):
                return self.member(what, node.attr)
            if kind == "super":
                for base in self.bases.get(what, []):
                    found = self.member(base, node.attr)
                    if found:
                        return found
        return None

    def evaluate(self, node: ast.expr, module: _Module, env: dict):
        """What ``node`` evaluates to, as far as the index can tell (see above)."""
        if isinstance(node, (ast.Name, ast.Attribute)):
            if isinstance(node, ast.Name) and node.id in env:
                return env[node.id]
            qualname = self.target(node, module, env)
            if qualname is None:
                if isinstance(node, ast.Attribute):  # an instance's attribute, not a method
                    owner = self.evaluate(node.value, module, env)
                    if owner and owner[0] == "inst":
                        return self._guarded(("attribute", owner[1], node.attr),
                                             lambda: self.attribute(owner[1], node.attr))
                return None
            definition = self.definitions.get(qualname)  # None for a module
            if definition is not None and definition.kind == "variable":
                return self._guarded(qualname, lambda: self.evaluate(
                    self.variable_values[qualname], self.modules[self.module_of[qualname]], {}))
            if isinstance(node, ast.Attribute) and self._is_property(qualname):
                return self.returns(qualname)
            return ("ref", qualname)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "super" and env.get("__class__"):
                return ("super", env["__class__"][1])
            callee = self.evaluate(node.func, module, env)
            if callee and callee[0] == "ref":
                if isinstance(self.nodes.get(callee[1]), ast.ClassDef):
                    return ("inst", callee[1])
                return self.returns(callee[1])
            return None
        if isinstance(node, ast.Tuple):
            return ("tuple", tuple(self.evaluate(e, module, env) for e in node.elts))
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            value = self.evaluate(node.value, module, env)  # forward(X, params)[2]
            k = node.slice.value
            if value and value[0] == "tuple" and isinstance(k, int):
                items = value[1]
                return items[k] if -len(items) <= k < len(items) else None
            return None
        if isinstance(node, ast.IfExp):  # a if test else b: whichever the index can tell
            return self.evaluate(node.body, module, env) or self.evaluate(node.orelse, module, env)
        return None

    def returns(self, qualname: str):
        """What calling a function of the index returns: from its return annotation,
        or else from what its ``return`` statements return (conftest's helpers)."""
        node = self.nodes.get(qualname)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        module = self.modules[self.module_of[qualname]]
        if node.returns is not None:
            return self.annotation(node.returns, module)
        return self._guarded(("returns", qualname), lambda: self._returned(qualname, node, module))

    def _returned(self, qualname: str, node, module: _Module):
        env = self._environment(qualname, node, module)
        for child in ast.walk(node):
            if isinstance(child, ast.Return) and child.value is not None:
                value = self.evaluate(child.value, module, env)
                if value is not None:
                    return value
        return None

    def annotation(self, node: ast.expr, module: _Module):
        """An instance of the class an annotation names: ``FastCache``,
        ``"FastLSTM"``, ``Optional[X]``, ``tuple[X, Y]`` (a tuple of them)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(node, ast.Subscript):
            outer = node.value.id if isinstance(node.value, ast.Name) else getattr(
                node.value, "attr", None)
            inner = node.slice
            if outer in ("tuple", "Tuple") and isinstance(inner, ast.Tuple):
                return ("tuple", tuple(self.annotation(e, module) for e in inner.elts))
            if outer == "Optional":
                return self.annotation(inner, module)
            return None
        value = self.evaluate(node, module, {})
        if value and value[0] == "ref" and isinstance(self.nodes.get(value[1]), ast.ClassDef):
            return ("inst", value[1])
        return None

    def _environment(self, qualname: str, node, module: _Module) -> dict:
        """Local names whose values the index can tell: ``self``, annotated
        arguments, and assignments in the body (tuples unpacked). Computed once
        per definition; empty while it is being computed (a cycle)."""
        if qualname not in self._environments:
            env = self._guarded(("env", qualname),
                                lambda: self._compute_environment(qualname, node, module))
            if env is None:
                return {}
            self._environments[qualname] = env
        return self._environments[qualname]

    def _compute_environment(self, qualname: str, node, module: _Module) -> dict:
        env: dict = {}
        parent = qualname.rpartition(".")[0]
        in_class = isinstance(self.nodes.get(parent), ast.ClassDef)
        if in_class:
            env["__class__"] = ("ref", parent)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            for k, arg in enumerate(arguments):
                if k == 0 and in_class and arg.arg in ("self", "cls"):
                    env[arg.arg] = ("inst" if arg.arg == "self" else "ref", parent)
                elif arg.annotation is not None:
                    env[arg.arg] = self.annotation(arg.annotation, module)
        for _ in range(2):  # a second pass for names assigned from names assigned later
            for child in ast.walk(node):
                if isinstance(child, ast.Assign):
                    value = self.evaluate(child.value, module, env)
                    for target in child.targets:
                        _unpack(target, value, env)
                elif isinstance(child, ast.AnnAssign) and isinstance(child.target, ast.Name):
                    value = (self.evaluate(child.value, module, env) if child.value is not None
                             else None) or self.annotation(child.annotation, module)
                    env[child.target.id] = value
                elif isinstance(child, ast.withitem) and child.optional_vars is not None:
                    _unpack(child.optional_vars, self.evaluate(child.context_expr, module, env),
                            env)
        return env

    def references(self, qualname: str) -> set[str]:
        """The definitions ``qualname``'s source names: what it calls or mentions.

        A class reaches its constructors (``__init__``, ``__post_init__``) and
        whatever its body outside its methods names; a method reaches its class.
        """
        node, module = self.nodes[qualname], self.modules[self.module_of[qualname]]
        found: set[str] = set()
        parent = qualname.rpartition(".")[0]
        if isinstance(node, ast.ClassDef):
            found |= {f"{qualname}.{m}" for m in ("__init__", "__post_init__")
                      if f"{qualname}.{m}" in self.definitions}
            parts = [*node.bases, *node.decorator_list] + [
                child for child in node.body
                if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            env = {}
        else:
            if isinstance(self.nodes.get(parent), ast.ClassDef):
                found.add(parent)
            parts, env = [node], self._environment(qualname, node, module)
        for part in parts:
            for child in ast.walk(part):
                target = None
                if isinstance(child, (ast.Name, ast.Attribute)):
                    target = self.target(child, module, env)
                elif isinstance(child, ast.Call):  # calling an instance: its __call__
                    callee = self.evaluate(child.func, module, env)
                    if callee and callee[0] == "inst":
                        target = self.member(callee[1], "__call__")
                if target in self.definitions and target != qualname:
                    found.add(target)
        return found


def _pairs(targets: list[ast.expr], value: ast.expr):
    """(target, value expression) for each name of ``targets = value``: ``a, b = x, y``
    pairs a with x and b with y."""
    for target in targets:
        if (isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
                and len(target.elts) == len(value.elts)):
            yield from zip(target.elts, value.elts)
        else:
            yield target, value


def _unpack(target: ast.expr, value, env: dict) -> None:
    if isinstance(target, ast.Name):
        env[target.id] = value
    elif isinstance(target, (ast.Tuple, ast.List)):
        values = value[1] if value and value[0] == "tuple" else ()
        for k, element in enumerate(target.elts):
            _unpack(element, values[k] if k < len(values) else None, env)


def build_index(package_dir: Path, tests_dir: Optional[Path] = None) -> Index:
    """The index of ``package_dir`` (named as imported from its parent) and of the
    tests under ``tests_dir`` (named as pytest imports them: ``conftest``,
    ``test_cell``, ``conventions.test_tf1``...)."""
    index = Index()
    index.add_tree(package_dir)
    if tests_dir is not None:
        index.add_tree(tests_dir, prefix="")
    index.finish()
    return index


def package_definitions(package_dir: Path, index: Optional[Index] = None) -> list[Definition]:
    """Every function, method and class under ``package_dir`` with the labels it cites
    and the definitions it reaches."""
    index = index or build_index(package_dir)
    package = package_dir.name
    return [d for d in index.definitions.values()
            if d.kind != "variable" and (d.qualname == package
                                          or d.qualname.startswith(package + "."))]


def test_references(tests_dir: Path, index: Index) -> dict[str, set[str]]:
    """For each test (``file::name``), the definitions its source names, resolved,
    with what the helpers it calls (of its file or of conftest) name."""
    references = {}
    for path in sorted(tests_dir.rglob("test_*.py")):
        module = ".".join(path.relative_to(tests_dir).with_suffix("").parts)
        for node in index.modules[module].tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                qualname = f"{module}.{node.name}"
                references[f"{path.relative_to(tests_dir)}::{node.name}"] = set(
                    index.definitions[qualname].calls)
    return references


def exercising_tests(definitions: dict[str, Definition], tests: dict[str, set[str]]
                     ) -> dict[str, set[str]]:
    """Tests exercising each definition: reached from the test through the
    resolved references of every definition on the way (test helpers, conftest,
    lstm_ref)."""
    reached = defaultdict(set)  # qualname -> tests
    for test, names in tests.items():
        frontier, seen = list(names), set()
        while frontier:
            qualname = frontier.pop()
            if qualname in seen or qualname not in definitions:
                continue
            seen.add(qualname)
            reached[qualname].add(test)
            frontier += definitions[qualname].calls
    return reached


# ---------------------------------------------------------------------------
# Citations


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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _describe_tests(definition: Definition, found: set[str], references) -> str:
    """``"3 by name (test_a, test_b, ...); 41 in all"``."""
    direct = sorted(t for t in found if definition.qualname in references[t])
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
    index = build_index(root / "lstm_ref", root / "tests")
    definitions = package_definitions(root / "lstm_ref", index)
    references = test_references(root / "tests", index)
    tests = exercising_tests(index.definitions, references)
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
        chapter = nodes.reference("", chapter_title(app, docname), internal=True,
                                  refuri=app.builder.get_relative_uri(fromdoc, docname))
        rows.append([
            _equation_cell(app, fromdoc, label, docname),
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
