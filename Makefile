# Every target bootstraps .venv from nothing and re-installs when pyproject.toml changes.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint fmt bench lab reliability clean

$(STAMP): pyproject.toml scripts/system-deps
	bash scripts/system-deps
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m faceid_tools.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy faceid_tools

test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow" -q

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

reliability: $(STAMP)
	$(BIN)/python -m tests.reliability --out docs/reliability.md

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) reports/*.html .pytest_cache .mypy_cache .ruff_cache
