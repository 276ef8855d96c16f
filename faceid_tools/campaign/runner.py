"""``run_campaign``: probe GenerateReflectSequence over a plan at the quota, inspecting every sequence.

Flow of one run:

1. the plan is created (or, on resume, rebuilt from the log) and its pending calls are listed;
2. device data is uploaded once per region (or taken as given);
3. calls are dispatched on a constant-arrival schedule to a bounded set of worker threads, each
   passing the shared :class:`~faceid_tools.campaign.schedule.PacingGate` inside its client right
   before the request leaves;
4. each successful call's sequence is downloaded (its own ``DownloadSequence`` row, sharing the
   call id) and its MD5 verified; the call is then marked finished in ``campaign_calls``;
5. the summary is computed from the log.

No single failure stops the campaign: every failure is logged by the client and counted here.
Ctrl-C stops scheduling and waits for the calls in flight; a second Ctrl-C abandons them.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..calllog.conventions import RUN_MODE_FIXED, RUN_MODE_UNTIL_DECIDED, plan_call_id
from ..client.regions import REGIONS
from ..errors import APIError, FaceIDError, InputError, IntegrityError
from . import device as device_mod
from .adaptive import Judge
from .clients import Clients, resolve_target
from .decided import UNTIL_DECIDED_CAP, Adaptive, cell_counts, verdict_table
from .interrupt import StopControl, sigint_stops
from .plan import Plan, PlanEntry
from .progress import Progress
from .records import CampaignRecord, CampaignStore, utc_now
from .resume import completed_indices, pending
from .schedule import QUOTA, Pacing, pool_size, run_schedule
from .summary import Summary, summarize

logger = logging.getLogger(__name__)

#: Seconds a dispatch waits for a free worker before checking for an abandon.
_POLL = 0.25


@dataclass(frozen=True)
class CampaignResult:
    """What :func:`run_campaign` returns: the campaign id, the run's summary and the log file."""

    campaign_id: str
    summary: Summary
    log_path: Path | None = None

    @property
    def interrupted(self) -> bool:
        return self.summary.interrupted


def margins(margin: float | None) -> dict[str, float]:
    """The schedule's and the gate's budgets for a ``margin`` (the gate keeps 3 ms less)."""
    if margin is None:
        return {}
    if not (isinstance(margin, int | float) and 0 <= margin < 1):
        raise InputError(f"margin must be in [0, 1) seconds, got {margin!r}")
    return {"jitter_budget": float(margin), "gate_budget": max(0.0, margin - 0.003)}


def new_campaign_id() -> str:
    """A fresh, sortable campaign id, e.g. ``c20260105T090000Z-3fa2c1``."""
    return f"c{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class _Run:
    """One run's moving parts: workers, counters and the stop control."""

    def __init__(
        self,
        record: CampaignRecord,
        run: int,
        clients: Clients,
        devices: Mapping[str, device_mod.DeviceRef],
        store: CampaignStore,
        progress: Progress,
        control: StopControl,
        max_in_flight: int,
    ) -> None:
        self.record = record
        self.run = run
        self.clients = clients
        self.devices = devices
        self.store = store
        self.progress = progress
        self.control = control
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.in_flight = 0
        self.dispatched = 0
        self.finished = 0

    # --- dispatch ---------------------------------------------------------------------------

    def dispatch(self, entry: PlanEntry) -> None:
        """Start ``entry`` on its own worker thread once one of the bounded slots is free."""
        while not self._slots.acquire(timeout=_POLL):
            if self.control.abandon.is_set():
                return
        with self._lock:
            self.in_flight += 1
            self.dispatched += 1
        worker = threading.Thread(
            target=self._work, args=(entry,), name=f"campaign-{entry.index}", daemon=True
        )
        worker.start()

    def wait_idle(self) -> int:
        """Wait for the calls in flight (until abandoned); return how many were left behind."""
        with self._idle:
            while self.in_flight and not self.control.abandon.is_set():
                self._idle.wait(_POLL)
            return self.in_flight

    # --- one call ---------------------------------------------------------------------------

    def _work(self, entry: PlanEntry) -> None:
        status = "failed"
        try:
            status = self._call(entry)
        except BaseException:  # never let a worker die silently
            if self.control.abandon.is_set():  # the run has closed its bookkeeping
                logger.debug("abandoned call %d ended after its run", entry.index, exc_info=True)
            else:
                logger.exception("campaign call %d failed unexpectedly", entry.index)
        finally:
            self.progress.call_finished(status)
            with self._idle:
                self.in_flight -= 1
                self.finished += 1
                self._idle.notify_all()
            self._slots.release()

    def _call(self, entry: PlanEntry) -> str:
        """Generate, download and verify one plan call; mark it finished; return its status."""
        cid = self.record.campaign_id
        call_id = plan_call_id(cid, entry.index)
        client = self.clients.for_region(entry.region)
        dev = self.devices[entry.region]
        status: str
        code: str | None = None
        try:
            seq = client.generate_reflect_sequence(
                dev.url, dev.md5, entry.level, campaign_id=cid, call_id=call_id
            )
        except FaceIDError as exc:
            status, code = ("api_error" if isinstance(exc, APIError) else "failed"), exc.code
        except Exception as exc:
            logger.exception("GenerateReflectSequence for call %s raised", call_id)
            status, code = "failed", type(exc).__name__
        else:
            try:
                client.download_sequence(seq, campaign_id=cid, call_id=call_id)
                status = "ok"
            except IntegrityError as exc:
                status, code = "integrity_error", exc.code
            except FaceIDError as exc:
                status, code = "download_failed", exc.code
            except Exception as exc:
                logger.exception("download for call %s raised", call_id)
                status, code = "failed", type(exc).__name__
        self.store.finish_call(
            cid,
            entry.index,
            call_id,
            run=self.run,
            region=entry.region,
            level=entry.level,
            status=status,
            error_code=code,
        )
        return status


def run_campaign(
    client_or_endpoint: Any = None,
    regions: tuple[str, ...] | list[str] = REGIONS,
    levels: tuple[str, ...] | list[str] = ("1", "2", "3", "4"),
    per_cell: int | None = None,
    rate: float = 5.0,
    *,
    credential: Any = None,
    log: Any = None,
    device_data: Mapping[str, Any] | None = None,
    campaign_id: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    retries: int = 0,
    seed: int | None = None,
    timeout: float = 10.0,
    stop: threading.Event | None = None,
    max_in_flight: int | None = None,
    quota: float = QUOTA,
    margin: float | None = None,
    until_decided: bool = False,
    budget_calls: int | None = None,
    budget_s: float | None = None,
    objectives: Judge | None = None,
) -> CampaignResult:
    """Run (or resume) a probe campaign and return its id and summary.

    ``client_or_endpoint``: an endpoint URL (``None``: the real service; ``"regional"``), an
    :class:`~faceid_tools.emulator.Emulator` (its endpoint and demo credential), a
    :class:`~faceid_tools.FaceIDClient` (its endpoint, credential and log serve every region),
    or a mapping region -> client.  ``regions`` × ``levels`` × ``per_cell`` calls are made in a
    randomised, blocked order (``seed``) at ``rate`` calls/s, held under the 5/s quota with a
    jitter margin.  ``log``: a :class:`~faceid_tools.CallLog` or a path (default
    ``data/calls.sqlite``); the campaign's plan is stored in the same file.  ``device_data``:
    region -> ``(url, md5)``; by default a package is uploaded once per region.  ``retries``:
    extra attempts per call, each paced like a call.  ``resume=True`` with ``campaign_id`` runs
    exactly the calls the log shows incomplete, with the stored plan and retries.  ``progress``:
    the tqdm bar (default on).  ``stop``: an event that, once set, stops scheduling as Ctrl-C does.
    ``quota``: the service's requests/s for the action (5); change it only for an emulator run
    with another quota.  ``margin``: seconds by which any ``quota + 1`` consecutive starts exceed
    one second (default 0.017, sized for loopback; raise it for a distant service, whose network
    jitter is larger, at the cost of throughput).  ``max_in_flight``: worker bound (default:
    enough for ``timeout``).

    ``per_cell`` defaults to 10 (20,000, the cap, with ``until_decided``).
    ``until_decided=True``: an adaptive campaign (stored as such, so the review shows anytime-valid
    intervals): ``per_cell`` is the most calls a cell may get; rounds of calls go only to cells
    with an objective still open (``objectives``: thresholds and confidence, default those of
    ``faceid-tools report``), cheapest-to-decide first, until every cell is decided, or
    ``budget_calls`` calls / ``budget_s`` seconds are spent (this run), or Ctrl-C.
    """
    if resume and not campaign_id:
        raise InputError("resume needs the campaign_id to resume")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InputError(f"retries must be an int >= 0, got {retries!r}")
    if per_cell is None:
        per_cell = UNTIL_DECIDED_CAP if until_decided else 10
    pacing = Pacing.for_rate(rate, quota=quota, **margins(margin))
    target = resolve_target(client_or_endpoint, credential=credential, log=log)
    with CampaignStore(target.log_path) as store:
        if resume:
            assert campaign_id is not None
            record = store.load(campaign_id)
            if record.retries != retries:
                logger.info("resuming with the campaign's own retries=%d", record.retries)
            if device_data is None and record.device_data == "given":
                raise InputError(
                    f"campaign {campaign_id} was run with given device data; pass device_data again"
                )
            if device_data is not None:
                device_mod.given(device_data, record.plan.regions)
        else:
            plan = (
                Plan(tuple(regions), tuple(levels), per_cell)
                if seed is None
                else Plan(tuple(regions), tuple(levels), per_cell, seed)
            )
            if device_data is not None:
                device_mod.given(device_data, plan.regions)  # refuse bad input before storing
            record = store.create(
                campaign_id or new_campaign_id(),
                plan,
                retries=retries,
                device_data="given" if device_data is not None else "upload",
                endpoint=target.endpoint_host,
                run_mode=RUN_MODE_UNTIL_DECIDED if until_decided else RUN_MODE_FIXED,
            )
        gate = pacing.gate()
        clients = target.clients(
            record.plan.regions, gate=gate, retries=record.retries, timeout=timeout
        )
        result: CampaignResult | None = None
        try:
            result = _run(
                record,
                store,
                clients,
                pacing,
                device_data=device_data,
                progress=progress,
                stop=stop,
                max_in_flight=max_in_flight,
                horizon=timeout * (record.retries + 2) + 2.0,
                adaptive=Adaptive(objectives or Judge(), budget_calls, budget_s)
                if record.run_mode == RUN_MODE_UNTIL_DECIDED
                else None,
            )
            return result
        finally:
            # abandoned calls may still finish and log: leave their session and log open
            if result is None or not result.summary.abandoned:
                clients.close()


def _run(
    record: CampaignRecord,
    store: CampaignStore,
    clients: Clients,
    pacing: Pacing,
    *,
    device_data: Mapping[str, Any] | None,
    progress: bool | None,
    stop: threading.Event | None,
    max_in_flight: int | None,
    horizon: float,
    adaptive: Adaptive | None = None,
) -> CampaignResult:
    cid, plan = record.campaign_id, record.plan
    marked = set(store.finished_calls(cid))
    done = completed_indices(store.connection, cid, retries=record.retries, marked=marked)
    todo = pending(plan, done)
    run = store.start_run(cid, rate=pacing.rate, interval_s=pacing.interval, to_do=len(todo))
    since = utc_now()
    t0 = time.monotonic()
    control = StopControl(stop)
    total = len(todo) if adaptive is None else adaptive.expected_total(pacing.rate, len(todo))
    bar = Progress(total, enabled=progress is not False, desc=cid, initial=len(done))
    runner: _Run | None = None
    skipped: dict[str, str] = {}
    abandoned = 0
    status = "failed"
    try:
        with sigint_stops(control):
            try:
                devices, skipped = _devices(record, clients, run, device_data, todo)
                todo = [e for e in todo if e.region not in skipped]
                runner = _Run(
                    record,
                    run,
                    clients,
                    devices,
                    store,
                    bar,
                    control,
                    max_in_flight or pool_size(1.0 / pacing.interval, horizon),
                )
                items: Any = todo
                if adaptive is not None:
                    items = adaptive.feed(record, store, todo, bar)
                run_schedule(
                    items,
                    pacing.interval,
                    runner.dispatch,
                    wait=control.stop.wait,
                    stopped=lambda: control.stopped,
                )
            except KeyboardInterrupt:  # no SIGINT handler here (not the main thread)
                control.press()
            if control.stopped:
                bar.note("stopping")
            if runner is not None:
                abandoned = runner.wait_idle()
        status = "abandoned" if abandoned else "interrupted" if control.stopped else "finished"
    finally:
        bar.close()
        store.end_run(
            cid,
            run,
            status=status,
            dispatched=runner.dispatched if runner else 0,
            finished=runner.finished if runner else 0,
            abandoned=abandoned,
        )
    marked = set(store.finished_calls(cid))
    complete = completed_indices(store.connection, cid, retries=record.retries, marked=marked)
    summary = summarize(
        store.connection,
        cid,
        planned=len(plan),
        completed=len(complete),
        since=since,
        elapsed_s=time.monotonic() - t0,
        interrupted=status != "finished",
        abandoned=abandoned,
        run=run,
    )
    summary.skipped_regions = skipped
    if adaptive is not None:
        counts = cell_counts(store.connection, cid, plan, adaptive.judge.p95_ms)
        summary.verdicts = verdict_table(counts, adaptive.judge)
    return CampaignResult(cid, summary, clients.log_path)


def _devices(
    record: CampaignRecord,
    clients: Clients,
    run: int,
    device_data: Mapping[str, Any] | None,
    todo: list[PlanEntry],
) -> tuple[dict[str, device_mod.DeviceRef], dict[str, str]]:
    """Device data per region the run needs; regions whose upload failed map to the reason."""
    needed = tuple(r for r in record.plan.regions if any(e.region == r for e in todo))
    if device_data is not None:
        return device_mod.given(device_data, needed), {}
    return device_mod.upload({r: clients.for_region(r) for r in needed}, record.campaign_id, run)
