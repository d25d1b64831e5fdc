# Everything from nothing into a local virtual environment (.venv). torch is pinned to 2.13.0 so that a CPU
# machine takes its local CPU wheel; an unpinned torch would pull gigabytes of CUDA packages.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
# llama-cpp-python built with llamafile's sgemm taken for one token too, so that a token's logits do not depend on
# the batch it is decoded in (tools/build_llama_cpp.py, src/reportx/llamacpp.py). Built once per machine (about 7
# minutes on 2 cores) into a folder of its own outside the clone, and installed from there; a change to the patch
# changes its label (LABEL in the tool), and with it this folder.
LLAMA_CPP    ?= llama-cpp-python==0.3.36
LLAMA_WHEELS ?= $(HOME)/.cache/reportx/wheels/$(subst ==,-,$(LLAMA_CPP))-sgemm1

.PHONY: help install install-train install-ray run lint test data train-default export-default eval bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(LLAMA_WHEELS)/.built: | $(BIN)/python
	$(BIN)/python tools/build_llama_cpp.py $(LLAMA_WHEELS) '$(LLAMA_CPP)'
	@touch $@

$(VENV)/.base: pyproject.toml $(LLAMA_WHEELS)/.built | $(BIN)/python
	$(BIN)/pip install -q --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

$(VENV)/.train: pyproject.toml $(VENV)/.base
	$(BIN)/pip install -q '$(TORCH)'
	$(BIN)/pip install -q -e '.[dev,train,eval,pandas,ray]'
	@touch $@

install: $(VENV)/.base  ## base install: extraction with the embedded default model, and pytest

install-train: $(VENV)/.train  ## add fine-tuning, evaluation, pandas and Ray (CPU torch)

install-ray: $(VENV)/.base  ## add Ray Data for reportx extract --ray
	$(BIN)/pip install -q -e '.[dev,ray]'


run: install  ## the main job: extract the sample reports with the bundled default model
	$(BIN)/reportx extract samples/reports

lint: install  ## ruff (McCabe complexity at most 15) and mypy on src/
	$(BIN)/ruff check src
	$(BIN)/mypy

test: install-train lint  ## install everything, lint, and run the test suite
	$(BIN)/python -m pytest -q

data: install  ## synthetic data set: data/{train,val,test}.jsonl (2000 pairs, seed 0)
	$(BIN)/reportx synth -n 2000 --seed 0 -o data --overwrite

train-default: install-train data  ## train the bundled adapter's run (runs/default) from configs/default.yaml
	$(BIN)/reportx train --config configs/default.yaml

export-default: install-train  ## export runs/default to GGUF, check it against PyTorch on 50 val reports, calibrate its confidence on 232
	$(BIN)/reportx export runs/default --check 50 --calibrate 232

eval: install-train data  ## the README tables: 2x2 systems on 200 synthetic test reports and on the realistic dev set
	$(BIN)/reportx eval data/test.jsonl -n 200 -o eval-out/test
	$(BIN)/reportx eval data/realistic/dev.jsonl -o eval-out/realistic

bench: install  ## extraction speed table (bench/extract_speed.py)
	$(BIN)/python bench/extract_speed.py --n 20

clean:  ## remove the virtual environment
	rm -rf $(VENV)
