# isles2018 — set-up, tests and lint. `make test` is what CI runs on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch 2.13.0 resolves to a CPU wheel on our machines; other versions pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install test test-fast lint format clean demo weights

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
	$(VENV)/bin/ruff check isles2018 evaluation tests benchmarks scripts entrypoint.py
	$(VENV)/bin/ruff format --check isles2018 evaluation tests benchmarks scripts entrypoint.py

format: install
	$(VENV)/bin/ruff format isles2018 evaluation tests benchmarks scripts entrypoint.py
	$(VENV)/bin/ruff check --fix isles2018 evaluation tests benchmarks scripts entrypoint.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo wheelhouse

# The whole pipeline on synthetic data with the shipped weights (2-3 minutes after install):
# phantom TESTING cases with references -> predictions (shipped weights and the threshold
# method) -> scores, report and a paired comparison.
DEMO ?= demo
BIN := $(VENV)/bin
demo: install
	rm -rf $(DEMO)
	$(BIN)/isles2018 phantom $(DEMO)/phantom --cases 1 --test-cases 12 --seed 7 --profile ci --workers 2
	$(BIN)/isles2018 predict $(DEMO)/phantom/TESTING --weights weights --out $(DEMO)/predictions/gan
	$(BIN)/isles2018 predict $(DEMO)/phantom/TESTING --method threshold --out $(DEMO)/predictions/threshold
	$(BIN)/isles-eval score --prediction $(DEMO)/predictions/threshold --reference $(DEMO)/phantom/REFERENCE \
	  --out $(DEMO)/eval/threshold > $(DEMO)/threshold.md
	$(BIN)/isles-eval score --prediction $(DEMO)/predictions/gan --reference $(DEMO)/phantom/REFERENCE \
	  --out $(DEMO)/eval/gan --report
	$(BIN)/isles-eval compare $(DEMO)/eval/threshold $(DEMO)/eval/gan --metric dice
	@echo
	@echo "Threshold method (rCBF < 30 % and Tmax > 6 s):"
	@grep '^| overall' $(DEMO)/threshold.md
	@echo "Report: $(DEMO)/eval/gan/report.html   predictions: $(DEMO)/predictions/"

# Retrain the shipped weights on phantom data and rewrite weights/manifest.json (measured).
weights: install
	$(PY) scripts/make_weights.py --device auto

# ---- container -------------------------------------------------------------------------------
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= isles2018
BASE_IMAGE ?= python:3.11-slim
# Empty: the project's default method name (isles2018.data.modalities.DEFAULT_METHOD_NAME).
METHOD_NAME ?=
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
	  $(if $(METHOD_NAME),--method-name $(METHOD_NAME)) -o submission.zip
