"""The API page is generated from each module's ``__all__`` and covers every public object.

book/_ext/api_reference.py writes the page; these tests hold the package to
the rules the page relies on: every module and package declares ``__all__``,
every public name a module defines is in it (a name that is not API starts
with an underscore), every public function and class has a docstring that
MathJax can read, and the generated page documents each of them.
"""

import ast
import functools
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import lstm_ref

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from api_reference import api_plan, api_rst, exported_names  # noqa: E402

PACKAGE = ROOT / "lstm_ref"


@functools.cache
def generated_page() -> str:
    """The API page's reST, generated once for the whole file (it reads every module)."""
    return api_rst(PACKAGE)


@functools.cache
def plans() -> tuple:
    """The per-module plans of the API page, computed once."""
    return tuple(api_plan(PACKAGE))


def module_names():
    names = ["lstm_ref"]
    for info in pkgutil.walk_packages(lstm_ref.__path__, "lstm_ref."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def module_file(name):
    path = ROOT.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def defined_public_names(name):
    """Top-level names a module defines (def, class, assignment) without a leading underscore."""
    tree = ast.parse(module_file(name).read_text())
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("_")]


def resolve(module, name):
    """The object ``module.name`` of ``__all__`` (a submodule is imported)."""
    if hasattr(module, name):
        return getattr(module, name)
    return importlib.import_module(f"{module.__name__}.{name}")


@pytest.mark.parametrize("name", module_names())
def test_every_module_declares_all_and_it_names_real_objects(name):
    exported = exported_names(ast.parse(module_file(name).read_text()))
    assert exported is not None, f"{name} has no literal __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    module = importlib.import_module(name)
    assert module.__all__ == exported
    for public in exported:
        resolve(module, public)  # raises if __all__ names something that is not there


@pytest.mark.parametrize("name", module_names())
def test_every_public_definition_is_in_all(name):
    module = importlib.import_module(name)
    missing = [n for n in defined_public_names(name) if n not in module.__all__]
    assert not missing, (f"{name} defines {missing} without a leading underscore but leaves "
                         "them out of __all__: export them or make them private")


def public_objects():
    """(module, name, object) for every function and class in a module's ``__all__``."""
    for name in module_names():
        module = importlib.import_module(name)
        for public in module.__all__:
            obj = resolve(module, public)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield name, public, obj


def test_every_public_object_has_a_docstring():
    missing = [f"{m}.{n}" for m, n, obj in public_objects() if not inspect.getdoc(obj)]
    assert not missing, f"no docstring: {missing}"


def test_no_docstring_holds_a_control_character():
    """A non-raw docstring turns ``\\bar`` into a backspace and MathJax into "Math input error"."""
    bad = []
    for module, name, obj in public_objects():
        for owner, doc in [(f"{module}.{name}", obj.__doc__)] + [
            (f"{module}.{name}.{attr}", getattr(value, "__doc__", None))
            for attr, value in vars(obj).items() if inspect.isclass(obj)
            and (inspect.isfunction(value) or isinstance(value, property))
        ]:
            if doc and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", doc):
                bad.append(owner)
    for name in module_names():
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", importlib.import_module(name).__doc__ or ""):
            bad.append(name)
    assert not bad, f"docstrings with control characters (make them raw strings): {bad}"


def test_the_generated_page_documents_every_public_object_once():
    page = generated_page()
    entries = re.findall(r"^\.\. auto(?:function|class|data):: (\S+)$", page, re.M)
    assert len(entries) == len(set(entries)), "an object is documented twice"
    documented = {}
    for path in entries:
        module, _, name = path.rpartition(".")
        documented[id(getattr(importlib.import_module(module), name))] = path
    missing = []
    for name in module_names():
        module = importlib.import_module(name)
        for public in module.__all__:
            obj = resolve(module, public)
            if inspect.ismodule(obj):
                assert f".. py:module:: {obj.__name__}" in page or \
                    f".. automodule:: {obj.__name__}" in page, obj.__name__
            elif id(obj) not in documented and f"{name}.{public}" not in entries:
                missing.append(f"{name}.{public}")
    assert not missing, f"not on the generated API page: {missing}"


def test_a_reexported_object_is_documented_under_its_shortest_name():
    page = generated_page()
    assert ".. autofunction:: lstm_ref.lstm_step" in page
    assert ".. autofunction:: lstm_ref.cell.lstm_step" not in page
    cell = next(p for p in plans() if p.module == "lstm_ref.cell")
    assert cell.documented_elsewhere["lstm_ref.cell.lstm_step"] == "lstm_ref.lstm_step"


def test_every_subpackage_opens_with_its_role():
    packages = [p for p in plans() if p.is_package]
    assert {p.module for p in packages} >= {"lstm_ref", "lstm_ref.conventions",
                                            "lstm_ref.frameworks", "lstm_ref.initializers"}
    for plan in packages:
        assert plan.role and plan.role in generated_page(), plan.module


def test_namedtuple_field_aliases_are_left_out():
    from api_reference import skip_field_aliases

    field = lstm_ref.LSTMState.h
    assert field.__doc__.startswith("Alias for field number")
    assert skip_field_aliases(None, "attribute", "h", field, False, {}) is True
    assert skip_field_aliases(None, "method", "astype", lstm_ref.LSTMParams.astype, False, {}) is None
