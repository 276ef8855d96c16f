"""From an empty venv to a rendered report, with the wheel built from this tree.

Each repetition creates a fresh venv outside the repository, installs the wheel with ``uv`` (its
cache warm after the first run) and with ``pip`` (the way an analyst installs; pip's cache warm),
then runs ``faceid-tools report`` (the four packaged notebooks on the packaged sample, 2 jobs) from
an empty folder.  Installer rows are side by side with ratios against uv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._harness import Row

ROOT = Path(__file__).resolve().parent.parent


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("faceid_tools-*.whl")
    return wheel


def _install(installer: str, venv: Path, wheel: Path) -> float:
    base = getattr(sys, "_base_executable", sys.executable)
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    started = time.perf_counter()
    if installer == "uv":
        subprocess.run([uv, "venv", "-q", "--python", base, str(venv)], check=True)
        cmd = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)]
    else:
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)]
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


def _report(venv: Path, work: Path, cache: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["FACEID_TOOLS_CACHE"] = str(cache)
    started = time.perf_counter()
    subprocess.run(
        [str(venv / "bin" / "faceid-tools"), "report", "--jobs", "2"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def run(quick: bool = False) -> list[Row]:
    times = 1 if quick else 3
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="faceid-bench-install-") as tmp:
        base = Path(tmp)
        wheel = _build_wheel(base / "dist")
        for i in range(times):
            for installer in ("uv", "pip"):
                run_dir = base / f"{installer}-{i}"
                (run_dir / "work").mkdir(parents=True)
                install = _install(installer, run_dir / "venv", wheel)
                report = _report(run_dir / "venv", run_dir / "work", run_dir / "cache")
                samples.setdefault(f"{installer} install", []).append(install)
                samples.setdefault(f"report after {installer}", []).append(report)
                samples.setdefault(f"empty venv to report ({installer})", []).append(
                    install + report
                )
                shutil.rmtree(run_dir)
        size = wheel.stat().st_size
    note = f"wheel {size:,} bytes"
    return [
        Row("install", "uv install", "s", samples["uv install"], None, note),
        Row("install", "pip install", "s", samples["pip install"], "uv install", note),
        Row("report", "report after uv", "s", samples["report after uv"], None, "4 notebooks"),
        Row("report", "report after pip", "s", samples["report after pip"], "report after uv"),
        Row("to report", "empty venv to report (uv)", "s", samples["empty venv to report (uv)"]),
        Row(
            "to report",
            "empty venv to report (pip)",
            "s",
            samples["empty venv to report (pip)"],
            "empty venv to report (uv)",
        ),
    ]
