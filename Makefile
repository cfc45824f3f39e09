# isles2018 — set-up, tests and lint. `make test` is what CI runs on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch 2.13.0 resolves to a CPU wheel on our machines; other versions pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install test test-fast lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[dev]"
	touch $@

test: install
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n 2 -m "not slow and not docker" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check isles2018 evaluation tests benchmarks entrypoint.py
	$(VENV)/bin/ruff format --check isles2018 evaluation tests benchmarks entrypoint.py

format: install
	$(VENV)/bin/ruff format isles2018 evaluation tests benchmarks entrypoint.py
	$(VENV)/bin/ruff check --fix isles2018 evaluation tests benchmarks entrypoint.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
