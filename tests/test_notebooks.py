"""The analysis notebooks: parameters first, committed without outputs, and they run on the sample."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from faceid_tools.report.notebooks import PARAMETERS_TAG, declared_parameters, execute_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "faceid_tools" / "notebooks"
SAMPLE = ROOT / "data" / "sample" / "calls.sqlite"
NOTEBOOKS = ("01-latency", "02-errors", "03-sequences", "04-product-review")
SLO_PARAMETERS = ("SLO_P95_MS", "SLO_ERROR_RATE", "SLO_INTEGRITY_RATE")


def _read(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)


def test_the_four_notebooks_exist_and_nothing_else() -> None:
    assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_valid_nbformat_with_the_python3_kernel(stem: str) -> None:
    nb = _read(stem)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_first_cell_is_tagged_parameters_and_names_the_data(stem: str) -> None:
    nb = _read(stem)
    first = nb.cells[0]
    assert first.cell_type == "code"
    assert PARAMETERS_TAG in first.metadata.get("tags", [])
    assert sum(PARAMETERS_TAG in c.metadata.get("tags", []) for c in nb.cells) == 1
    names = declared_parameters(nb)
    assert "DATA" in names
    if stem == "04-product-review":
        assert set(SLO_PARAMETERS) <= set(names)
    # Only literal assignments: a parameters cell must be overridable by an injected cell.
    for node in ast.parse(first.source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_committed_without_outputs(stem: str) -> None:
    nb = _read(stem)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{stem} cell {i} has outputs"
            assert cell.execution_count is None, f"{stem} cell {i} has an execution count"
            assert "execution" not in cell.metadata, f"{stem} cell {i} has execution metadata"
        assert "injected-parameters" not in cell.metadata.get("tags", [])


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_every_code_cell_is_followed_by_an_explanation(stem: str) -> None:
    """Thin notebooks: each code cell after the parameters is explained by the markdown after it.

    A cell that shows something only sometimes (the review's "Since the baseline" section, only with
    a baseline) is tagged ``explains-itself`` and displays its own explanation with what it shows.
    """
    nb = _read(stem)
    for i, cell in enumerate(nb.cells[1:], start=1):
        if "explains-itself" in cell.metadata.get("tags", []):
            assert "display(Markdown(" in cell.source, f"{stem}: cell {i} explains nothing"
            continue
        if cell.cell_type == "code":
            assert i + 1 < len(nb.cells) and nb.cells[i + 1].cell_type == "markdown", (
                f"{stem}: code cell {i} is not followed by a markdown explanation"
            )
            assert nb.cells[i + 1].source.strip()


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            if out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                found.append(f"cell {i}: {out.text[:300]}")
    return found


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_executes_on_the_sample(stem: str) -> None:
    assert SAMPLE.exists(), f"missing sample log {SAMPLE}"
    executed = execute_notebook(NOTEBOOKS_DIR / f"{stem}.ipynb", {"DATA": str(SAMPLE)})
    nb = executed.notebook
    assert _errors(nb) == []
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    images = sum(
        "image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", [])
    )
    assert images >= 1, f"{stem} shows no figure"


def test_review_runs_on_a_parquet_export_of_the_sample(tmp_path: Path) -> None:
    """A Parquet dataset folder is a data source too (aggregated in DuckDB)."""
    from faceid_tools.calllog.export import export

    export(SAMPLE, tmp_path / "parquet")
    executed = execute_notebook(
        NOTEBOOKS_DIR / "04-product-review.ipynb", {"DATA": str(tmp_path / "parquet")}
    )
    assert _errors(executed.notebook) == []


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_the_data_is_opened_with_analysis_source_not_loaded(stem: str) -> None:
    """``load_calls(DATA)`` would pull a 10M-row dataset into pandas (12 GiB for 01-latency);
    ``analysis.source(DATA)`` keeps a Parquet dataset in DuckDB and loads a SQLite log once."""
    code = "\n".join(c.source for c in _read(stem).cells if c.cell_type == "code")
    calls = [
        ast.unparse(node.func) for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
    ]
    assert "analysis.source" in calls
    assert not [c for c in calls if c.endswith(("load_calls", "load_parquet"))]
