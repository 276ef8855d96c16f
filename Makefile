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
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow" -q

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

reliability: $(STAMP)
	$(BIN)/python -m tests.reliability --out docs/reliability.md

# JupyterLab on the packaged notebooks, on loopback, as root (in a container) or as a user; it prints
# the URL (with its token) to open.  LAB_PORT picks the port (default 8888, the next free one if taken).
# The notebooks' default DATA is ../data/sample/calls.sqlite, as in a folder made by `faceid-tools
# init`; the link (gitignored, never in the wheel) makes it resolve beside the packaged notebooks too.
LAB_PORT ?= 8888
lab: $(STAMP)
	test -e faceid_tools/data || ln -s ../data faceid_tools/data
	@echo "JupyterLab on faceid_tools/notebooks/ at 127.0.0.1: open the http://127.0.0.1:...?token=... URL it prints"
	$(BIN)/jupyter lab faceid_tools/notebooks/ --ip 127.0.0.1 --port $(LAB_PORT) --no-browser \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )

clean:
	rm -rf $(VENV) reports/*.html .pytest_cache .mypy_cache .ruff_cache
