# lstm_ref: `make html` builds the book, `make test` runs the tests, `make bench`
# times the forward and backward passes. All create .venv and install
# requirements.txt first when needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Touched after a complete install; rebuilt whenever the pins or packaging change.
INSTALLED := $(VENV)/.installed
# Extra options for every pip install, e.g. where to take the CPU build of torch:
#   make html PIP_INSTALL_OPTIONS="--extra-index-url https://download.pytorch.org/whl/cpu"
PIP_INSTALL_OPTIONS ?=
# Where `make bench` writes its measurements; the book's Performance chapter plots this file.
BENCH_JSON ?= book/data/benchmark.json

SPHINXOPTS ?=
BUILDDIR   := _build

.PHONY: html test bench clean help

help:
	@echo "make html   build the book into $(BUILDDIR)/html (executes every changed chapter)"
	@echo "make test   run the test suite"
	@echo "make bench  time lstm_ref, Keras and PyTorch; write $(BENCH_JSON) (minutes)"
	@echo "make clean  remove $(BUILDDIR) (build output and the execution cache)"

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(PIP_INSTALL_OPTIONS) -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(PIP_INSTALL_OPTIONS) --no-deps -e .
	# A kernelspec inside the venv, so notebooks run on this venv's Python
	# even if the user has a kernel named python3 elsewhere.
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (lstm_ref)" > /dev/null
	touch $@

# -W: any Sphinx warning (a broken reference, a cell writing to stderr) fails the build.
html: $(INSTALLED)
	$(BIN)/python -m sphinx -b html -c . -W --keep-going -d $(BUILDDIR)/doctrees $(SPHINXOPTS) book $(BUILDDIR)/html
	@echo "The book is in $(BUILDDIR)/html/index.html"

test: $(INSTALLED)
	$(BIN)/python -m pytest -q

bench: $(INSTALLED)
	mkdir -p $(dir $(BENCH_JSON))
	$(BIN)/python -m lstm_ref.bench --sweep --json $(BENCH_JSON)

clean:
	rm -rf $(BUILDDIR)
