"""The wheel, installed as an analyst would: a fresh venv outside the repository, only runtime deps.

Builds the wheel from this tree, installs it with ``uv`` (same resolution as ``pip install``, from
a cache, so the test stays quick) into a venv under the temporary folder, and from an empty folder
runs the commands the README promises.  Every Python process started from that venv (the CLI, the
notebook kernels, the export workers) carries an audit hook (a ``sitecustomize`` on PYTHONPATH) that
records any file or folder opened under the repository: the installed package must read nothing of
the source tree.
"""

from __future__ import annotations

import email.parser
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faceid_tools import __version__

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01-latency", "02-errors", "03-sequences", "04-product-review")
PROFILES = ("default", "high-latency", "reliable")
#: A wheel a user would accept for a measurement toolkit: the sample is most of it.
MAX_WHEEL_BYTES = 2_000_000

_AUDIT = """
import os, sys

_ROOT = os.environ.get("FACEID_AUDIT_ROOT", "")
_LOG = os.environ.get("FACEID_AUDIT_LOG", "")
_EVENTS = {"open", "os.listdir", "os.scandir", "sqlite3.connect", "os.chdir", "shutil.copyfile"}


def _hook(event, args):
    if event not in _EVENTS or not args or not _ROOT or not _LOG:
        return
    try:
        path = args[0]
        if isinstance(path, int) or path is None:
            return
        full = os.path.abspath(os.fsdecode(path))
        if full == _ROOT or full.startswith(_ROOT + os.sep):
            with open(_LOG, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {event} {full} {sys.argv[:2]}\\n")
    except Exception:
        pass


sys.addaudithook(_hook)
"""


@dataclass
class Installed:
    """A venv holding the installed wheel, and how to run things in it."""

    venv: Path
    wheel: Path
    env: dict[str, str]
    audit_log: Path
    seconds_to_install: float

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(
        self, *argv: str, cwd: Path, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if check:
            assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
        return proc

    def source_tree_reads(self) -> list[str]:
        if not self.audit_log.exists():
            return []
        return self.audit_log.read_text("utf-8").splitlines()


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is a dev dependency (pip install -e '.[dev]')"
    return found


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("faceid_tools-*.whl")
    return wheel


def _clean_env(venv: Path, hook_dir: Path, audit_log: Path, cache: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "MPLBACKEND"}
        and not k.startswith(("PYTEST_", "TENCENTCLOUD_", "COV_"))
    }
    here = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != here]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONPATH"] = str(hook_dir)  # the audit hook, and nothing of the repository
    env["FACEID_AUDIT_ROOT"] = str(ROOT)
    env["FACEID_AUDIT_LOG"] = str(audit_log)
    env["FACEID_TOOLS_CACHE"] = str(cache)
    env["MPLCONFIGDIR"] = str(cache / "matplotlib")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("installed")
    assert not base.resolve().is_relative_to(ROOT), "the venv must live outside the repository"
    wheel = _build_wheel(base / "dist")
    venv = base / "venv"
    hook_dir = base / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(_AUDIT, encoding="utf-8")
    audit_log = base / "audit.log"
    started = time.perf_counter()
    interpreter = getattr(sys, "_base_executable", sys.executable)
    subprocess.run(
        [_uv(), "venv", "--quiet", "--python", interpreter, str(venv)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [_uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    env = _clean_env(venv, hook_dir, audit_log, base / "cache")
    yield Installed(venv, wheel, env, audit_log, seconds)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


# -- the wheel itself ------------------------------------------------------------------------------


def test_wheel_carries_notebooks_sample_profiles_and_license(installed: Installed) -> None:
    """The notebooks and the sample are mapped in at build time (hatch_build.py) from the
    repository's notebooks/ and data/sample/, their only copies."""
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
        for stem in NOTEBOOKS:
            packed = whl.read(f"faceid_tools/notebooks/{stem}.ipynb")
            assert packed == (ROOT / "notebooks" / f"{stem}.ipynb").read_bytes()
        sample = lzma.decompress(whl.read("faceid_tools/sample/calls.sqlite.xz"))
        assert sample == (ROOT / "data" / "sample" / "calls.sqlite").read_bytes()
    assert len([n for n in names if n.startswith("faceid_tools/notebooks/")]) == len(NOTEBOOKS)
    for profile in PROFILES:
        assert f"faceid_tools/emulator/profiles/{profile}.toml" in names
    assert "faceid_tools/sample/calls.sqlite.xz" in names
    assert "faceid_tools/py.typed" in names
    assert f"faceid_tools-{__version__}.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith(("tests/", "data/", "faceid_tools/data"))]
    assert installed.wheel.stat().st_size < MAX_WHEEL_BYTES


def test_wheel_metadata_is_what_a_registry_shows(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        text = whl.read(f"faceid_tools-{__version__}.dist-info/METADATA").decode("utf-8")
    meta = email.parser.Parser().parsestr(text)
    assert meta["Name"] == "faceid-tools"
    assert meta["Version"] == __version__  # single-sourced from faceid_tools/_version.py
    assert "GenerateReflectSequence" in meta["Summary"]
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert meta["Requires-Python"] == ">=3.11"
    classifiers = meta.get_all("Classifier") or []
    for wanted in (
        "Programming Language :: Python :: 3.11",
        "Typing :: Typed",
        "Framework :: Jupyter",
    ):
        assert wanted in classifiers
    assert "lab" in (meta.get_all("Provides-Extra") or [])
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("jupyterlab") and "extra == 'lab'" in r for r in requires)
    runtime = [r for r in requires if "extra ==" not in r]
    assert not [r for r in runtime if r.split("<")[0].split(">")[0] in ("jupyterlab", "pytest")]
    assert "## Install" in (meta.get_payload() or "")  # the README is the long description
    assert (ROOT / "CHANGELOG.md").read_text("utf-8").count(f"## {__version__}") == 1


# -- the installed package, from an empty folder ---------------------------------------------------


def test_the_audit_hook_sees_a_read_of_the_source_tree(installed: Installed, empty: Path) -> None:
    """Without this the 'reads nothing of the source tree' assertions could not fail."""
    probe = empty / "probe.log"
    env_log = installed.env["FACEID_AUDIT_LOG"]
    installed.env["FACEID_AUDIT_LOG"] = str(probe)
    try:
        installed.run(
            installed.bin("python"), "-c", f"open({str(ROOT / 'README.md')!r})", cwd=empty
        )
    finally:
        installed.env["FACEID_AUDIT_LOG"] = env_log
    assert str(ROOT / "README.md") in probe.read_text("utf-8")


def test_imports_from_the_venv_with_runtime_deps_only(installed: Installed, empty: Path) -> None:
    code = (
        "import faceid_tools, importlib.util as u\n"
        "print(faceid_tools.__file__)\n"
        "print(faceid_tools.__version__)\n"
        "print(u.find_spec('jupyterlab') is None, u.find_spec('pytest') is None)"
    )
    out = installed.run(installed.bin("python"), "-c", code, cwd=empty).stdout.splitlines()
    assert Path(out[0]).is_relative_to(installed.venv / "lib")
    assert out[1] == __version__
    assert out[2] == "True True"
    version = installed.run(installed.bin("faceid-tools"), "--version", cwd=empty).stdout
    assert version.strip() == f"faceid-tools {__version__}"
    assert installed.source_tree_reads() == []


def test_report_renders_the_packaged_notebooks_on_the_packaged_sample(
    installed: Installed, empty: Path
) -> None:
    started = time.perf_counter()
    proc = installed.run(installed.bin("faceid-tools"), "report", "--jobs", "2", cwd=empty)
    seconds = time.perf_counter() - started
    assert "notebooks: notebooks packaged with faceid-tools" in proc.stderr
    assert "data: the sample call log packaged with faceid-tools" in proc.stderr
    written = [Path(line) for line in proc.stdout.split()]
    assert written == [Path("reports") / f"{stem}.html" for stem in NOTEBOOKS]
    for path in written:
        html = (empty / path).read_text("utf-8")
        assert "data:image/png;base64," in html and "Traceback" not in html
    assert installed.source_tree_reads() == []
    print(
        f"\nwheel {installed.wheel.stat().st_size:,} bytes; empty venv to installed "
        f"{installed.seconds_to_install:.1f} s; report (4 notebooks) {seconds:.1f} s"
    )


def test_init_makes_an_analysis_folder(installed: Installed, empty: Path) -> None:
    proc = installed.run(installed.bin("faceid-tools"), "init", "analysis", cwd=empty)
    folder = empty / "analysis"
    for stem in NOTEBOOKS:
        assert f"wrote     analysis/notebooks/{stem}.ipynb" in proc.stdout
        assert (folder / "notebooks" / f"{stem}.ipynb").is_file()
    for rel in ("README.md", "data/README.md", "data/sample/calls.sqlite"):
        assert (folder / rel).is_file(), rel
    again = installed.run(installed.bin("faceid-tools"), "init", "analysis", cwd=empty)
    assert "wrote" not in again.stdout and again.stdout.count("unchanged") == 7
    assert installed.source_tree_reads() == []


def _read_endpoint(proc: subprocess.Popen[str]) -> tuple[str, dict[str, str]]:
    assert proc.stdout is not None
    endpoint, creds = "", {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"listening on (\S+)", line):
            endpoint = m.group(1)
        if m := re.match(r"\s+(TENCENTCLOUD_SECRET_(?:ID|KEY))=(\S+)", line):
            creds[m.group(1)] = m.group(2)
        if endpoint and len(creds) == 2:
            return endpoint, creds
    raise AssertionError(f"the emulator did not print its endpoint and credentials: {endpoint}")


def test_emulator_start_one_probe_stop(installed: Installed, empty: Path) -> None:
    emulator = subprocess.Popen(
        [installed.bin("faceid-tools"), "emulator", "--port", "0"],
        cwd=empty,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        endpoint, creds = _read_endpoint(emulator)
        assert endpoint.startswith("http://127.0.0.1:")
        probe = [installed.bin("faceid-tools"), "probe", "--endpoint", endpoint, "--per-cell", "1"]
        probe += ["--regions", "ap-singapore", "--levels", "4", "--quiet"]
        env = {**installed.env, **creds}
        proc = subprocess.run(
            probe, cwd=empty, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        calls = installed.run(installed.bin("faceid-tools"), "calls", "--json", cwd=empty)
        assert '"GenerateReflectSequence"' in calls.stdout
    finally:
        emulator.send_signal(signal.SIGINT)
        out, _ = emulator.communicate(timeout=30)
    assert emulator.returncode == 0 and "emulator stopped" in out
    assert (empty / "data" / "calls.sqlite").is_file()
    assert installed.source_tree_reads() == []


def _readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Use it from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's Python snippet is gone"
    return match.group(1)


def test_the_readme_python_snippet_runs(installed: Installed, empty: Path) -> None:
    code = _readme_snippet() + "\nprint(len(calls), sorted(set(calls['action'])))\n"
    proc = installed.run(installed.bin("python"), "-c", code, cwd=empty, timeout=120)
    assert "GenerateReflectSequence" in proc.stdout
    assert (empty / "data" / "calls.sqlite").is_file()
    assert installed.source_tree_reads() == []
