"""The analysis notebooks: parameters first, committed without outputs, and they run on the sample."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from faceid_tools.report.notebooks import PARAMETERS_TAG, declared_parameters, execute_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
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
            shows = ("display(Markdown(", "present.since_baseline(")  # each piece with its words
            assert any(s in cell.source for s in shows), f"{stem}: cell {i} explains nothing"
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


#: Most lines of code a notebook may hold: the logic lives in the package, the notebook calls it.
MAX_CODE_LINES = 40


def code_lines(nb: nbformat.NotebookNode) -> int:
    """Lines of code in the code cells: not blank, not only a comment."""
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebooks_are_thin(stem: str) -> None:
    assert code_lines(_read(stem)) <= MAX_CODE_LINES


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebooks_use_only_public_names(stem: str) -> None:
    """``analysis.X``, ``plots.X`` and ``present.X`` name only what each package exports; no
    private name (``_x``), no submodule reached through a package."""
    import faceid_tools.analysis
    import faceid_tools.plots
    import faceid_tools.report.present

    public = {
        "analysis": set(faceid_tools.analysis.__all__),
        "plots": set(faceid_tools.plots.__all__),
        "present": set(faceid_tools.report.present.__all__),
    }
    code = "\n".join(c.source for c in _read(stem).cells if c.cell_type == "code")
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Attribute):
            assert not node.attr.startswith("_"), f"{stem}: private name {node.attr}"
            if isinstance(node.value, ast.Name) and node.value.id in public:
                assert node.attr in public[node.value.id], f"{stem}: {node.value.id}.{node.attr}"
        if isinstance(node, ast.Name):
            assert not node.id.startswith("_"), f"{stem}: private name {node.id}"


def _shown_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            parts += [str(data.get(k, "")) for k in ("text/html", "text/markdown", "text/plain")]
            parts.append(str(out.get("text", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_every_label_follows_the_confidence_parameter(stem: str) -> None:
    executed = execute_notebook(
        NOTEBOOKS_DIR / f"{stem}.ipynb", {"DATA": str(SAMPLE), "CONFIDENCE": 0.9}
    )
    assert _errors(executed.notebook) == []
    shown = _shown_text(executed.notebook)
    assert "90% CI" in shown or "90% intervals" in shown or "90% simultaneous" in shown
    assert "95%" not in shown.replace("p95", ""), [
        line for line in shown.splitlines() if "95%" in line.replace("p95", "")
    ][:5]
