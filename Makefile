# Two entry points; both create the virtual environment (.venv) and install the project first.
#   make book   execute every notebook at the `cpu` preset with papermill, then build the HTML book;
#               JOBS (default 2) notebooks side by side, the cores split between them (JOBS=1: one at a time)
#   make test   ruff (lint + format check) over src/, tests/ and the notebooks' py:percent pairs, then the
#               unit tests, every notebook at `smoke`, nbval on the verdict cells, the book from those outputs
#   make lint   only the ruff checks;  make format   regenerate the notebooks' Colab and parameters cells,
#               rewrite with ruff format and re-sync the notebook pairs
PYTHON ?= python3
VENV   ?= .venv
BUILD  ?= build
JOBS   ?= 2
BIN     = $(VENV)/bin
# The offline dataset mirror beside the checkout, when there is one; otherwise torchvision downloads.
SHARED_DATA := $(wildcard $(abspath ../shared/data))
ifneq ($(SHARED_DATA),)
export REPROBOOK_DATA ?= $(SHARED_DATA)
endif

.PHONY: book notebooks html test lint format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[book,test,pinned]'
	touch $@

book: notebooks html

notebooks: $(VENV)/.installed
	$(BIN)/reprobook run all --preset cpu --jobs $(JOBS) --build $(BUILD)

html: $(VENV)/.installed
	$(BIN)/reprobook book --build $(BUILD)

test: lint
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests notebooks
	$(BIN)/ruff format --check src tests notebooks
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

format: $(VENV)/.installed
	$(BIN)/python -m reprobook.cells .
	$(BIN)/ruff format src tests notebooks
	$(BIN)/jupytext --sync notebooks/*.py

bench: $(VENV)/.installed
	$(BIN)/reprobook bench

clean:
	rm -rf $(BUILD)
