"""Sphinx extension: the API page, generated from each module's ``__all__``.

The ``lstm-ref-api`` directive reads ``lstm_ref``'s source (with ``ast``;
nothing is imported here, so ``lstm_ref.frameworks`` does not load a
framework into Sphinx) and writes one section per package and module, in
this order: the package ``lstm_ref`` and its core modules, then each
subpackage and its modules. A package's section opens with the first
paragraph of its docstring, its role; a module's section shows its
docstring. Every name in a module's ``__all__`` then gets its autodoc entry
(``autofunction``, ``autoclass`` with its documented members, ``autodata``).

An object is documented once, under the shortest name a reader imports it
by: ``lstm_ref.lstm_step`` rather than ``lstm_ref.cell.lstm_step``. The
module that defines it lists it under "Also defined here" with a link.

NamedTuple fields carry the docstring "Alias for field number N"; they are
left out (each class's docstring describes its fields).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

# autodoc directive for each kind of definition
_DIRECTIVE = {"function": "autofunction", "class": "autoclass", "data": "autodata"}
# A constant whose source is longer than this is shown without its value.
_MAX_VALUE_SOURCE = 60
_FIELD_ALIAS = re.compile(r"^Alias for field number \d+$")


@dataclass
class Entry:
    """One name of a module's ``__all__``."""

    name: str  # as exported: "lstm_step"
    kind: str  # "function", "class", "data" or "module"
    target: str  # where it is defined: "lstm_ref.cell.lstm_step", or the module "lstm_ref.layout"
    short_value: bool = True  # data only: is the value short enough to show


@dataclass
class ModulePlan:
    """What the API page shows for one module or package."""

    module: str
    is_package: bool
    docstring: str
    entries: list[Entry]
    children: list[str] = field(default_factory=list)  # a package's modules and subpackages
    documented_elsewhere: dict[str, str] = field(default_factory=dict)  # target -> shown as

    @property
    def role(self) -> str:
        """The docstring's first paragraph."""
        return self.docstring.strip().split("\n\n")[0]


# ---------------------------------------------------------------------------
# Reading the package


def module_files(package_dir: Path) -> list[tuple[str, Path]]:
    """(module name, file) for every module and package, in the page's order.

    A package comes first, then its modules (alphabetically), then its
    subpackages (alphabetically), each followed by its own. ``__main__`` is
    a script, not API.
    """
    name = ".".join(package_dir.relative_to(package_dir.parent).parts)
    return _walk(package_dir, name)


def _walk(package_dir: Path, package: str) -> list[tuple[str, Path]]:
    found = [(package, package_dir / "__init__.py")]
    for path in sorted(package_dir.glob("*.py")):
        if path.stem not in ("__init__", "__main__"):
            found.append((f"{package}.{path.stem}", path))
    for sub in sorted(p for p in package_dir.iterdir() if (p / "__init__.py").is_file()):
        found += _walk(sub, f"{package}.{sub.name}")
    return found


def exported_names(tree: ast.Module) -> list[str] | None:
    """The literal ``__all__`` of a module's syntax tree, or None without one."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return None


def _definitions(tree: ast.Module, source: str) -> dict[str, tuple[str, bool]]:
    """Top-level name -> (kind, whether its value is short), for names the module defines."""
    kinds = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kinds[node.name] = ("function", True)
        elif isinstance(node, ast.ClassDef):
            kinds[node.name] = ("class", True)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            short = len(ast.get_source_segment(source, node.value) or "") <= _MAX_VALUE_SOURCE
            for target in targets:
                if isinstance(target, ast.Name):
                    kinds[target.id] = ("data", short)
    return kinds


def _imports(tree: ast.Module, module: str, is_package: bool) -> dict[str, str]:
    """Name -> the dotted path it is imported from (relative imports resolved)."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            source = ".".join(filter(None, [base if node.level else "", node.module or ""]))
            for alias in node.names:
                found[alias.asname or alias.name] = f"{source}.{alias.name}"
    return found


def api_plan(package_dir: Path) -> list[ModulePlan]:
    """The API page's content: per module, the entries it documents and the rest it lists."""
    files = module_files(package_dir)
    modules = {name for name, _ in files}
    parsed = {}
    for name, path in files:
        source = path.read_text()
        parsed[name] = (ast.parse(source, filename=str(path)), source, path.name == "__init__.py")

    def kind_of(target: str) -> tuple[str, bool]:
        if target in modules:
            return "module", True
        module, name = target.rsplit(".", 1)
        tree, source, _ = parsed[module]
        definitions = _definitions(tree, source)
        if name in definitions:
            return definitions[name]
        return kind_of(_imports(tree, module, parsed[module][2])[name])  # a re-export

    def defined_at(target: str) -> str:
        """Follow re-exports to the module that defines ``target``."""
        if target in modules:
            return target
        module, name = target.rsplit(".", 1)
        tree, source, is_package = parsed[module]
        if name in _definitions(tree, source):
            return target
        return defined_at(_imports(tree, module, is_package)[name])

    plans, shown_as = [], {}
    for module, _ in files:
        tree, source, is_package = parsed[module]
        names = exported_names(tree) or []
        imports = _imports(tree, module, is_package)
        entries = []
        for name in names:
            target = f"{module}.{name}"
            if target not in modules and name in imports:
                target = defined_at(imports[name])
            kind, short = kind_of(target)
            entries.append(Entry(name, kind, target, short))
            if kind != "module":
                shown_as.setdefault(target, f"{module}.{name}")
        children = [m for m, _ in files if is_package and m.rpartition(".")[0] == module]
        plans.append(ModulePlan(module, is_package, ast.get_docstring(tree) or "", entries,
                                children))
    for plan in plans:
        for entry in plan.entries:
            where = shown_as.get(entry.target)
            if entry.kind != "module" and where != f"{plan.module}.{entry.name}":
                plan.documented_elsewhere[entry.target] = where
    return plans


# ---------------------------------------------------------------------------
# Writing the page


_ROLE = {"function": "func", "class": "class", "data": "data", "module": "mod"}


def _heading(text: str, underline: str) -> list[str]:
    return [text, underline * len(text), ""]


def api_rst(package_dir: Path) -> str:
    """The reStructuredText of the generated API page (sections, then autodoc entries)."""
    lines: list[str] = []
    for plan in api_plan(package_dir):
        lines += _heading(f"``{plan.module}``", "=" if plan.is_package else "-")
        if plan.is_package:
            lines += [f".. py:module:: {plan.module}", "", *plan.role.splitlines(), ""]
        else:
            lines += [f".. automodule:: {plan.module}", ""]
        if plan.children:
            lines += [f"Contents: {', '.join(f':mod:`{child}`' for child in plan.children)}.", ""]
        elsewhere = [e for e in plan.entries if e.target in plan.documented_elsewhere]
        if elsewhere:
            listed = ", ".join(f":py:{_ROLE[e.kind]}:`{plan.documented_elsewhere[e.target]}`"
                               for e in elsewhere)
            lines += [f"Also defined here: {listed}.", ""]
        for entry in plan.entries:
            if entry.kind == "module" or entry.target in plan.documented_elsewhere:
                continue
            lines.append(f".. {_DIRECTIVE[entry.kind]}:: {plan.module}.{entry.name}")
            if entry.kind == "class":
                lines += ["   :members:", "   :special-members: __call__"]
            if entry.kind == "data" and not entry.short_value:
                lines.append("   :no-value:")
            lines.append("")
    return "\n".join(lines)


class APIReferenceDirective(SphinxDirective):
    """``lstm-ref-api``: the generated sections of the API page."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        package_dir = Path(self.env.app.confdir) / "lstm_ref"
        for path in package_dir.rglob("*.py"):
            self.env.note_dependency(str(path))
        container = nodes.section()
        container.document = self.state.document
        text = StringList(api_rst(package_dir).splitlines(), source="lstm_ref (generated)")
        nested_parse_with_titles(self.state, text, container)
        return container.children


def skip_field_aliases(app, what, name, obj, skip, options):
    """Leave out NamedTuple fields, whose only docstring is "Alias for field number N"."""
    if _FIELD_ALIAS.match((getattr(obj, "__doc__", None) or "").strip()):
        return True
    return None


def drop_type_docstrings(app, what, name, obj, options, lines) -> None:
    """A constant without a docstring of its own shows nothing, not its type's (``dict``'s)."""
    if what in ("data", "attribute") and not isinstance(obj, type):
        own = " ".join(" ".join(lines).split())
        if own and own == " ".join((type(obj).__doc__ or "").split()):
            lines.clear()


def setup(app: Sphinx) -> dict:
    app.add_directive("lstm-ref-api", APIReferenceDirective)
    app.connect("autodoc-skip-member", skip_field_aliases)
    app.connect("autodoc-process-docstring", drop_type_docstrings)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
