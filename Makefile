# netdef: `make demo` sets up and runs the LeNet story; `make test` sets up and runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch 2.13.0 is pinned so a machine with its CPU wheel on disk never downloads a CUDA build
TORCH ?= torch==2.13.0

.PHONY: setup demo test lint format clean fuzz

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[rtx,dev,zoo-oracles]"
	touch $@

demo: setup
	$(PY) examples/lenet/export_wts.py
	$(PY) examples/lenet/build.py
	$(PY) examples/lenet/build.py --precision fp16 --output engines/lenet_fp16.engine

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -n 2  # both cores (pytest-xdist)

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) engines weights/*.wts .pytest_cache .ruff_cache

# differential fuzzing of the interpreter against torch (tests/fuzz): `make test` checks 200 cases, this many
FUZZ_EXAMPLES ?= 2000
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -n 2 tests/fuzz/test_fuzz.py
