"""An analysis folder the analyst owns: editable copies of the notebooks, a data folder, a README.

``init_folder(DIR)`` writes::

    DIR/README.md                 next commands
    DIR/notebooks/NN-*.ipynb      the packaged notebooks, to edit freely
    DIR/data/README.md            where call logs go
    DIR/data/sample/calls.sqlite  the packaged sample (what the notebooks' DATA points at)
    DIR/.faceid-tools.json        digests of the notebooks as written

It never overwrites a file the analyst changed: a notebook whose digest differs from the one
recorded when it was written is *edited* and is kept unless ``force=True``; an unedited copy of an
older version is updated; the READMEs and the sample, once there, are left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, packaged
from .calllog.store import DEFAULT_PATH
from .errors import InputError

__all__ = ["MANIFEST", "InitResult", "WrittenFile", "init_folder"]

log = logging.getLogger(__name__)

#: Digests of the notebooks as ``init`` wrote them, relative to the folder.
MANIFEST = ".faceid-tools.json"


@dataclass(frozen=True)
class WrittenFile:
    """One file ``init`` considered: its path (relative to the folder) and what it did."""

    path: Path
    action: str  # wrote, updated, overwrote, unchanged, kept, refused


@dataclass
class InitResult:
    """What :func:`init_folder` did, file by file."""

    folder: Path
    files: list[WrittenFile] = field(default_factory=list)

    @property
    def refused(self) -> list[Path]:
        """Edited notebooks left as they were (``force=False``)."""
        return [f.path for f in self.files if f.action == "refused"]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        recorded = json.loads((folder / MANIFEST).read_text("utf-8")).get("notebooks", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _readme() -> str:
    return f"""# FaceID measurements

Made by `faceid-tools init` (faceid-tools {__version__}); everything here is yours to edit.

- `notebooks/` — the analysis notebooks: latency, errors, light sequences, product review. Open
  them with `jupyter lab notebooks/` (`pip install 'faceid-tools[lab]'` brings JupyterLab). Each
  reads `DATA` from its first cell: `../data/sample/calls.sqlite`, the sample, until you change it.
- `data/` — call logs; see `data/README.md`.

Next, from this folder:

    faceid-tools emulator                          # a local twin of the service (Ctrl-C stops it)
    faceid-tools probe --emulator --per-cell 20    # a short campaign into data/calls.sqlite
    faceid-tools report                            # these notebooks on data/calls.sqlite -> reports/
    faceid-tools report --kernel NAME              # ... on another Jupyter kernel

`faceid-tools report` runs the notebooks in `notebooks/` (your edits included) on
`data/calls.sqlite`, or on the sample while that log does not exist; `--data PATH` names another
log. `jupyter kernelspec list` shows the kernels `--kernel` accepts; without it the notebooks run on
the Python that runs faceid-tools. `faceid-tools init --force` puts back the original notebooks.
"""


def _data_readme() -> str:
    return f"""# data/

Call logs, one SQLite file each (one row per HTTP exchange).

- `{DEFAULT_PATH.name}` — the default log: `faceid-tools probe` and `FaceIDClient(...)` write to
  `{DEFAULT_PATH}` when run from the folder above, and `faceid-tools report` reads it when it exists.
- `calls.parquet/` — where `faceid-tools export` puts a large log as a Parquet dataset
  (`faceid-tools report --data data/calls.parquet`).
- `sample/calls.sqlite` — the sample log shipped with faceid-tools (an emulator campaign); the
  notebooks read it until you set their `DATA`.

No SecretKey, signature, token or presigned query is ever written to a log, but the logs name your
COS buckets and endpoints: keep them out of public repositories if that matters.
"""


def _notebook_files(
    folder: Path, force: bool, recorded: dict[str, str], result: InitResult
) -> dict[str, str]:
    digests: dict[str, str] = {}
    for name in packaged.NOTEBOOK_NAMES:
        rel = Path("notebooks") / name
        target = folder / rel
        data = packaged.notebook_text(name).encode("utf-8")
        digests[rel.as_posix()] = _digest(data)
        if not target.exists():
            action = "wrote"
        else:
            current = _digest(target.read_bytes())
            if current == digests[rel.as_posix()]:
                result.files.append(WrittenFile(rel, "unchanged"))
                continue
            if current == recorded.get(rel.as_posix()):
                action = "updated"  # an unedited copy of an older version
            elif force:
                action = "overwrote"
            else:
                result.files.append(WrittenFile(rel, "refused"))
                digests[rel.as_posix()] = recorded.get(rel.as_posix(), "")
                continue
        _write(target, data)
        result.files.append(WrittenFile(rel, action))
    return {k: v for k, v in digests.items() if v}


def _keep_or_write(folder: Path, rel: Path, data: bytes, result: InitResult) -> None:
    target = folder / rel
    if target.exists():
        same = target.stat().st_size == len(data) and target.read_bytes() == data
        result.files.append(WrittenFile(rel, "unchanged" if same else "kept"))
        return
    _write(target, data)
    result.files.append(WrittenFile(rel, "wrote"))


def init_folder(folder: str | os.PathLike[str] = ".", *, force: bool = False) -> InitResult:
    """Create (or bring up to date) an analysis folder; see the module docstring.

    Raises ``NotADirectoryError`` when ``folder`` is an existing file.  ``force`` overwrites
    edited notebooks with the packaged ones.
    """
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    result = InitResult(root)
    recorded = _read_manifest(root)
    digests = _notebook_files(root, force, recorded, result)
    _keep_or_write(root, Path("data") / "sample" / "calls.sqlite", packaged.sample_bytes(), result)
    _keep_or_write(root, Path("data") / "README.md", _data_readme().encode("utf-8"), result)
    _keep_or_write(root, Path("README.md"), _readme().encode("utf-8"), result)
    manifest = {"faceid_tools": __version__, "notebooks": digests}
    _write(root / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    log.info("initialised %s", root)
    return result
