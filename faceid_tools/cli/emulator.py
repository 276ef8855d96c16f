"""``faceid-tools emulator``: run the offline FaceID twin in the foreground until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import Any

from ._options import add_profile_option, port
from .exit_codes import BadInput


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the local FaceID emulator (API 3.0 + object store) until Ctrl-C",
        description=(
            "Serve a local emulator of Tencent Cloud FaceID's GenerateReflectSequence and "
            "CreateUploadUrl on 127.0.0.1, with a COS stand-in for uploads and light sequences. "
            "Prints the endpoint, the demo credentials, the behaviour profile in use and the "
            "environment an unmodified SDK needs to reach the emulator through its proxy "
            "(HTTP(S)_PROXY, CA bundle, credentials), then serves until Ctrl-C or SIGTERM. "
            "Control endpoints live under /_emulator/ (see docs/emulator.md)."
        ),
    )
    parser.add_argument(
        "--port",
        type=port,
        default=9000,
        help="port on 127.0.0.1 (0 picks a free one; default 9000)",
    )
    add_profile_option(parser)
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the behaviour model (default: the profile's)",
    )
    parser.add_argument(
        "--no-quota",
        action="store_true",
        help="lift the per-second quota (5/s GenerateReflectSequence, 20/s CreateUploadUrl)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiply drawn latencies by X before answering (0 answers at once; default 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..emulator.server import Emulator

    emu = Emulator(
        profile=args.profile,
        seed=args.seed,
        port=args.port,
        quota=not args.no_quota,
        time_scale=args.time_scale,
    )
    try:
        emu.start()
    except OSError as exc:  # the port is taken (or not ours to bind)
        raise BadInput("--port", f"{exc} (in use? 0 picks a free port)") from exc
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(describe(emu), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("emulator stopped", flush=True)
    return 0


def describe(emu: Any) -> str:
    """What the user needs to point a client at the emulator."""
    cred, temp = emu.credential, emu.session_credential
    p = emu.profile
    regions = ", ".join(
        f"{r} median {ln.median_ms:g} ms / p99 {ln.p99_ms:g} ms" for r, ln in p.latency.items()
    )
    lines = [
        f"FaceID emulator listening on {emu.endpoint}",
        "",
        "demo credentials (local emulator only):",
        f"  TENCENTCLOUD_SECRET_ID={cred.secret_id}",
        f"  TENCENTCLOUD_SECRET_KEY={cred.secret_key}",
    ]
    if temp is not None:
        lines += [
            "temporary pair (needs its token):",
            f"  secret_id={temp.secret_id} secret_key={temp.secret_key} token={temp.token}",
        ]
    quota = (
        "off"
        if not emu.backend.quota_enabled
        else ", ".join(f"{a} {v:g}/s" for a, v in p.quota.items())
    )
    lines += [
        "",
        f"profile: {p.name} (seed {emu.seed}; time scale {emu.backend.time_scale:g})",
        f"  latency: {regions}",
        f"  quota: {quota}",
        f"control: {emu.endpoint}/_emulator/ (reset, profile, stats, config, clock)",
        "",
        "environment for an unmodified SDK, through the proxy (recipes: docs/emulator.md):",
        *_sdk_env_lines(emu),
        "Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def _sdk_env_lines(emu: Any) -> list[str]:
    from ..errors import FaceIDError

    try:
        env = emu.sdk_env
    except FaceIDError as err:  # the CA folder is unusable: the direct endpoint still works
        return [f"  (the proxy is unavailable: {err.message})"]
    return [f"  {name}={value}" for name, value in env.items()]
