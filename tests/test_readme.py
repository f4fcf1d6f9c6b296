"""Every Python block of README.md runs as written.

The blocks run in the order the README shows them, in one fresh interpreter
that has imported TensorFlow and Keras first, as a reader's session usually
has. Each block gets a namespace of its own, so a block that used a name
defined only in an earlier block would fail here: every block is complete.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

# The reader's session: TensorFlow and Keras imported the ordinary way, before
# anything of lstm_ref (so TF_USE_LEGACY_KERAS is not set at import time).
RUNNER = r"""
import tensorflow as tf
import keras
blocks = {blocks!r}
for line, source in blocks:
    print(f"README.md, block at line {{line}}", flush=True)
    code = compile(source, f"README.md:{{line}}", "exec")
    exec(code, {{"__name__": "__main__"}})
print("all blocks ran", flush=True)
"""


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Each ```python block of ``text``: (line of its opening fence, source)."""
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        blocks.append((line, match.group(1)))
    return blocks


def test_readme_has_python_blocks():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 3
    sources = "\n".join(source for _, source in blocks)
    for name in ("from_keras_layer", "tf1.LSTMCell", "FastLSTM", "TF_USE_LEGACY_KERAS"):
        assert name in sources


def test_python_blocks_run_as_written(tmp_path):
    blocks = python_blocks(README.read_text())
    script = tmp_path / "readme_blocks.py"
    script.write_text(RUNNER.format(blocks=blocks))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_USE_LEGACY_KERAS", None)  # as in a fresh shell: the README sets it itself
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip().endswith("all blocks ran")
