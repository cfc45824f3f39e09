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

# ---- container -------------------------------------------------------------------------------
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= isles2018
BASE_IMAGE ?= python:3.11-slim
METHOD_NAME ?= GANSeg
TEST ?=
SUBMISSION_DIR ?= submission

.PHONY: wheelhouse docker docker-test submit

# Runtime wheels only (no dev tools): the image installs from here without network.
wheelhouse: install
	rm -rf wheelhouse
	$(PY) -m pip wheel --quiet --wheel-dir wheelhouse "$(TORCH_SPEC)" .

docker: wheelhouse
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE):$(VERSION) -t $(IMAGE):latest .
	@docker image inspect $(IMAGE):latest --format '$(IMAGE):$(VERSION) image size: {{.Size}} bytes' \
	  | awk '{printf "%s %s %s %.2f GB\n", $$1, $$2, $$3, $$4/1e9}'

docker-test: install
	$(PY) -m pytest -m docker -v $(PYTEST_ARGS)
