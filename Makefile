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
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n 2 --dist loadgroup -m "not slow and not docker" $(PYTEST_ARGS)

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

# Predict TEST (an ISLES TESTING folder) in the container, offline and read-only, then validate
# and zip the predictions: make submit TEST=path/to/TESTING [METHOD_NAME=...]
submit: install
	@test -n "$(TEST)" || { echo "usage: make submit TEST=path/to/TESTING [METHOD_NAME=name]"; exit 1; }
	@docker image inspect $(IMAGE):latest >/dev/null 2>&1 || $(MAKE) docker
	rm -rf $(SUBMISSION_DIR) && mkdir -p $(SUBMISSION_DIR) && chmod 0777 $(SUBMISSION_DIR)
	docker run --rm --network none --read-only --tmpfs /tmp \
	  -v "$(abspath $(TEST))":/input:ro -v "$(abspath $(SUBMISSION_DIR))":/output \
	  -e ISLES_METHOD_NAME=$(METHOD_NAME) $(IMAGE):latest
	$(VENV)/bin/isles2018 package-submission $(SUBMISSION_DIR) --data "$(TEST)" \
	  --method-name $(METHOD_NAME) -o submission.zip
