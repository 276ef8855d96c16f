"""What the wheel carries besides code: the analysis notebooks and the sample call log.

In a wheel both are package data read through :mod:`importlib.resources`, so they are found
wherever the package is installed: ``faceid_tools/notebooks/`` (mapped from the repository's
top-level ``notebooks/`` at build time) and ``faceid_tools/sample/calls.sqlite.xz`` (compressed
from ``data/sample/calls.sqlite`` by ``hatch_build.py``, about 1 MB for a 7 MB SQLite file).  The
sample is decompressed once into a cache folder when a command needs it as a file.

In a source checkout (an editable install) the package holds neither; they are read where the
repository keeps them, ``notebooks/`` and ``data/sample/calls.sqlite`` beside the package.
"""

from __future__ import annotations

import hashlib
import logging
import lzma
import os
import re
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ._version import __version__
from .errors import InputError, MissingInputError, ResourceError

__all__ = [
    "NOTEBOOK_NAMES",
    "cache_dir",
    "is_packaged_notebook",
    "notebook_text",
    "notebooks_dir",
    "sample_bytes",
    "sample_path",
    "write_sample",
]

log = logging.getLogger(__name__)

#: The packaged notebooks, in the order reports are rendered.
NOTEBOOK_NAMES: tuple[str, ...] = (
    "01-latency.ipynb",
    "02-errors.ipynb",
    "03-sequences.ipynb",
    "04-product-review.ipynb",
)
_SAMPLE = "sample/calls.sqlite.xz"
#: Where a source checkout keeps them, relative to the repository root.
_CHECKOUT_NOTEBOOKS = Path("notebooks")
_CHECKOUT_SAMPLE = Path("data") / "sample" / "calls.sqlite"


def _package() -> Traversable:
    return resources.files("faceid_tools")


def _checkout() -> Path | None:
    """The repository the package is imported from (an editable install), or None."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / _CHECKOUT_NOTEBOOKS).is_dir():
        return root
    return None


def _notebooks() -> Traversable:
    inside = _package() / "notebooks"
    if inside.is_dir():
        return inside
    root = _checkout()
    return root / _CHECKOUT_NOTEBOOKS if root is not None else inside


def _sample_data() -> tuple[bytes, bool]:
    """The sample's stored bytes and whether they are xz-compressed."""
    inside = _package() / _SAMPLE
    if inside.is_file():
        return inside.read_bytes(), True
    root = _checkout()
    if root is None:
        raise FileNotFoundError(f"faceid-tools is installed without its sample ({_SAMPLE})")
    return (root / _CHECKOUT_SAMPLE).read_bytes(), False


def notebooks_dir() -> Path:
    """The folder of the packaged notebooks (inside the installed package, or the checkout's
    ``notebooks/``)."""
    folder = _notebooks()
    if not isinstance(folder, Path):  # a zip import: the notebooks are not files on disk
        raise MissingInputError("faceid-tools is installed as a zip; its notebooks are not files")
    return folder


def is_packaged_notebook(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is one of the notebooks inside the installed package."""
    try:
        return Path(path).resolve().parent == notebooks_dir().resolve()
    except FileNotFoundError:
        return False


def notebook_text(name: str) -> str:
    """The text of one packaged notebook (``name`` as in :data:`NOTEBOOK_NAMES`)."""
    if name not in NOTEBOOK_NAMES:
        raise InputError(f"notebook {name!r}: not one of {', '.join(NOTEBOOK_NAMES)}")
    return (_notebooks() / name).read_text("utf-8")


def sample_bytes() -> bytes:
    """The sample call log (a SQLite file) as bytes, decompressed from the package."""
    stored, compressed = _sample_data()
    return lzma.decompress(stored) if compressed else stored


def write_sample(dest: str | os.PathLike[str]) -> Path:
    """Write the sample call log to ``dest`` (atomically: a reader never sees half a file)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(sample_bytes())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


_SAMPLE_COPY = re.compile(r"sample-(?P<version>[^-/]+)-[0-9a-f]{12}\.sqlite")


def sample_version(path: str | os.PathLike[str]) -> str | None:
    """The faceid-tools version whose packaged sample ``path`` is a copy of (see
    :func:`sample_path`), or None for any other file."""
    found = _SAMPLE_COPY.fullmatch(Path(path).name)
    return found["version"] if found else None


#: Values of ``$FACEID_TOOLS_CACHE`` that turn caching off (as for the analysis cache).
_CACHE_OFF = {"off", "0", "none", "false"}


def cache_dir() -> Path:
    """``$FACEID_TOOLS_CACHE``, else ``$XDG_CACHE_HOME/faceid-tools``, else ``~/.cache/faceid-tools``."""
    explicit = os.environ.get("FACEID_TOOLS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "faceid-tools"


def sample_path() -> Path:
    """The sample call log as a file: decompressed into :func:`cache_dir` on first use.

    The file's name carries the version and a digest of the packaged bytes, so an upgrade never
    reads a stale copy.  A cache that cannot be written falls back to the temporary folder.
    """
    digest = hashlib.sha256(_sample_data()[0]).hexdigest()[:12]
    name = f"sample-{__version__}-{digest}.sqlite"
    temporary = Path(tempfile.gettempdir()) / "faceid-tools"
    # "off" (and the other words that turn the result cache off) names no folder to write in
    cache_off = os.environ.get("FACEID_TOOLS_CACHE", "").strip().lower() in _CACHE_OFF
    for folder in (temporary,) if cache_off else (cache_dir(), temporary):
        target = folder / name
        if target.is_file():
            return target
        try:
            write_sample(target)
        except OSError as exc:
            log.debug("cannot write the sample to %s: %s", target, exc)
            continue
        log.info("sample call log decompressed to %s", target)
        return target
    raise ResourceError("cannot write the sample call log to the cache or the temporary folder")
