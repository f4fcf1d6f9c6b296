"""Sphinx configuration for the lstm_ref book.

The configuration directory is the repository root and the sources are in
``book/`` (``sphinx-build -c . book _build/html``; see the Makefile).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import lstm_ref  # noqa: E402  (NumPy only)

project = "lstm_ref"
author = "The lstm_ref authors"
copyright = "2026, the lstm_ref authors"
release = version = lstm_ref.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxcontrib.bibtex",
    "sphinx-mathjax-offline",
    "sphinx_design",
    "sphinx_copybutton",
    "lstm_ref_book",
    "chapter_numbers",
    "api_reference",
    "traceability",
]

exclude_patterns = ["_ext", "_build", "**.ipynb_checkpoints", "README.md"]
templates_path: list[str] = []
html_static_path = ["book/_static"]
html_css_files = ["lstm_ref.css"]

# ---------------------------------------------------------------------------
# MyST and equations

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_dmath_double_inline = True
myst_heading_anchors = 3
myst_substitutions = {"lstm_ref_version": lstm_ref.__version__}
numfig = True
math_numfig = True
math_eqref_format = "({number})"

# ---------------------------------------------------------------------------
# Execution: every chapter runs at build time and a failing cell fails the build.


def _execution_inputs_hash() -> str:
    """Hash of what notebooks import or read but jupyter-cache cannot see.

    jupyter-cache keys a notebook by its own code cells only. Keying the cache
    directory by lstm_ref's source, the helper modules chapters import from
    book/ (the layout figures), the pinned requirements, the book's data and
    this file (which sets the kernels' environment) makes an edit to any
    of them re-execute every chapter, and going back to an earlier state finds
    that state's cache again.
    """
    digest = hashlib.sha256()
    files = [*sorted(ROOT.glob("lstm_ref/**/*.py")), *sorted(ROOT.glob("book/*.py")),
             *sorted(ROOT.glob("book/data/**/*"))]
    for path in [*files, ROOT / "requirements.txt", ROOT / "conf.py"]:
        if path.is_file():
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _execution_cache(keep: int = 3) -> str:
    """This state's cache directory, pruning all but the ``keep`` newest others."""
    caches = ROOT / "_build" / ".jupyter_cache"
    current = caches / _execution_inputs_hash()
    current.mkdir(parents=True, exist_ok=True)
    current.touch()
    others = sorted(
        (p for p in caches.iterdir() if p.is_dir() and p != current),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for stale in others[keep - 1 :]:
        shutil.rmtree(stale, ignore_errors=True)
    return str(current)


nb_execution_mode = "cache"
nb_execution_cache_path = _execution_cache()
nb_execution_timeout = 60  # seconds per cell: a design budget, as in numpy-tutorials
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# Anything a cell writes to stderr becomes a Sphinx warning, which -W turns
# into a failed build: pages stay free of log noise.
nb_output_stderr = "warn"
nb_execution_allow_errors = False

# Kernels start in book/; make sure they import this tree's lstm_ref and keep
# TensorFlow's start-up chatter quiet.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# ---------------------------------------------------------------------------
# Bibliography, API reference

import bibliography_style  # noqa: E402  (book/_ext)

bibliography_style.register()
bibtex_bibfiles = ["book/references.bib"]
# Labelled "[Hochreiter and Schmidhuber, 1997]", as the text cites; titles as published.
bibtex_default_style = bibliography_style.STYLE_NAME
bibtex_reference_style = "author_year"

# The API page (generated from each module's __all__ by book/_ext/api_reference.py)
# documents lstm_ref.frameworks without loading a framework into Sphinx.
autodoc_mock_imports = ["tensorflow", "keras", "tf_keras", "torch", "jax", "jaxlib", "flax",
                        "onnx", "onnxruntime", "ai_edge_litert"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True

# ---------------------------------------------------------------------------
# HTML

# The repository's address, when the build knows it (the Pages workflow sets it
# from the repository it runs in); a local build shows no repository links
# rather than guess an address.
REPOSITORY_URL = os.environ.get("LSTM_REF_REPOSITORY_URL", "")

html_theme = "sphinx_book_theme"
html_title = f"lstm_ref {release}"
html_theme_options = {
    "use_download_button": True,
    "show_toc_level": 2,
}
if REPOSITORY_URL:
    html_theme_options.update({
        "repository_url": REPOSITORY_URL,
        "repository_branch": "main",
        "path_to_docs": "book",
        "use_repository_button": True,
        "use_source_button": True,
    })
html_last_updated_fmt = ""
# The theme's colour mode before a reader picks one (without it the theme logs
# a console error on a first visit).
html_context = {"default_mode": "light"}

# Copy buttons leave out prompts and the outputs below a cell.
copybutton_exclude = ".linenos, .gp, .go"
copybutton_selector = "div.cell_input div.highlight pre, div.highlight-python pre, div.highlight-bash pre"
