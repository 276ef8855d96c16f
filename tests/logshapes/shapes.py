"""Every shape of call log a user can make, each built in a folder by the real writers.

:data:`BUILDERS` maps a shape's name to the function writing it as ``<folder>/<name>.sqlite``;
:func:`build_all` builds them all, then the Parquet export of each (``<name>.parquet/``, by
``faceid_tools.calllog.export``), and returns ``name -> path`` for both.  Campaigns run in process
against an emulator on loopback without quota or latency sleeps (as ``tests/campaign`` does), so
the whole set takes seconds; the SIGKILLed campaign is a real ``faceid-tools probe`` subprocess.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from faceid_tools.calllog import migrations, schema
from faceid_tools.calllog.export import export
from faceid_tools.calllog.store import CallLog
from faceid_tools.campaign import run_campaign
from faceid_tools.client import FaceIDClient
from faceid_tools.client.credentials import Credential
from faceid_tools.emulator.profile import Profile
from faceid_tools.emulator.server import Emulator
from faceid_tools.errors import FaceIDError
from faceid_tools.simulate import simulate
from tests.campaign.killing import probe_command, probe_env

GRS = "GenerateReflectSequence"
#: run_campaign without the 5/s pacing (the emulators below have no quota).
FAST = {"rate": 100.0, "quota": 100.0, "progress": False}
LEVELS = ("1", "2", "3", "4")


def _emulator(profile: Profile | str = "reliable") -> Emulator:
    return Emulator(profile, seed=7, quota=False, time_scale=0.0)


def _faulty(rate: float, *, name: str) -> Profile:
    """The default profile with every region's GenerateReflectSequence failing at ``rate``."""
    d = Profile.default().as_dict()
    for region in d["regions"].values():
        region["faults"] = {"InternalError": rate}
    return Profile.from_dict(d, name=name)


def _grs_rows(log: Path) -> int:
    if not log.exists():
        return 0
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True, timeout=30)
    try:
        return int(
            conn.execute("SELECT count(*) FROM calls WHERE action = ?", (GRS,)).fetchone()[0]
        )
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def client_calls(log: Path) -> None:
    """The README's snippet: ``FaceIDClient(log=CallLog(...))`` used directly, no campaign."""
    with _emulator() as emu:
        for region, levels in (("ap-singapore", ("4", "2")), ("ap-bangkok", ("1",))):
            client = FaceIDClient(
                region=region, endpoint=emu.endpoint, credential=emu.credential, log=CallLog(log)
            )
            with client:
                data = client.upload_device_data(b"...sdk data package...")
                for level in levels:
                    seq = client.generate_reflect_sequence(
                        data.url, data.md5, security_level=int(level)
                    )
                    client.download_sequence(seq)


def campaign(log: Path) -> None:
    """``faceid-tools probe``'s campaign: every region × level."""
    with _emulator() as emu:
        run_campaign(emu, per_cell=2, log=log, seed=3, campaign_id="camp-full", **FAST)


def resumed(log: Path) -> None:
    """A campaign stopped (Ctrl-C) part-way, then resumed to its end."""
    with _emulator() as emu:
        stop = threading.Event()

        def watch() -> None:
            deadline = time.monotonic() + 60
            while _grs_rows(log) < 5 and time.monotonic() < deadline:
                time.sleep(0.005)
            stop.set()

        threading.Thread(target=watch, daemon=True).start()
        run_campaign(emu, per_cell=2, log=log, seed=4, campaign_id="camp-res", stop=stop, **FAST)
        run_campaign(emu, log=log, campaign_id="camp-res", resume=True, **FAST)


def killed(log: Path) -> None:
    """A ``faceid-tools probe`` subprocess SIGKILLed after a few calls, never resumed."""
    with _emulator() as emu:
        cmd = probe_command(
            log, emu.endpoint, "--per-cell", "3", "--seed", "5", "--campaign-id", "camp-kill",
            "--rate", "20", "--quota", "100",
        )  # fmt: skip
        proc = subprocess.Popen(
            cmd, env=probe_env(emu), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 120
            while _grs_rows(log) < 4 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(30)


def retries(log: Path) -> None:
    """A campaign with retries against an emulator injecting faults (30% InternalError)."""
    with _emulator(_faulty(0.3, name="faults-30")) as emu:
        run_campaign(emu, per_cell=2, log=log, seed=6, retries=2, campaign_id="camp-retry", **FAST)


def simulated(log: Path) -> None:
    """``faceid-tools simulate``: rows drawn from the default profile, no HTTP."""
    simulate(240, log, seed=8, start="2026-11-16T09:00:00Z", retries=1)


def one_cell(log: Path) -> None:
    """A campaign of one region and one level."""
    with _emulator() as emu:
        run_campaign(
            emu, regions=("ap-hongkong",), levels=("3",), per_cell=6, log=log, seed=9,
            campaign_id="camp-one", **FAST,
        )  # fmt: skip


def only_failures(log: Path) -> None:
    """Every row a failure: calls signed with a key the service refuses (AuthFailure), no campaign."""
    with _emulator() as emu:
        wrong = Credential(emu.credential.secret_id, "wrongSecretKey" + "9d8c7b6a" * 3)
        client = FaceIDClient(
            region="ap-singapore", endpoint=emu.endpoint, credential=wrong, log=CallLog(log)
        )
        with client:
            url = "https://bucket-1250000000.cos.ap-singapore.myqcloud.com/device/x.bin"
            for level in (1, 4):
                with contextlib.suppress(FaceIDError):
                    client.generate_reflect_sequence(url, "0" * 32, security_level=level)


def no_success(log: Path) -> None:
    """A campaign whose every GenerateReflectSequence fails (uploads succeed; no sequence)."""
    with _emulator(_faulty(0.999, name="always-failing")) as emu:
        run_campaign(
            emu, regions=("ap-singapore", "ap-bangkok"), per_cell=1, log=log, seed=10,
            retries=1, campaign_id="camp-fail", **FAST,
        )  # fmt: skip


def empty(log: Path) -> None:
    """A log opened by the client, nothing recorded."""
    CallLog(log).close()


def previous_schema(log: Path) -> None:
    """A log at the previous schema version (v1 and its indexes), holding simulated rows."""
    source = log.with_name("_v1_source.sqlite")
    simulate(60, source, seed=12, start="2026-10-01T08:00:00Z", campaign_id="old-camp")
    conn = sqlite3.connect(log, isolation_level=None)
    try:
        migrations.migrate(conn, target=schema.SCHEMA_VERSION - 1)
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        names = ", ".join(schema.INSERT_COLUMNS)
        conn.execute(f"INSERT INTO calls ({names}) SELECT {names} FROM src.calls ORDER BY id")
        conn.execute("DETACH DATABASE src")
        assert migrations.user_version(conn) == schema.SCHEMA_VERSION - 1
    finally:
        conn.close()
    source.unlink()


def mix(log: Path, parts: list[Path]) -> None:
    """Several shapes in one file, in the order they were made (rows appended, as one log grows)."""
    with CallLog(log):
        pass
    conn = sqlite3.connect(log, isolation_level=None)
    try:
        names = ", ".join(schema.INSERT_COLUMNS)
        for i, part in enumerate(parts):
            conn.execute(f"ATTACH DATABASE ? AS p{i}", (str(part),))
            conn.execute(f"INSERT INTO calls ({names}) SELECT {names} FROM p{i}.calls ORDER BY id")
            conn.execute(f"DETACH DATABASE p{i}")
    finally:
        conn.close()


#: The named shapes, in the order the matrix lists them (``mix`` is built from others).
BUILDERS: dict[str, Callable[[Path], None]] = {
    "client-calls": client_calls,
    "campaign": campaign,
    "resumed": resumed,
    "killed": killed,
    "retries": retries,
    "simulate": simulated,
    "one-region-level": one_cell,
    "only-failures": only_failures,
    "no-success": no_success,
    "empty": empty,
    "previous-schema": previous_schema,
}
MIX_OF = ("client-calls", "campaign", "simulate", "killed")
SHAPES: tuple[str, ...] = (*BUILDERS, "mix")
PARQUET = ".parquet"


def build_all(folder: Path) -> dict[str, Path]:
    """Every shape as ``<name>.sqlite`` and its export ``<name>.parquet/`` (``name.parquet`` key)."""
    paths: dict[str, Path] = {}
    for name, build in BUILDERS.items():
        paths[name] = folder / f"{name}.sqlite"
        build(paths[name])
    paths["mix"] = folder / "mix.sqlite"
    mix(paths["mix"], [paths[n] for n in MIX_OF])
    for name in SHAPES:
        out = folder / f"{name}{PARQUET}"
        export(paths[name], out, workers=1)
        paths[name + PARQUET] = out
    return paths
