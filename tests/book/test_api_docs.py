"""Every public function and class of lstm_ref has a docstring and is on the API page."""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import lstm_ref

API_PAGE = Path(__file__).resolve().parents[2] / "book" / "api.md"


def public_objects():
    for info in pkgutil.walk_packages(lstm_ref.__path__, "lstm_ref."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield module.__name__, name, obj


def documented_on_api_page():
    """(module, name) pairs the API page documents, and modules documented whole."""
    text = API_PAGE.read_text()
    names, whole_modules = set(), set()
    for match in re.finditer(r"\.\. automodule:: (\S+)\n((?:   :\S+:.*\n)*)", text):
        module, options = match.group(1), match.group(2)
        members = re.search(r":members:(.*)", options)
        listed = [m.strip() for m in members.group(1).split(",")] if members else []
        if members and not any(listed):
            whole_modules.add(module)
        names.update((module, m) for m in listed if m)
    for match in re.finditer(r"\.\. auto(?:class|function):: (\S+)\.(\w+)", text):
        names.add((match.group(1), match.group(2)))
    return names, whole_modules


def test_every_public_object_has_a_docstring():
    missing = [f"{m}.{n}" for m, n, obj in public_objects() if not inspect.getdoc(obj)]
    assert not missing, f"no docstring: {missing}"


def test_every_public_object_is_on_the_api_page():
    names, whole_modules = documented_on_api_page()
    exported = {name: getattr(lstm_ref, name).__module__ for name in lstm_ref.__all__
                if hasattr(getattr(lstm_ref, name), "__module__")}
    missing = []
    for module, name, _ in public_objects():
        on_page = (module in whole_modules or (module, name) in names
                   or (exported.get(name) == module and ("lstm_ref", name) in names))
        if not on_page:
            missing.append(f"{module}.{name}")
    assert not missing, f"not on book/api.md: {missing}"
