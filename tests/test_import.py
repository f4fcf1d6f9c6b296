"""`import lstm_ref` imports NumPy and the core only; frameworks load only on request."""

import subprocess
import sys

HEAVY = ("tensorflow", "keras", "tf_keras", "torch", "jax", "flax", "onnx", "onnxruntime",
         "ai_edge_litert", "matplotlib", "scipy")

# The core: everything `import lstm_ref` may load of lstm_ref itself.
CORE = {"lstm_ref", "lstm_ref.activations", "lstm_ref.cell", "lstm_ref.fast", "lstm_ref.grad",
        "lstm_ref.layout", "lstm_ref.params", "lstm_ref.sequence", "lstm_ref.verify"}


def loaded_after(statement: str) -> tuple[set[str], set[str]]:
    """(lstm_ref modules, heavy packages) in sys.modules after running ``statement`` afresh."""
    code = (
        f"import sys; {statement}; "
        "print(' '.join(m for m in sys.modules if m.split('.')[0] == 'lstm_ref')); "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ours, heavy = (line.split() for line in result.stdout.splitlines())
    return set(ours), set(heavy)


def test_import_lstm_ref_loads_the_core_only():
    ours, heavy = loaded_after("import lstm_ref")
    assert ours <= CORE, f"import lstm_ref loaded more than the core: {sorted(ours - CORE)}"
    assert not heavy, f"import lstm_ref pulled in: {sorted(heavy)}"


def test_subpackages_stay_numpy_only():
    _, heavy = loaded_after(
        "import lstm_ref.conventions, lstm_ref.models.training, lstm_ref.models.plain_rnn, "
        "lstm_ref.seeds, lstm_ref.bench.benchmark, lstm_ref.initializers.keras"
    )
    assert not heavy, f"pulled in: {sorted(heavy)}"


def test_conventions_leave_the_random_number_replica_unloaded():
    ours, _ = loaded_after("import lstm_ref.conventions")
    assert "lstm_ref.initializers.philox" not in ours, "loaded before seeded weights were asked for"
