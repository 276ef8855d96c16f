"""`faceid-tools report`: executes notebooks with injected parameters and writes self-contained HTML."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from faceid_tools.cli import main
from faceid_tools.report.notebooks import (
    INJECTED_TAG,
    NotebookError,
    declared_parameters,
    execute_notebook,
    inject_parameters,
    render_html,
    render_reports,
    strip_outputs,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "calls.sqlite"


def _notebook(*sources: str, params: str = 'DATA = "default"') -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    return nb


# -- parameters, without a kernel ----------------------------------------------------------------


def test_injected_cell_follows_the_parameters_cell_and_replaces_an_old_one() -> None:
    nb = _notebook("print(DATA)")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# title"))
    inject_parameters(nb, {"DATA": Path("/x/calls.sqlite"), "N": 3}, name="t.ipynb")
    inject_parameters(nb, {"DATA": "/y", "RATE": 0.5, "FLAG": True, "NONE": None}, name="t.ipynb")
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags[1] == ["parameters"] and tags[2] == [INJECTED_TAG]
    assert sum(INJECTED_TAG in t for t in tags) == 1
    assert nb.cells[2].source == "# Parameters\nDATA = '/y'\nRATE = 0.5\nFLAG = True\nNONE = None\n"
    nbformat.validate(nb)


def test_injection_refuses_what_it_cannot_write_as_a_literal() -> None:
    with pytest.raises(ValueError, match="identifier"):
        inject_parameters(_notebook(), {"not valid": 1}, name="t.ipynb")
    with pytest.raises(ValueError, match="identifier"):
        inject_parameters(_notebook(), {"class": 1}, name="t.ipynb")
    with pytest.raises(TypeError, match="DATA"):
        inject_parameters(_notebook(), {"DATA": object()}, name="t.ipynb")


def test_a_notebook_without_parameters_cell_is_named_in_the_error() -> None:
    nb = _notebook()
    nb.cells[0].metadata["tags"] = []
    with pytest.raises(NotebookError, match=r"^x\.ipynb: no cell tagged 'parameters'"):
        inject_parameters(nb, {"DATA": "y"}, name="x.ipynb")


def test_declared_parameters_are_the_names_assigned() -> None:
    nb = _notebook(params='DATA = "a"\nSLO_P95_MS: float = 900.0\nX = Y = 1')
    assert declared_parameters(nb) == ["DATA", "SLO_P95_MS", "X", "Y"]


def test_strip_outputs_clears_outputs_and_counts() -> None:
    nb = _notebook("1 + 1")
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    nb.cells[1].execution_count = 4
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "x"}
    strip_outputs(nb)
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert "execution" not in nb.cells[1].metadata


def _images(html: str) -> list[dict[str, str | None]]:
    found: list[dict[str, str | None]] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                found.append(dict(attrs))

    Images().feed(html)
    return found


def test_figures_get_the_following_explanation_as_alt_text() -> None:
    nb = _notebook("plot()")
    nb.cells[1].outputs = [
        nbformat.v4.new_output(
            "display_data", {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
        )
    ]
    nb.cells.append(nbformat.v4.new_markdown_cell('The **"p95"** <b>per</b> hour. Then more.'))
    html = render_html(nb)
    images = _images(html)
    assert images == [{"alt": 'The "p95" per hour.', "src": "data:image/png;base64,iVBORw0KGgo="}]
    assert nb.cells[1].outputs[0].get("metadata", {}) == {}  # the caller's notebook is untouched


# -- execution -----------------------------------------------------------------------------------


def test_kernel_runs_this_python_without_credentials_in_the_notebook_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", secret)
    monkeypatch.setenv("TENCENTCLOUD_TOKEN", "token-0123456789abcdef")
    monkeypatch.setenv("FACEID_HARMLESS", "kept")
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = _notebook(
        "import os, sys, faceid_tools\n"
        "print(sys.executable)\n"
        "print(os.getcwd())\n"
        "print(DATA)\n"
        "print(sorted(k for k in os.environ if k.startswith('TENCENTCLOUD')))\n"
        "print(os.environ.get('FACEID_HARMLESS'))\n"
        "print(faceid_tools.__file__)"
    )
    nbformat.write(nb, folder / "probe.ipynb")
    executed = execute_notebook(folder / "probe.ipynb", {"DATA": "/data/calls.sqlite"})
    text = "".join(o.get("text", "") for o in executed.notebook.cells[-1].outputs)
    lines = text.splitlines()
    assert lines[0] == sys.executable
    assert Path(lines[1]).resolve() == folder.resolve()
    assert lines[2] == "/data/calls.sqlite"
    assert lines[3] == "[]"
    assert lines[4] == "kept"
    assert Path(lines[5]).resolve().parent.parent == ROOT
    assert secret not in text


def test_a_failing_cell_is_named_with_its_notebook(tmp_path: Path) -> None:
    nb = _notebook("x = 1", "import math\nmath.sqrt(-1)", "print('never')")
    nbformat.write(nb, tmp_path / "07-broken.ipynb")
    with pytest.raises(NotebookError) as info:
        execute_notebook(tmp_path / "07-broken.ipynb", {"DATA": "d"})
    err = info.value
    assert err.notebook == "07-broken.ipynb"
    assert err.cell_index == 3  # parameters, injected parameters, x = 1, the failing cell
    assert str(err).startswith("07-broken.ipynb, cell 3: ValueError: math domain error")
    assert "import math" in str(err)
    assert "\x1b[" not in str(err)


def test_cli_reports_a_failing_notebook_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    nbformat.write(_notebook("raise RuntimeError('no data here')"), folder / "01-bad.ipynb")
    data = tmp_path / "calls.sqlite"
    data.write_bytes(b"")
    code = main(
        ["report", "--data", str(data), "--out", str(tmp_path / "out"), "--notebooks", str(folder)]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "01-bad.ipynb, cell 2: RuntimeError: no data here" in err
    assert not (tmp_path / "out" / "01-bad.html").exists()


def test_parallel_run_raises_the_failing_notebook_and_keeps_the_others(tmp_path: Path) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    nbformat.write(_notebook("print(DATA)"), folder / "01-good.ipynb")
    nbformat.write(_notebook("assert DATA == 'other', DATA"), folder / "02-bad.ipynb")
    data = tmp_path / "calls.sqlite"
    data.write_bytes(b"")
    with pytest.raises(NotebookError) as info:
        render_reports(data, tmp_path / "out", notebooks_dir=folder, jobs=2)
    assert info.value.notebook == "02-bad.ipynb" and info.value.cell_index == 2
    assert "AssertionError" in str(info.value) and str(data) in str(info.value)
    assert str(data) in (tmp_path / "out" / "01-good.html").read_text("utf-8")


@pytest.mark.parametrize(
    "option", [["--slo-error-rate", "2"], ["--slo-integrity-rate", "-0.1"], ["--slo-p95-ms", "0"]]
)
def test_cli_refuses_impossible_objectives(option: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["report", *option])
    assert info.value.code == 2


def test_unknown_parameters_and_missing_data_are_refused_before_running(tmp_path: Path) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    nbformat.write(_notebook("print(1)"), folder / "01-a.ipynb")
    data = tmp_path / "calls.sqlite"
    data.write_bytes(b"")
    with pytest.raises(ValueError, match="SLO_P95_MS"):
        render_reports(data, tmp_path / "out", notebooks_dir=folder, parameters={"SLO_P95_MS": 1.0})
    with pytest.raises(FileNotFoundError, match="call log not found"):
        render_reports(tmp_path / "missing.sqlite", tmp_path / "out", notebooks_dir=folder)
    with pytest.raises(FileNotFoundError, match="99-none"):
        render_reports(data, tmp_path / "out", notebooks_dir=folder, notebooks=["99-none"])


# -- the real notebooks through the CLI ------------------------------------------------------------


def _code_inputs(html: str) -> int:
    """Code cells shown: each rendered code input is a highlighted Python block."""
    return len(re.findall(r'class="highlight hl-ipython3"', html))


def test_code_is_shown_unless_the_notebook_asks_to_hide_it() -> None:
    nb = _notebook("print('hello')")
    assert _code_inputs(render_html(nb)) == 1  # the code cell; the parameters cell is left out
    nb.metadata["faceid_tools"] = {"report": {"exclude_input": True}}
    html = render_html(nb)
    assert _code_inputs(html) == 0 and "print(" not in html


def test_cli_renders_the_review_with_embedded_figures_and_no_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    only = ["--only", "04-product-review"]
    code = main(["report", "--data", str(SAMPLE), "--out", str(out), *only, "--slo-p95-ms", "900"])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.split() == [str(out / "04-product-review.html")]
    review = (out / "04-product-review.html").read_text("utf-8")
    images = _images(review)
    assert images, "the review has no embedded figure"
    for img in images:
        assert str(img["src"]).startswith("data:image/png;base64,")
        assert img["alt"] and "No description" not in img["alt"]
    assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="https?://', review)
    assert "Traceback" not in review
    assert _code_inputs(review) == 0, "the product review must not show code"
    assert "load_calls" not in review and "import " not in review
    assert "p95 latency ≤ 900 ms" in review  # the SLO given on the command line reached the review
    assert 'class="verdict-matrix"' in review
    assert re.search(r'class="verdict verdict-(pass|fail|not-enough-data)"', review)


def test_the_parameter_cells_never_reach_the_page() -> None:
    """Neither the defaults nor the injected values (a machine path) show before the title."""
    nb = _notebook("print('after the title')", params='DATA = "default-data-marker"')
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("# The title"))
    inject_parameters(nb, {"DATA": "/home/someone/secret-place/calls.sqlite"}, name="x.ipynb")
    html = render_html(nb)
    assert "default-data-marker" not in html and "secret-place" not in html
    assert "The title" in html and "after the title" in html
    assert nb.cells[0].metadata["tags"] == ["parameters"]  # the notebook itself keeps them
