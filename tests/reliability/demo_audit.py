"""``python -m tests.reliability.demo_audit TAP.json LOG.txt [demo args]``: the demo, audited.

Runs :func:`faceid_tools.cli.demo.main` (``faceid-tools demo``, what ``make demo`` runs) with DEBUG logging on for every
logger (``faceid_tools``, ``urllib3``, ``requests``, ...) into ``LOG.txt`` and stderr, and with a
:class:`~tests.reliability.audit.Tap` on the emulator it starts; the secrets the tap saw are
written to ``TAP.json`` for the scan.  Exits with the demo's status.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from faceid_tools.cli import demo
from tests.reliability.audit import Tap


def main(argv: list[str]) -> int:
    tap_path, log_path, *demo_args = argv
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.DEBUG,
        format="%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s",
        handlers=[logging.FileHandler(log_path, encoding="utf-8"), logging.StreamHandler()],
    )
    for name in ("faceid_tools", "urllib3", "requests", "werkzeug"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    tap = Tap()
    undo = tap.install()
    try:
        return demo.main(demo_args)
    finally:
        undo()
        tap.dump(Path(tap_path))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
