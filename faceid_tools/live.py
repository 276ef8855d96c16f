"""Watch an until-decided campaign decide, live in a notebook (JupyterLab).

:func:`watch` runs :func:`~faceid_tools.campaign.run_campaign` with ``until_decided=True`` on a
background thread (its tqdm progress bar is a notebook widget) and, every ``refresh_s`` seconds,
redraws the coloured verdict matrix of the log in one display handle — the same rendering as the
product review (``present.matrix`` of ``analysis.cell_decisions``), with anytime-valid verdicts.
Interrupting the cell (the stop button, or KeyboardInterrupt) stops scheduling; the calls in flight
finish and are logged, and the final matrix is drawn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .campaign.runner import CampaignResult, run_campaign

__all__ = ["watch"]

logger = logging.getLogger(__name__)


def matrix_view(log: str | Path, *, intervals: str = "anytime") -> Any:
    """The coloured verdict matrix of the log at ``log`` (HTML for a notebook)."""
    from . import analysis
    from .report import present

    verdicts = analysis.slo_verdicts(log, intervals=intervals)
    return present.matrix(analysis.cell_decisions(verdicts))


def watch(
    target: Any,
    *,
    log: str | Path,
    refresh_s: float = 3.0,
    display: Callable[[Any], Any] | None = None,
    **campaign: Any,
) -> CampaignResult:
    """Run an until-decided campaign against ``target`` (see :func:`run_campaign`; ``campaign``
    passes its other arguments, e.g. ``budget_calls``, ``regions``) and show its verdict matrix,
    refreshed every ``refresh_s`` seconds, until it ends or the cell is interrupted.

    ``display``: how to show a frame (default: one ``IPython.display`` handle, updated in place).
    Returns the campaign's result (``interrupted`` after a stop).
    """
    show = display or _handle()
    stop = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = run_campaign(target, log=log, until_decided=True, stop=stop, **campaign)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="faceid-watch", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(refresh_s)
            if Path(log).is_file():
                _safe_show(show, log)
    except KeyboardInterrupt:
        logger.info("watch: interrupted; letting the calls in flight finish")
        stop.set()
        thread.join()
    if "error" in box:
        raise box["error"]
    _safe_show(show, log)
    result: CampaignResult = box["result"]
    return result


def _safe_show(show: Callable[[Any], Any], log: str | Path) -> None:
    try:
        view = matrix_view(log)
    except (ValueError, KeyError) as exc:  # no finished call yet
        logger.debug("watch: no matrix yet (%s)", exc)
        return
    show(view)


def _handle() -> Callable[[Any], Any]:
    from IPython.display import display

    handle: Any = None

    def show(view: Any) -> None:
        nonlocal handle
        if handle is None:
            handle = display(view, display_id=True)
        else:
            handle.update(view)

    return show
