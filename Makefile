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
	$(BIN)/python -m faceid_tools demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy faceid_tools

test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow" -q --durations=25

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

# The whole reliability suite at full counts, its table to docs/reliability.md.  CI runs it with
# RELIABILITY_ARGS=--fast (CI counts) and RELIABILITY_OUT in a temporary folder (.ci/run).
RELIABILITY_OUT  ?= docs/reliability.md
RELIABILITY_ARGS ?=
reliability: $(STAMP)
	$(BIN)/python -m tests.reliability --out $(RELIABILITY_OUT) $(RELIABILITY_ARGS)

# JupyterLab on notebooks/, on loopback, as root (in a container) or as a user; it prints the URL
# (with its token) to open.  LAB_PORT picks the port (default 8888, the next free one if taken).
# The notebooks' default DATA, ../data/sample/calls.sqlite, is the repository's sample.
LAB_PORT ?= 8888
lab: $(STAMP)
	@echo "JupyterLab on notebooks/ at 127.0.0.1: open the http://127.0.0.1:...?token=... URL it prints"
	$(BIN)/jupyter lab notebooks/ --ip 127.0.0.1 --port $(LAB_PORT) --no-browser \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )

clean:
	rm -rf $(VENV) reports/*.html .pytest_cache .mypy_cache .ruff_cache
