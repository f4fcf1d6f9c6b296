"""The traceability page's analysis (book/_ext/traceability.py): which function
implements each equation, and which tests reach it, resolved through imports,
aliases and the classes of lstm_ref rather than by bare names."""

import importlib.util
import re
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = ROOT / "book" / "_ext"
PACKAGE = ROOT / "lstm_ref"


@pytest.fixture(scope="module")
def trace():
    """book/_ext/traceability.py, imported by path (it imports its sibling lstm_ref_book)."""
    sys.path.insert(0, str(EXTENSIONS))
    try:
        spec = importlib.util.spec_from_file_location("traceability", EXTENSIONS / "traceability.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXTENSIONS))
    return module


@pytest.fixture(scope="module")
def package_index(trace):
    return trace.build_index(PACKAGE)


def reached(trace, source: str, test: str = "test_it") -> set[str]:
    """What the function ``test`` of a test module with ``source`` reaches in lstm_ref,
    directly (its resolved references)."""
    index = trace.Index()
    index.add_tree(PACKAGE)
    index.add_module("snippet", textwrap.dedent(source))
    index.finish()
    return index.definitions[f"snippet.{test}"].calls


def test_array_and_tensor_methods_reach_nothing_of_lstm_ref(trace):
    """``.copy()`` and ``.backward()`` on a NumPy array or a PyTorch tensor are not
    LSTM.copy, FastLSTM.backward or lstm_ref.grad.backward (bare names would say so)."""
    calls = reached(trace, """
        import numpy as np
        import torch

        def test_it():
            a = np.zeros(3)
            b = a.copy()
            t = torch.zeros(3, requires_grad=True)
            t.sum().backward()
            b.T.copy()
    """)
    assert calls == set()


def test_methods_of_objects_whose_class_is_known(trace):
    calls = reached(trace, """
        from lstm_ref.fast import FastLSTM

        def test_it(params, X, d_outputs):
            fast = FastLSTM(params)
            outputs, state, cache = fast.forward(X)       # annotated tuple, unpacked
            fast.backward(d_outputs, cache)
            cache.outputs                                 # a property of FastCache
    """)
    assert {"lstm_ref.fast.FastLSTM", "lstm_ref.fast.FastLSTM.forward",
            "lstm_ref.fast.FastLSTM.backward", "lstm_ref.fast.FastCache.outputs"} <= calls
    assert "lstm_ref.grad.backward" not in calls and "lstm_ref.grad.forward" not in calls


def test_aliases_module_attributes_and_reexports(trace):
    calls = reached(trace, """
        import lstm_ref
        import lstm_ref.fast as F
        from lstm_ref import cell
        from lstm_ref import lstm_step as one_step
        from lstm_ref.grad import backward as bptt

        def test_it():
            one_step, bptt, F.lstm_sequence_fast, cell.cell_update
            lstm_ref.lstm_sequence, lstm_ref.cell.hidden_state
    """)
    assert calls == {"lstm_ref.cell.lstm_step", "lstm_ref.grad.backward",
                     "lstm_ref.fast.lstm_sequence_fast", "lstm_ref.cell.cell_update",
                     "lstm_ref.sequence.lstm_sequence", "lstm_ref.cell.hidden_state"}


def test_returned_objects_inherited_methods_and_calls_of_instances(trace):
    calls = reached(trace, """
        from lstm_ref.conventions.tf1 import BasicLSTMCell
        from lstm_ref.grad import forward

        def test_it(X, params, weights, state):
            _, _, cache = forward(X, params)
            cache.previous_state(0)
            cell = BasicLSTMCell(2)
            cell.set_weights(weights)     # defined by its base class
            cell(X, state)                # __call__, also the base class's
    """)
    tf1 = "lstm_ref.conventions.tf1"
    assert {"lstm_ref.grad.forward", "lstm_ref.grad.ForwardCache.previous_state",
            f"{tf1}.BasicLSTMCell", f"{tf1}._TF1Cell.set_weights",
            f"{tf1}._TF1Cell.__call__"} <= calls


def test_helpers_returns_and_instance_attributes(trace):
    """An unannotated helper's return, a field or ``self.attr`` of a known class,
    and either branch of ``a if test else b``."""
    calls = reached(trace, """
        import numpy as np
        from lstm_ref import LSTMParams
        from lstm_ref.grad import forward

        def make_params(D, H):
            return LSTMParams(W=np.zeros((D, 4 * H)), U=np.zeros((H, 4 * H)))

        def test_it(X, flag):
            params = make_params(3, 2)
            params.astype(np.float32)
            cache = forward(X, params)[2] if flag else None
            cache.params.extras()           # ForwardCache.params: LSTMParams
    """)
    assert {"lstm_ref.params.LSTMParams.astype", "lstm_ref.params.LSTMParams.extras",
            "snippet.make_params"} <= calls


def test_the_fast_path_reaches_what_its_helper_objects_call(package_index):
    """_StepKeeper keeps its FastLSTM as self.lstm, assigned with a tuple."""
    assert "lstm_ref.fast.FastLSTM.jacobians" in package_index.definitions[
        "lstm_ref.fast._StepKeeper._flush"].calls


def test_tests_reach_lstm_ref_through_helpers_and_the_package_call_graph(trace):
    index = trace.Index()
    index.add_tree(PACKAGE)
    index.add_module("snippet", textwrap.dedent("""
        from lstm_ref import lstm_step

        def run(x, state, params):
            return lstm_step(x, state, params)

        def test_it(x, state, params):
            run(x, state, params)

        def test_other(x):
            x.copy()
    """))
    index.finish()
    tests = {"snippet.py::test_it": index.definitions["snippet.test_it"].calls,
             "snippet.py::test_other": index.definitions["snippet.test_other"].calls}
    exercised = trace.exercising_tests(index.definitions, tests)
    for qualname in ("lstm_ref.cell.lstm_step", "lstm_ref.cell.step_values",
                     "lstm_ref.cell.cell_update", "lstm_ref.cell.add_forget_bias",
                     "lstm_ref.params.check_step_inputs"):
        assert exercised[qualname] == {"snippet.py::test_it"}, qualname
    assert "lstm_ref.conventions.keras.LSTM.copy" not in exercised
    assert "lstm_ref.fast.FastLSTM.backward" not in exercised


def test_the_package_call_graph_follows_self_and_not_bare_names(package_index):
    calls = package_index.definitions["lstm_ref.fast.FastLSTM.backward"].calls
    assert {"lstm_ref.fast.FastLSTM.preactivation_grads", "lstm_ref.fast.FastLSTM.weight_grads",
            "lstm_ref.grad.Gradients"} <= calls
    assert "lstm_ref.grad.backward" not in calls
    step = package_index.definitions["lstm_ref.cell.step_values"].calls
    assert {"lstm_ref.cell.preactivations", "lstm_ref.cell.cell_update",
            "lstm_ref.cell.hidden_state", "lstm_ref.layout.split_gates"} <= step


def test_citation_problems_name_the_functions(trace, tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""The package; see eq-c."""\n')
    (package / "m.py").write_text(textwrap.dedent('''
        def f():
            """Implements :eq:`eq-a`."""

        def g():
            """Implements :eq:`eq-b`."""

        class K:
            def h(self):
                """Also :eq:`eq-b`."""

        def k():
            return 1  # the equation eq-a, by name

        def n():
            """Implements :eq:`eq-c`."""
    '''))
    index = trace.build_index(package)
    implementers = trace.implementers_of(trace.package_definitions(package, index))
    mentions = trace.label_mentions(package)
    assert mentions["eq-a"] == {"pkg.m.f", "pkg.m.k"}
    assert mentions["eq-b"] == {"pkg.m.g", "pkg.m.K.h"}
    problems = {label: trace.citation_problems(label, implementers.get(label, []),
                                               mentions.get(label, set()))
                for label in ("eq-a", "eq-b", "eq-c", "eq-d")}
    assert problems["eq-a"] == ["equation eq-a is implemented by pkg.m.f but also mentioned "
                                "in pkg.m.k; refer to f by name instead"]
    assert re.match(r"equation eq-b is cited by 2 functions \(pkg.m.g, pkg.m.K.h\)",
                    problems["eq-b"][0])
    assert "also mentioned in pkg" in problems["eq-c"][0]  # the module docstring
    assert problems["eq-d"][0].startswith("equation eq-d has no implementing function")


def test_every_equation_of_the_book_is_cited_by_exactly_one_function(trace, package_index):
    """The build's check, here so that `make test` finds a broken citation first."""
    labels = set()
    for page in (ROOT / "book").glob("*.md"):
        labels |= set(re.findall(r"^\$\$ *\((eq-[\w-]+)\)", page.read_text(), re.MULTILINE))
    assert len(labels) > 40
    implementers = trace.implementers_of(trace.package_definitions(PACKAGE, package_index))
    mentions = trace.label_mentions(PACKAGE)
    assert set(mentions) <= labels, f"labels no page defines: {set(mentions) - labels}"
    problems = [p for label in sorted(labels) for p in trace.citation_problems(
        label, implementers.get(label, []), mentions.get(label, set()))]
    assert not problems, "\n".join(problems)
