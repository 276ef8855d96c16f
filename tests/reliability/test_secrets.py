"""6. Secrets audit: runs with a session token and presigned URLs, then every output searched.

* A campaign like the demo's, signed with the emulator's **temporary** key pair (so every request
  carries ``X-TC-Token``), against a profile with frequent faults and sequence defects, then the
  export to Parquet, ``load_calls``, ``faceid-tools calls`` and (full run) the report step; plus
  the error paths a user meets (wrong token, wrong key, MD5 mismatch, tampered presigned link,
  timeout, cross-region and malformed presigned URLs), their ``str``, ``repr`` and tracebacks.
* (Full run) the real demo, ``python -m faceid_tools.cli.demo``, in a subprocess.

DEBUG logging is on for every logger (``faceid_tools``, ``urllib3``, ``requests``...), into a log
file and stderr.  Then ``data/``, ``reports/``, every log file, captured stdout/stderr and the
exception texts are searched for the secret key, the tokens, every TC3 signature and every
``q-signature``/``q-ak`` value the emulator received (a tap on its router records them), the
object store's signing key, and the shapes of such values: zero hits.  Everything runs in a
temporary working directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faceid_tools.calllog.export import export
from faceid_tools.calllog.load import load_calls
from faceid_tools.campaign import run_campaign
from faceid_tools.cli import main as cli_main
from faceid_tools.client import FaceIDClient
from faceid_tools.client.credentials import Credential
from faceid_tools.emulator.server import DEMO_CREDENTIAL, DEMO_SESSION_CREDENTIAL, Emulator
from faceid_tools.errors import FaceIDError
from faceid_tools.report.notebooks import list_notebooks, render_reports
from tests.fixtures.servers import blackhole_endpoint
from tests.reliability.audit import Hit, Tap, file_texts, scan
from tests.reliability.conftest import Recorder
from tests.reliability.crash import crash_profile
from tests.reliability.settings import FULL, SEED, count

ROOT = Path(__file__).resolve().parents[2]
PER_CELL = count(3, 24)  #: the demo makes 24 calls per region × level
WRONG_TOKEN = "wrong-session-token-" + "7f3a9c2e" * 3
WRONG_KEY = "wrongSecretKey" + "9d8c7b6a" * 3
LOGGERS = ("", "faceid_tools", "urllib3", "requests", "werkzeug")


@contextlib.contextmanager
def debug_logging(path: Path) -> Iterator[None]:
    """DEBUG for every logger, into ``path`` and stderr, for the duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for h in handlers:
        h.setFormatter(fmt)
        h.setLevel(logging.DEBUG)
        root.addHandler(h)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for h in handlers:
            root.removeHandler(h)
            h.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def texts_of(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


def provoke_errors(emu: Emulator, cred: Credential, log: Path) -> list[str]:
    """The failures a user meets, with the session credential; their texts."""
    texts: list[str] = []

    def expect(action: Callable[[], object]) -> None:
        try:
            action()
        except FaceIDError as exc:
            logging.getLogger("audit").exception("expected failure")
            texts.append(texts_of(exc))
        else:
            raise AssertionError("the call was expected to fail")

    def client(credential: Credential, endpoint: str | None = None, **kw: object) -> FaceIDClient:
        return FaceIDClient(
            "ap-singapore",
            endpoint=endpoint or emu.endpoint,
            credential=credential,
            log=log,
            rate_limit=None,
            **kw,  # type: ignore[arg-type]
        )

    with client(cred) as good:
        texts += [repr(good), repr(cred), str(cred)]
        data = good.upload_device_data(b"audit device data")
        link = good.create_upload_url()
        seq = good.generate_reflect_sequence(data.url, data.md5, 4)
        texts += [repr(data), repr(link), repr(seq), str(seq)]
        expect(lambda: good.download_sequence(seq.url, "0" * 32))
        tampered = seq.url.replace("q-signature=", "q-signature=00")
        expect(lambda: good.download_sequence(tampered, seq.md5))
        hk = link.upload_url.replace("ap-singapore", "ap-hongkong")
        expect(lambda: good.generate_reflect_sequence(hk, data.md5, 4))
        spaced = link.upload_url.replace("q-sign-time", "q-sign time")
        expect(lambda: good.generate_reflect_sequence(spaced, data.md5, 4))
    with client(Credential(cred.secret_id, cred.secret_key, WRONG_TOKEN)) as bad_token:
        expect(lambda: bad_token.generate_reflect_sequence(data.url, data.md5, 4))
    with client(Credential(cred.secret_id, WRONG_KEY, cred.token)) as bad_key:
        expect(lambda: bad_key.generate_reflect_sequence(data.url, data.md5, 4))
    with blackhole_endpoint() as dead, client(cred, dead, timeout=0.3, retries=0) as slow:
        expect(lambda: slow.generate_reflect_sequence(data.url, data.md5, 4))
    return texts


def secret_values(cred: Credential, tap: Tap) -> dict[str, set[str]]:
    return {
        "secret key": {cred.secret_key, WRONG_KEY, DEMO_CREDENTIAL.secret_key},
        "session token": {t for t in (cred.token, WRONG_TOKEN) if t},
        **tap.secrets(),
    }


def record(
    figures: Recorder,
    item: str,
    texts: dict[str, str],
    secrets: dict[str, set[str]],
    hits: list[Hit],
    detail: dict[str, object],
) -> None:
    figures.add(
        item,
        len(texts),
        leaked=len(hits),
        detail={
            "secret values searched": sum(len(v) for v in secrets.values()),
            "of which TC3 signatures": len(secrets.get("TC3 signature", ())),
            "of which q-signature/q-ak": len(secrets.get("q-signature / q-ak", ())),
            "MB searched": round(sum(len(t) for t in texts.values()) / 1e6, 1),
            **detail,
            "hits": "; ".join(f"{h.where}: {h.what}: {h.excerpt}" for h in hits[:3]) or "none",
        },
    )


@pytest.mark.timeout(900)
def test_a_session_token_run_and_its_outputs_leak_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    figures: Recorder,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("TENCENTCLOUD_")]:
        monkeypatch.delenv(name)
    tap = Tap()
    undo = tap.install()
    log = Path("data/calls.sqlite")
    reports: list[Path] = []
    exception_texts: list[str] = []
    cred = DEMO_SESSION_CREDENTIAL
    try:
        with debug_logging(Path("logs/debug.log")):
            with Emulator(crash_profile(), seed=SEED, quota=False, time_scale=0.0) as emu:
                assert emu.session_credential is not None
                cred = emu.session_credential
                result = run_campaign(
                    emu,
                    credential=cred,
                    per_cell=PER_CELL,
                    rate=50.0,
                    quota=1000.0,
                    retries=1,
                    log=log,
                    progress=True,
                    campaign_id="audit",
                )
                print(result.summary.format())
            with Emulator("reliable", seed=SEED, quota=False, time_scale=0.0) as emu:
                exception_texts += provoke_errors(emu, cred, log)
            export(log, "data/parquet")
            print(load_calls("data/parquet").to_csv())
            print(load_calls(log).to_string())
            assert cli_main(["calls", "--log", str(log)]) == 0
            if FULL and list_notebooks():
                reports = render_reports(log, "reports")
    finally:
        undo()
    out, err = capfd.readouterr()
    texts = dict(file_texts(tmp_path))
    texts |= {"stdout": out, "stderr": err, "exception texts": "\n".join(exception_texts)}
    secrets = secret_values(cred, tap)
    hits = scan(texts, secrets)
    record(
        figures,
        f"session-token campaign ({result.summary.planned} calls) + errors + export + reports",
        texts,
        secrets,
        hits,
        {"exceptions": len(exception_texts), "reports": len(reports)},
    )
    assert tap.signatures and tap.tokens == {cred.token, WRONG_TOKEN} and tap.presigned
    assert result.summary.completed == result.summary.planned
    assert not hits, [f"{h.where}: {h.what}: {h.excerpt}" for h in hits[:10]]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_demo_leaks_nothing(tmp_path: Path, figures: Recorder) -> None:
    """``python -m faceid_tools.cli.demo`` as ``make demo`` runs it, DEBUG logging on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    tap_file = tmp_path.parent / f"{tmp_path.name}-tap.json"
    run = subprocess.run(
        [sys.executable, "-m", "tests.reliability.demo_audit", str(tap_file), "logs/debug.log"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    secrets, requests_seen = Tap.load(tap_file)
    secrets |= {"secret key": {DEMO_CREDENTIAL.secret_key, DEMO_SESSION_CREDENTIAL.secret_key}}
    texts = dict(file_texts(tmp_path))
    texts |= {"stdout": run.stdout, "stderr": run.stderr}
    hits = scan(texts, secrets)
    record(
        figures,
        "python -m faceid_tools.cli.demo (make demo)",
        texts,
        secrets,
        hits,
        {"requests the emulator saw": requests_seen, "exit status": run.returncode},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert secrets["TC3 signature"] and secrets["q-signature / q-ak"]
    assert not hits, [f"{h.where}: {h.what}: {h.excerpt}" for h in hits[:10]]


def test_the_scan_finds_each_kind_of_leak() -> None:
    """The audit's scanner is not blind: each secret kind and leak shape is found."""
    secrets = {"secret key": {"k3yK3yK3yK3y"}, "TC3 signature": {"ab" * 32}}
    texts = {
        "a": "x k3yK3yK3yK3y y",
        "b": "Authorization: TC3-HMAC-SHA256 Credential=AKID/..., Signature=" + "ab" * 32,
        "c": "GET /cos/x?q-sign-algorithm=sha1&q-ak=AKIDabcdef&q-signature=0123456789abcdef",
        "d": "q-ak=***&q-signature=*** Signature=*** X-TC-Token: ***",
        "e": "{'X-TC-Token': 'tok-123456789'}",
    }
    found = {(h.where, h.what) for h in scan(texts, secrets)}
    assert ("a", "secret key") in found
    assert {("b", "TC3 signature"), ("b", "pattern: TC3 signature")} <= found
    assert ("b", "pattern: Authorization header") in found
    assert {("c", "pattern: q-ak value"), ("c", "pattern: q-signature value")} <= found
    assert ("e", "pattern: X-TC-Token header") in found
    assert not any(where == "d" for where, _ in found)
