"""Execute the analysis notebooks on a call log and render them to self-contained HTML reports.

Parameters are injected the papermill way: each notebook opens with a code cell tagged
``parameters`` holding its defaults; a new cell tagged ``injected-parameters`` is placed right after
it with the values of this run, so later assignments win and the defaults stay visible.  Kernels
run on *this* Python (``sys.executable``, so they import the same ``faceid_tools`` as the caller)
whatever kernelspecs are installed, unless ``kernel=NAME`` picks an installed one; they get no
``TENCENTCLOUD_*`` variables: a report never needs credentials, so none can leak into one.

The ``parameters`` and ``injected-parameters`` cells never reach the HTML (nbconvert's
``TagRemovePreprocessor``): a page opens with its title and provenance, not with the values of a
run (the injected one holds a machine path).

A notebook whose metadata has ``{"faceid_tools": {"report": {"exclude_input": true}}}`` (the
product review) is rendered without its code cells.
"""

from __future__ import annotations

import ast
import keyword
import logging
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import zmq
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbformat import NotebookNode

from .. import packaged
from ..client.redact import redact_text
from ..errors import FaceIDError, InputError, MissingInputError
from .defaults import (
    DEFAULT_CELL_TIMEOUT,
    INJECTED_TAG,
    PARAMETERS_TAG,
    default_data,
    default_jobs,
    default_notebooks_dir,
)
from .html import render_html
from .progress import NotebookProgress

log = logging.getLogger(__name__)

#: Environment variables a kernel never receives (credentials and anything shaped like one).
_SECRET_ENV = re.compile(r"^(TENCENTCLOUD_|TCCLI_)|SECRET|TOKEN|PASSWORD|CREDENTIAL", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LITERAL_TYPES = (str, int, float, bool, type(None))


class NotebookError(FaceIDError, RuntimeError):
    """A notebook could not be prepared or executed; the message names the notebook (and cell)."""

    def __init__(self, notebook: str, message: str, *, cell_index: int | None = None) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        where = notebook if cell_index is None else f"{notebook}, cell {cell_index}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ExecutedNotebook:
    """One executed notebook and how long its execution took."""

    path: Path
    notebook: NotebookNode
    seconds: float


def list_notebooks(notebooks_dir: str | Path | None = None) -> list[Path]:
    """The ``NN-name.ipynb`` notebooks of a folder, in name order."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    if not folder.is_dir():
        raise MissingInputError(f"notebooks folder not found: {folder}")
    found = sorted(
        p for p in folder.glob("*.ipynb") if not p.name.startswith((".", "_")) and p.is_file()
    )
    if not found:
        raise MissingInputError(f"no notebooks (*.ipynb) in {folder}")
    return found


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def parameters_cell_index(nb: NotebookNode) -> int | None:
    """Index of the cell tagged ``parameters``, or None."""
    for i, cell in enumerate(nb.cells):
        if PARAMETERS_TAG in _tags(cell):
            return i
    return None


def declared_parameters(nb: NotebookNode) -> list[str]:
    """Names the ``parameters`` cell assigns (the notebook's parameters), in order."""
    index = parameters_cell_index(nb)
    if index is None:
        return []
    try:
        tree = ast.parse(nb.cells[index].source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names.extend(t.id for t in targets if isinstance(t, ast.Name))
    return list(dict.fromkeys(names))


def _parameter_source(parameters: Mapping[str, Any]) -> str:
    lines = ["# Parameters"]
    for name, value in parameters.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            raise InputError(f"parameter name {name!r} is not a Python identifier")
        if isinstance(value, Path):
            value = str(value)
        if not isinstance(value, _LITERAL_TYPES):
            raise TypeError(
                f"parameter {name}: only str, int, float, bool, None or Path values can be "
                f"injected, got {type(value).__name__}"
            )
        lines.append(f"{name} = {value!r}")
    return "\n".join(lines) + "\n"


def inject_parameters(
    nb: NotebookNode, parameters: Mapping[str, Any], *, name: str
) -> NotebookNode:
    """Put an ``injected-parameters`` cell after the ``parameters`` cell (in place; returned).

    Any ``injected-parameters`` cell left from an earlier run is replaced.  ``name`` labels errors.
    """
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in _tags(c)]
    index = parameters_cell_index(nb)
    if index is None:
        raise NotebookError(name, f"no cell tagged {PARAMETERS_TAG!r} to inject parameters after")
    if not parameters:
        return nb
    cell = nbformat.v4.new_code_cell(
        _parameter_source(parameters), metadata={"tags": [INJECTED_TAG]}
    )
    nb.cells.insert(index + 1, cell)
    return nb


def strip_outputs(nb: NotebookNode) -> NotebookNode:
    """Remove outputs, execution counts and execution metadata (in place; returned)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


class _KernelManager(AsyncKernelManager):
    """A kernel manager for an installed kernelspec, CurveZMQ-encrypted if it can."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transport_encryption", "auto" if zmq.has("curve") else "disabled")
        super().__init__(**kwargs)


class _ThisPythonKernelManager(_KernelManager):
    """A kernel manager whose kernel runs on the caller's interpreter, whatever is installed."""

    @property
    def kernel_spec(self) -> KernelSpec | None:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python 3 (faceid-tools)",
                language="python",
                resource_dir=str(Path(sys.executable).parent),
                metadata={"supported_encryption": ["curve"]},
            )
        return self._kernel_spec


def check_kernel(name: str) -> None:
    """Raise ``ValueError`` naming the installed kernels unless a kernelspec ``name`` exists."""
    installed = sorted(KernelSpecManager().find_kernel_specs())
    if name not in installed:
        listed = ", ".join(installed) or "none (see `jupyter kernelspec list`)"
        raise InputError(f"--kernel {name}: no such Jupyter kernel; installed: {listed}")


def kernel_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment: no credential-like variables."""
    env = {
        k: v for k, v in (os.environ if base is None else base).items() if not _SECRET_ENV.search(k)
    }
    env.pop("MPLBACKEND", None)  # the inline backend turns figures into embedded PNGs
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def _cell_failure(
    name: str, nb: NotebookNode, index: int | None, exc: BaseException
) -> NotebookError:
    if isinstance(exc, CellExecutionError):
        detail = f"{exc.ename}: {_ANSI.sub('', str(exc.evalue))}"
    elif isinstance(exc, TimeoutError):
        detail = f"timed out: {_ANSI.sub('', str(exc)).strip()}"
    elif isinstance(exc, DeadKernelError):
        detail = f"the kernel died: {exc}"
    else:
        detail = f"{type(exc).__name__}: {_ANSI.sub('', str(exc))}"
    if index is not None and 0 <= index < len(nb.cells):
        first = next((ln for ln in nb.cells[index].source.splitlines() if ln.strip()), "")
        if first:
            detail += f"  [cell starts: {first[:80]}]"
    return NotebookError(name, detail, cell_index=index)


def execute_notebook(
    path: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_CELL_TIMEOUT,
    cwd: str | Path | None = None,
    kernel: str | None = None,
    progress: bool | None = None,
    position: int = 0,
) -> ExecutedNotebook:
    """Execute one notebook with injected ``parameters``; raise :class:`NotebookError` on failure.

    The kernel's working directory is the notebook's folder unless ``cwd`` is given, so relative
    paths in a notebook mean the same as in JupyterLab; a notebook packaged with faceid-tools runs
    in the caller's working directory instead (never inside the installed package).  ``kernel``
    names an installed kernelspec; None runs this Python.  ``progress`` draws a bar of the cells
    at line ``position`` of stderr (None: when stderr is a terminal).
    """
    path = Path(path)
    name = path.name
    if cwd is None and packaged.is_packaged_notebook(path):
        cwd = Path.cwd()
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        raise NotebookError(name, f"cannot read: {exc}") from exc
    inject_parameters(nb, dict(parameters or {}), name=name)
    current: dict[str, int] = {}
    bar = NotebookProgress(path.stem, nb, position=position, enabled=progress)

    def on_cell_start(cell: NotebookNode, cell_index: int) -> None:
        current["index"] = cell_index
        bar.started(cell, cell_index)

    client = NotebookClient(
        nb,
        timeout=int(timeout),
        kernel_name=kernel or "python3",
        kernel_manager_class=_KernelManager if kernel else _ThisPythonKernelManager,
        resources={"metadata": {"path": str(Path(cwd) if cwd else path.parent.resolve())}},
        on_cell_start=on_cell_start,
        on_cell_executed=bar.finished,
        record_timing=False,
    )
    log.info("executing %s", path)
    started = time.perf_counter()
    try:
        client.execute(env=kernel_env())
    except Exception as exc:
        raise _cell_failure(name, nb, current.get("index"), exc) from None
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    log.info("executed %s in %.1f s", name, seconds)
    return ExecutedNotebook(path=path, notebook=nb, seconds=seconds)


def _secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    source = os.environ if env is None else env
    return [v for k, v in source.items() if _SECRET_ENV.search(k) and len(v) >= 8]


def render_reports(
    data: str | Path | None,
    out_dir: str | Path = "reports",
    *,
    notebooks_dir: str | Path | None = None,
    notebooks: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_CELL_TIMEOUT,
    jobs: int | None = None,
    kernel: str | None = None,
    baseline: str | Path | None = None,
) -> list[Path]:
    """Execute every notebook on ``data`` and write ``<out_dir>/<notebook>.html``; return the paths.

    ``data`` is a SQLite call log or a Parquet dataset folder (None: :func:`default_data`); it is
    injected as ``DATA`` (absolute path).  ``parameters`` sets other parameters (e.g. the SLO
    thresholds of the product review), each given only to the notebooks that declare it.  ``notebooks`` picks notebooks by file name or stem.
    ``jobs`` notebooks run at once (default: :func:`default_jobs`), each in its own kernel; the
    first failure, in notebook order, is raised as :class:`NotebookError`.  ``kernel`` names an
    installed kernelspec to run them on (None: this Python).  ``baseline`` (an earlier log or
    dataset) is injected as ``BASELINE`` (absolute path) into the notebooks that take it: the
    product review then adds its "Since the baseline" section.
    """
    if kernel is not None:
        check_kernel(kernel)
    source = Path(data) if data is not None else default_data()
    if not source.exists():
        raise MissingInputError(f"call log not found: {source}")
    extra: dict[str, Any] = {}
    if baseline is not None:
        if not Path(baseline).exists():
            raise MissingInputError(f"baseline call log not found: {baseline}")
        extra["BASELINE"] = str(Path(baseline).resolve())
    paths = list_notebooks(notebooks_dir)
    if notebooks:
        wanted = set(notebooks)
        paths = [p for p in paths if p.name in wanted or p.stem in wanted]
        missing = wanted - {p.name for p in paths} - {p.stem for p in paths}
        if missing:
            raise MissingInputError(f"no such notebook(s): {', '.join(sorted(missing))}")
    params = {"DATA": str(source.resolve()), **dict(parameters or {}), **extra}
    declared = {p: declared_parameters(nbformat.read(p, as_version=4)) for p in paths}
    unused = set(params) - {"DATA"} - {n for names in declared.values() for n in names}
    if unused:
        raise InputError(f"no notebook takes the parameter(s) {', '.join(sorted(unused))}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    secrets = _secret_values()
    workers = max(1, min(jobs if jobs is not None else default_jobs(), len(paths)))

    def run(path: Path) -> Path:
        own = {k: v for k, v in params.items() if k == "DATA" or k in declared[path]}
        position = paths.index(path) if workers > 1 else 0
        executed = execute_notebook(path, own, timeout=timeout, kernel=kernel, position=position)
        html = redact_text(render_html(executed.notebook, title=path.stem), secrets)
        target = out / f"{path.stem}.html"
        target.write_text(html, encoding="utf-8")
        log.info("wrote %s", target)
        return target

    if workers == 1:
        return [run(path) for path in paths]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notebook") as pool:
        futures = [pool.submit(run, path) for path in paths]
        wait(futures, return_when=FIRST_EXCEPTION)
        for f in futures:
            f.cancel()  # after a failure, notebooks not yet started are skipped
        return [f.result() for f in futures]  # raises the first failure in notebook order
