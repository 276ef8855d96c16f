"""The shared state of a dataset: engine results computed once, kept on disk, reused by every page.

Every metric is built from a few engine operations (:mod:`._engine`); rendering the four pages of
one dataset asks the same operations many times (the product review's findings recompute what the
latency, error and sequence pages computed, and a second render asks them all again).  Here an
operation's exact result is stored under a key made of

* the dataset's identity: what the engine reads (its file list and any window filters, i.e. the
  ``FROM`` clause), each file's size and modification time, and the toolkit's version plus a
  digest of the analysis code — a new export, a rewritten file or an upgrade gives new keys;
* the operation and its arguments (selection, group keys, columns, registered frames by content);
* for order statistics, the ranks asked of each stored group size: a rank function is code, so a
  stored result is reused only when the caller's function gives the same ranks for every group.

Results are the engine's own frames, pickled; a hit returns exactly what the miss returned (the
identity suite compares both).  The store is ``$FACEID_TOOLS_CACHE`` if set (``off`` turns it
off), else ``$XDG_CACHE_HOME/faceid-tools`` or ``~/.cache/faceid-tools``; entries of one dataset
share a folder named by its identity, and folders of older identities are left for the user to
delete (``faceid-tools`` never deletes outside its own entry being written).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from .._version import __version__

try:
    import fcntl
except ImportError:  # Windows: no waiting on another process's result (computed twice)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Environment variable naming the cache folder (``off``, ``0`` or ``none``: no cache).
ENV = "FACEID_TOOLS_CACHE"
_OFF = {"off", "0", "none", "false", ""}

F = TypeVar("F", bound=Callable[..., Any])


def cache_root() -> Path | None:
    """The folder results are kept in, or None when caching is off."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in _OFF else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "faceid-tools"


@functools.cache
def _code_digest() -> str:
    """The toolkit version and a digest of the analysis code (results change with either)."""
    digest = hashlib.sha256(__version__.encode())
    for f in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()[:16]


def dataset_identity(reads: str, files: Iterable[Path]) -> str:
    """A digest naming what an engine reads: ``reads`` (its FROM clause) and each file's size and
    modification time, with the toolkit's code."""
    digest = hashlib.sha256(_code_digest().encode() + reads.encode())
    for f in files:
        if not os.path.exists(f):
            continue
        st = os.stat(f)
        digest.update(f"\n{f}\t{st.st_size}\t{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def _part(value: Any) -> str:
    """A stable text of one argument (frames by content, callables are not allowed here)."""
    if isinstance(value, pd.DataFrame):
        hashed = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        return f"frame({list(value.columns)!r},{list(map(str, value.dtypes))!r},{hashlib.sha256(hashed).hexdigest()})"
    if isinstance(value, list | tuple):
        return "(" + ",".join(_part(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_part(k)}:{_part(v)}" for k, v in value.items()) + "}"
    if callable(value):
        raise TypeError("a callable argument cannot be part of a cache key")
    return repr(value)


def ranks_fingerprint(ranks: Callable[[int], Mapping[str, int]], sizes: Iterable[int]) -> str:
    """What ``ranks`` asks of groups of these sizes (equal fingerprints: equal picks)."""
    asked = [(n, sorted(ranks(n).items())) for n in sorted({int(n) for n in sizes})]
    return hashlib.sha256(repr(asked).encode()).hexdigest()


def _sizes(result: Any) -> list[int]:
    """Group sizes in an order-statistics result (``n``; for a pair, its second frame's)."""
    frame = result[1] if isinstance(result, tuple) else result
    if isinstance(frame, pd.DataFrame) and "n" in frame.columns:
        return [int(n) for n in frame["n"].dropna()]
    return []


class _Store:
    """One dataset's folder of results."""

    def __init__(self, root: Path, identity: str) -> None:
        self.folder = root / "analysis" / identity

    def load(self, key: str) -> list[tuple[str, Any]]:
        try:
            data = (self.folder / f"{key}.pkl").read_bytes()
        except OSError:
            return []
        try:
            entries = pickle.loads(data)  # our own files, in the user's cache
        except Exception:  # a torn or foreign file: recompute and overwrite it
            log.debug("cache: unreadable entry %s", key)
            return []
        return entries if isinstance(entries, list) else []

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold ``key``'s lock file (other processes computing the same result wait).

        Operations nest one way only (a summary asks for counts, never the reverse), so two
        processes never wait on each other."""
        if fcntl is None:
            yield
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / f".{key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def save(self, key: str, entries: list[tuple[str, Any]]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                pickle.dump(entries, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.folder / f"{key}.pkl")
        except OSError as exc:  # a read-only home or a full disk: work on, uncached
            log.debug("cache: cannot write %s: %s", key, exc)


def memoized(method: F) -> F:
    """Keep ``method``'s results (an engine operation) in the dataset's store.

    The engine gives ``cache_identity()`` (None: no caching).  An argument named ``ranks`` is a
    rank function: it is left out of the key and checked against each stored result's sizes;
    ``groups`` (a counting hint) is left out.
    """
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        root = cache_root()
        identity = self.cache_identity() if root is not None else None
        if root is None or identity is None:
            return method(self, *args, **kwargs)
        ranks = kwargs.get("ranks")
        plain = [a for a in args if not callable(a)]
        if ranks is None:
            ranks = next((a for a in args if callable(a)), None)
        shown = {k: v for k, v in kwargs.items() if k not in ("ranks", "groups")}
        try:
            text = f"{name}|{_part(plain)}|{_part(shown)}"
        except TypeError:
            return method(self, *args, **kwargs)
        key = hashlib.sha256(text.encode()).hexdigest()[:32]
        store = _Store(root, identity)
        entries = store.load(key)
        for fingerprint, (sizes, result) in entries:
            if ranks is None or fingerprint == ranks_fingerprint(ranks, sizes):
                log.debug("cache: hit %s", name)
                self.cache_hits = getattr(self, "cache_hits", 0) + 1
                return result
        with store.locked(key):  # a page computing this now: wait for its result
            entries = store.load(key)
            for fingerprint, (sizes, result) in entries:
                if ranks is None or fingerprint == ranks_fingerprint(ranks, sizes):
                    return result
            result = method(self, *args, **kwargs)
            sizes = _sizes(result) if ranks is not None else []
            fingerprint = ranks_fingerprint(ranks, sizes) if ranks is not None else ""
            store.save(key, [*entries[-7:], (fingerprint, (sizes, result))])
        return result

    return wrapper  # type: ignore[return-value]


#: The engine operations kept (every one a metric is built from; see :class:`._engine.Engine`).
OPERATIONS = (
    "counts",
    "sums",
    "order_statistics",
    "outcome_summary",
    "rank_sums",
    "duplicate_groups",
    "first_seen",
    "binned_counts",
    "property_stats",
)

E = TypeVar("E", bound=type)


def cached_operations(cls: E) -> E:
    """Class decorator: every operation of :data:`OPERATIONS` of ``cls`` goes through
    :func:`memoized` (subclasses inherit the wrapped operations)."""
    for op in OPERATIONS:
        setattr(cls, op, memoized(getattr(cls, op)))
    return cls
