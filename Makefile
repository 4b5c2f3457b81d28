# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench browser-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

browser-deps:
	@bash scripts/ensure-browser.sh

demo: $(STAMP)
	$(PY) -m studio.demo

test: $(STAMP) browser-deps
	$(VENV)/bin/ruff check studio tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check studio tests benchmarks
	$(VENV)/bin/ruff format --check studio tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m benchmarks.engine_roundtrip
	$(PY) -m benchmarks.analysis
	$(PY) -m benchmarks.local_image
	$(PY) -m benchmarks.storyboard
	$(PY) -m benchmarks.render
	$(PY) -m benchmarks.library
	$(PY) -m benchmarks.widgets
	$(PY) -m benchmarks.dashboards
	$(PY) -m benchmarks.batch

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
