"""Hatch build hook: what a wheel carries besides the package's code, mapped at build time.

- ``notebooks/*.ipynb`` (the repository's top level) -> ``faceid_tools/notebooks/``;
- ``data/sample/calls.sqlite`` (7 MB, the repository's one copy of the sample) -> xz-compressed
  ``faceid_tools/sample/calls.sqlite.xz`` (about 1 MB), which :mod:`faceid_tools.packaged`
  decompresses on first use.

An editable install gets neither (the package reads them from the checkout), so its site-packages
never holds stale copies.
"""

from __future__ import annotations

import lzma
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SAMPLE = Path("data") / "sample" / "calls.sqlite"
SAMPLE_IN_WHEEL = "faceid_tools/sample/calls.sqlite.xz"
NOTEBOOKS = Path("notebooks")
NOTEBOOKS_IN_WHEEL = "faceid_tools/notebooks"


class SampleHook(BuildHookInterface):  # type: ignore[type-arg]
    """Map the notebooks and the compressed sample into the wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        for notebook in sorted((root / NOTEBOOKS).glob("*.ipynb")):
            build_data["force_include"][str(notebook)] = f"{NOTEBOOKS_IN_WHEEL}/{notebook.name}"
        self._tmp = Path(tempfile.mkdtemp(prefix="faceid-tools-build-"))
        packed = self._tmp / "calls.sqlite.xz"
        raw = (root / SAMPLE).read_bytes()
        packed.write_bytes(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))
        build_data["force_include"][str(packed)] = SAMPLE_IN_WHEEL

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
