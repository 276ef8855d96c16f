"""What the wheel carries, where ``report`` looks for notebooks and data, and ``faceid-tools init``."""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from faceid_tools import __version__, packaged
from faceid_tools.cli import main
from faceid_tools.report.defaults import choose_data, choose_notebooks
from faceid_tools.report.notebooks import render_reports
from faceid_tools.workspace import MANIFEST, init_folder

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "calls.sqlite"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FACEID_TOOLS_CACHE", str(cache))
    return cache


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# -- package data ----------------------------------------------------------------------------------


def test_a_checkout_reads_the_one_sample_of_the_repository() -> None:
    """The repository holds the sample once; only a wheel carries a compressed copy."""
    assert not (ROOT / "faceid_tools" / "sample").exists()
    assert packaged.sample_bytes() == SAMPLE.read_bytes()


def test_the_packaged_notebooks_are_the_four_of_the_top_level_folder() -> None:
    folder = packaged.notebooks_dir()
    assert folder == ROOT / "notebooks"  # in a checkout; a wheel carries them in the package
    assert not (ROOT / "faceid_tools" / "notebooks").exists()
    assert tuple(sorted(p.name for p in folder.glob("*.ipynb"))) == packaged.NOTEBOOK_NAMES
    for name in packaged.NOTEBOOK_NAMES:
        nbformat.reads(packaged.notebook_text(name), as_version=4)
    with pytest.raises(ValueError, match="not one of"):
        packaged.notebook_text("../README.md")


def test_packaged_notebooks_are_told_from_copies(tmp_path: Path) -> None:
    """A packaged notebook runs in the caller's folder, never inside the installed package."""
    assert packaged.is_packaged_notebook(packaged.notebooks_dir() / "01-latency.ipynb")
    copy = tmp_path / "notebooks" / "01-latency.ipynb"
    assert not packaged.is_packaged_notebook(copy)


def test_sample_path_decompresses_once_into_the_cache(_cache: Path) -> None:
    first = packaged.sample_path()
    assert first.parent == _cache and __version__ in first.name
    assert first.read_bytes() == SAMPLE.read_bytes()
    mtime = first.stat().st_mtime_ns
    assert packaged.sample_path() == first and first.stat().st_mtime_ns == mtime


def test_an_unwritable_cache_falls_back_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("FACEID_TOOLS_CACHE", str(blocker / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    path = packaged.sample_path()
    assert path.is_relative_to(tmp_path / "tmp") and path.stat().st_size == SAMPLE.stat().st_size


# -- what report picks -----------------------------------------------------------------------------


def test_report_defaults_to_the_packaged_notebooks_and_sample(cwd: Path) -> None:
    notebooks, data = choose_notebooks(), choose_data()
    assert notebooks.path == packaged.notebooks_dir() and "packaged" in notebooks.origin
    assert data.path == packaged.sample_path() and "sample" in data.origin


def test_report_prefers_the_folder_notebooks_and_default_log(cwd: Path) -> None:
    (cwd / "notebooks").mkdir()
    assert choose_notebooks().path == packaged.notebooks_dir()  # an empty folder is not used
    (cwd / "notebooks" / "01-mine.ipynb").write_text("{}")
    (cwd / "data").mkdir()
    (cwd / "data" / "calls.sqlite").write_bytes(b"")
    notebooks, data = choose_notebooks(), choose_data()
    assert notebooks.path == Path("notebooks") and "this folder" in notebooks.origin
    assert data.path == Path("data/calls.sqlite") and "default call log" in data.origin
    assert choose_notebooks("elsewhere").path == Path("elsewhere")
    assert choose_data("x.sqlite").path == Path("x.sqlite")


def _tiny_notebook(folder: Path, name: str, source: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell('DATA = "default"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(source),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def test_cli_report_says_it_used_this_folders_notebooks_and_the_sample(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tiny_notebook(cwd / "notebooks", "01-mine.ipynb", "print('mine', DATA)")
    assert main(["report"]) == 0
    captured = capsys.readouterr()
    assert "notebooks: notebooks of this folder (./notebooks)" in captured.err
    assert "data: the sample call log packaged with faceid-tools" in captured.err
    assert captured.out.split() == [str(Path("reports") / "01-mine.html")]
    html = (cwd / "reports" / "01-mine.html").read_text("utf-8")
    assert "mine" in html and str(packaged.sample_path()) in html


def test_report_runs_on_a_named_installed_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "jupyter" / "kernels" / "faceid-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "test", "language": "python"}
    kernel["env"] = {"FACEID_KERNEL_CHOSEN": "faceid-test"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    source = "import os; print('on', os.environ.get('FACEID_KERNEL_CHOSEN'))"
    _tiny_notebook(tmp_path / "nbs", "01-which.ipynb", source)
    data = tmp_path / "calls.sqlite"
    data.write_bytes(b"")
    folder = tmp_path / "nbs"
    (default,) = render_reports(data, tmp_path / "default", notebooks_dir=folder)
    assert "on None" in default.read_text("utf-8")
    (chosen,) = render_reports(data, tmp_path / "out", notebooks_dir=folder, kernel="faceid-test")
    assert "on faceid-test" in chosen.read_text("utf-8")


def test_an_unknown_kernel_is_refused_with_the_installed_ones(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--kernel", "no-such-kernel"]) == 2
    err = capsys.readouterr().err
    assert "--kernel no-such-kernel: no such Jupyter kernel; installed:" in err
    assert "python3" in err and not (cwd / "reports").exists()


# -- faceid-tools init -----------------------------------------------------------------------------


def _actions(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    out = capsys.readouterr().out
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}


def test_init_writes_the_folder_and_says_what_it_wrote(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "analysis"]) == 0
    actions = _actions(capsys)
    expected = [f"analysis/notebooks/{n}" for n in packaged.NOTEBOOK_NAMES]
    expected += [
        "analysis/data/sample/calls.sqlite",
        "analysis/data/README.md",
        "analysis/README.md",
    ]
    assert actions == dict.fromkeys(expected, "wrote")
    folder = cwd / "analysis"
    for name in packaged.NOTEBOOK_NAMES:
        assert (folder / "notebooks" / name).read_text("utf-8") == packaged.notebook_text(name)
    assert (folder / "data" / "sample" / "calls.sqlite").read_bytes() == SAMPLE.read_bytes()
    assert "faceid-tools report" in (folder / "README.md").read_text("utf-8")
    assert "data/calls.sqlite" in (folder / "data" / "README.md").read_text("utf-8")
    # The notebooks' default DATA resolves from their folder, as in JupyterLab.
    for name in packaged.NOTEBOOK_NAMES:
        nb = nbformat.read(folder / "notebooks" / name, as_version=4)
        default = nb.cells[0].source.split('DATA = "', 1)[1].split('"', 1)[0]
        assert (folder / "notebooks" / default).resolve().is_file(), (name, default)


def test_init_keeps_an_edited_notebook_unless_forced(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_folder("a")
    edited = cwd / "a" / "notebooks" / "02-errors.ipynb"
    edited.write_text(edited.read_text("utf-8").replace("Errors", "My errors"), "utf-8")
    mine = edited.read_bytes()
    (cwd / "a" / "README.md").write_text("my notes\n")
    assert main(["init", "a"]) == 1
    captured = capsys.readouterr()
    assert f"{Path('a/notebooks/02-errors.ipynb')} was edited; kept it (--force" in captured.err
    assert edited.read_bytes() == mine
    assert "kept      a/README.md" in captured.out
    assert main(["init", "a"]) == 1  # still edited: the manifest kept the digest it wrote
    assert edited.read_bytes() == mine
    capsys.readouterr()
    assert main(["init", "a", "--force"]) == 0
    assert _actions(capsys)["a/notebooks/02-errors.ipynb"] == "overwrote"
    assert edited.read_text("utf-8") == packaged.notebook_text("02-errors.ipynb")
    assert (cwd / "a" / "README.md").read_text() == "my notes\n"  # never overwritten


def test_init_updates_an_unedited_copy_of_an_older_version(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_folder("a")
    old = cwd / "a" / "notebooks" / "01-latency.ipynb"
    old.write_text('{"as": "an older faceid-tools wrote it"}\n', "utf-8")
    manifest = json.loads((cwd / "a" / MANIFEST).read_text())
    manifest["notebooks"]["notebooks/01-latency.ipynb"] = hashlib.sha256(
        old.read_bytes()
    ).hexdigest()
    (cwd / "a" / MANIFEST).write_text(json.dumps(manifest))
    assert main(["init", "a"]) == 0
    assert _actions(capsys)["a/notebooks/01-latency.ipynb"] == "updated"
    assert old.read_text("utf-8") == packaged.notebook_text("01-latency.ipynb")


def test_init_refuses_a_file_as_folder(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / "taken").write_text("x")
    assert main(["init", "taken"]) == 2
    assert "taken: exists and is not a folder" in capsys.readouterr().err


def test_init_in_the_current_folder(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    assert (cwd / "notebooks" / "04-product-review.ipynb").is_file()
    assert "next: faceid-tools report" in capsys.readouterr().err


def test_a_cache_turned_off_is_not_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FACEID_TOOLS_CACHE=off turns the cache off; the sample never lands in ./off."""
    from faceid_tools.packaged import sample_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACEID_TOOLS_CACHE", "off")
    assert sample_path().is_file()
    assert not (tmp_path / "off").exists()
