"""`import lstm_ref` imports NumPy only."""

import subprocess
import sys

HEAVY = ("tensorflow", "keras", "tf_keras", "torch", "matplotlib", "scipy")


def test_import_lstm_ref_leaves_frameworks_unimported():
    code = (
        "import sys, lstm_ref, lstm_ref.conventions.keras, lstm_ref.verify;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"import lstm_ref pulled in: {result.stdout.strip()}"
