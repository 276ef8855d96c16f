"""One process of the concurrency check: ``threads`` threads logging through clients at once.

``python -m tests.reliability.worker --endpoint URL --log PATH --process P --threads 8 --calls N``
(credential from the usual environment variables).  Half the threads share one client and its
``CallLog``; the others have a client and a ``CallLog`` of their own on the same file.  Each
thread uploads a device-data package, then makes ``N`` ``GenerateReflectSequence`` calls and
downloads each sequence, tagging its rows with ``campaign_id = p<P>-t<T>``.

The process prints ``ready`` once set up and waits for a line on stdin before starting, so that
all processes start together; then it prints one JSON line: the exchanges each thread made and
any error raised.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import traceback

from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from faceid_tools.client.credentials import resolve_credential
from faceid_tools.client.regions import REGIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--process", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args(argv)

    credential = resolve_credential()
    logs: list[CallLog] = []
    clients: list[FaceIDClient] = []

    def client_for(region: str, log: CallLog) -> FaceIDClient:
        client = FaceIDClient(
            region,
            endpoint=args.endpoint,
            credential=credential,
            log=log,
            rate_limit=None,
            retries=0,
            timeout=60.0,
        )
        clients.append(client)
        return client

    shared_log = CallLog(args.log)
    logs.append(shared_log)
    shared = client_for("ap-singapore", shared_log)
    per_thread: list[FaceIDClient] = []
    for t in range(args.threads):
        if t < args.threads // 2:
            per_thread.append(shared)
        else:
            own = CallLog(args.log)
            logs.append(own)
            per_thread.append(client_for(REGIONS[t % len(REGIONS)], own))

    made: dict[str, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    go = threading.Event()

    def work(t: int) -> None:
        client = per_thread[t]
        cid = f"p{args.process}-t{t}"
        count = 0
        go.wait()
        try:
            data = client.upload_device_data(f"device data {cid}".encode(), campaign_id=cid)
            count += 2
            for i in range(args.calls):
                seq = client.generate_reflect_sequence(
                    data.url, data.md5, str(1 + i % 4), campaign_id=cid
                )
                count += 1
                client.download_sequence(seq, campaign_id=cid)
                count += 1
        except BaseException:
            with lock:
                errors.append(f"{cid}: {traceback.format_exc()}")
        finally:
            with lock:
                made[cid] = count

    threads = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
    for th in threads:
        th.start()
    print("ready", flush=True)
    sys.stdin.readline()
    go.set()
    for th in threads:
        th.join()
    for client in clients:
        client.close()
    for log in logs:
        log.close()
    print(json.dumps({"process": args.process, "made": made, "errors": errors}), flush=True)
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
