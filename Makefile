# Two entry points; both create the virtual environment (.venv) and install the project first.
#   make book   execute every notebook at the `cpu` preset with papermill, then build the HTML book
#   make test   unit tests, every notebook at `smoke`, nbval on the verdict cells, the book from those outputs
PYTHON ?= python3
VENV   ?= .venv
BUILD  ?= build
BIN     = $(VENV)/bin
# The offline dataset mirror beside the checkout, when there is one; otherwise torchvision downloads.
SHARED_DATA := $(wildcard $(abspath ../shared/data))
ifneq ($(SHARED_DATA),)
export REPROBOOK_DATA ?= $(SHARED_DATA)
endif

.PHONY: book notebooks html test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $@

book: notebooks html

notebooks: $(VENV)/.installed
	$(BIN)/reprobook run all --preset cpu --build $(BUILD)

html: $(VENV)/.installed
	$(BIN)/reprobook book --build $(BUILD)

test: $(VENV)/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/reprobook bench

clean:
	rm -rf $(BUILD)
