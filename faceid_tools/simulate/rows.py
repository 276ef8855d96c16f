"""Simulated draws as call-log rows, written in the log's conventions
(:mod:`faceid_tools.calllog.conventions`): the same outcome classes, call-id format, time format
and client messages as the client's rows, and the emulator's messages for the service's errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._version import __version__
from ..calllog.conventions import (
    API_ERROR,
    CALL_INDEX_DIGITS,
    DOWNLOAD,
    GENERATE,
    INTEGRITY_ERROR,
    OK,
    integrity_message,
)
from ..calllog.schema import INSERT_COLUMNS
from ..client.regions import DEFAULT_ENDPOINT, REGIONS, SECURITY_LEVELS
from ..emulator.exceptions import DRAWN_MESSAGES
from .draw import CODE_INTEGRITY, CODES, SEQ_PROPS, Draws

__all__ = ["ENDPOINT_HOST", "iso_utc", "iter_row_batches"]

ENDPOINT_HOST = DEFAULT_ENDPOINT.removeprefix("https://")
#: Rows materialised as Python values per batch, unless told otherwise.
WRITE_BATCH = 50_000
_APPID = "1250000000"
#: ``error_message`` per code index: the service's words as the emulator serves them; the
#: integrity failure's is the client's, filled in per row.
_MESSAGES: tuple[str | None, ...] = (*(DRAWN_MESSAGES[c] for c in CODES[:CODE_INTEGRITY]), None)


def iso_utc(us: np.ndarray) -> np.ndarray:
    """int64 µs since the epoch -> ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` text."""
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit="us")
    return np.strings.add(text, "+00:00")


def _presigned_query() -> str:
    return (
        "?q-sign-algorithm=sha1&q-ak=" + "A" * 36 + "&q-sign-time=1767225600;1767232800"
        "&q-key-time=1767225600;1767232800&q-header-list=host&q-url-param-list=&q-signature="
        + "0"
        * 40
    )


def _json_size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":")).encode())


def _device_url(region: str) -> str:
    digest = hashlib.md5(f"simulated device data {region}".encode()).hexdigest()
    return f"https://faceid-upload-{_APPID}.cos.{region}.myqcloud.com/device-data/{digest}"


def _sequence_host(region: str) -> str:
    return f"faceid-reflect-{_APPID}.cos.{region}.myqcloud.com"


@dataclass(frozen=True)
class _Tables:
    """Per-region and per-code constants the rows are assembled from."""

    device_url: np.ndarray
    device_md5: np.ndarray
    seq_prefix: np.ndarray
    endpoint_grs: np.ndarray
    seq_host: np.ndarray
    request_bytes: np.ndarray
    response_bytes: np.ndarray
    error_bytes: np.ndarray

    @classmethod
    def build(cls) -> _Tables:
        query = _presigned_query()
        device = [_device_url(r) for r in REGIONS]
        hosts = [_sequence_host(r) for r in REGIONS]
        request = [
            _json_size(
                {"DeviceDataUrl": u + query, "DeviceDataMd5": "0" * 32, "SecurityLevel": "4"}
            )
            for u in device
        ]
        response = [
            _json_size(
                {
                    "Response": {
                        "ReflectSequenceUrl": f"https://{h}/reflect-sequence/{'0' * 32}.bin{query}",
                        "ReflectSequenceMd5": "0" * 32,
                        "RequestId": "0" * 36,
                    }
                }
            )
            for h in hosts
        ]
        errors = [
            _json_size(
                {
                    "Response": {
                        "Error": {"Code": c, "Message": _MESSAGES[i] or ""},
                        "RequestId": "0" * 36,
                    }
                }
            )
            for i, c in enumerate(CODES)
        ]
        return cls(
            device_url=np.array(device, object),
            device_md5=np.array([u.rsplit("/", 1)[1] for u in device], object),
            seq_prefix=np.array([f"https://{h}/reflect-sequence/" for h in hosts]),
            endpoint_grs=np.array([ENDPOINT_HOST] * len(REGIONS), object),
            seq_host=np.array(hosts, object),
            request_bytes=np.array(request, np.int64),
            response_bytes=np.array(response, np.int64),
            error_bytes=np.array(errors, np.int64),
        )


def _masked(mask: np.ndarray, values: np.ndarray) -> list[Any]:
    """``values`` where ``mask``, None elsewhere, as a list."""
    out = np.full(len(mask), None, object)
    out[mask] = values[mask]
    return out.tolist()


def iter_row_batches(
    draws: Draws, campaign_id: str, n_calls: int, *, batch: int | None = None
) -> Iterator[dict[str, list[Any]]]:
    """The rows of ``draws`` as batches of columns (``{column: list}``, every insert column)."""
    batch = batch or WRITE_BATCH
    t = _Tables.build()
    # the plan's call-id format: <campaign_id>-<index zero-padded to the plan's width>
    width = max(CALL_INDEX_DIGITS, len(str(max(n_calls - 1, 0))))
    region_names = np.array(REGIONS, object)
    level_names = np.array(list(SECURITY_LEVELS), object)
    code_names = np.array([*CODES, None], object)  # index -1 -> None
    messages = np.array([*_MESSAGES, None], object)
    actions = np.array([GENERATE, DOWNLOAD], object)  # by "is a download"
    # [is a download, succeeded]: GRS api_error / ok; download integrity_error / ok
    outcomes = np.array([[API_ERROR, OK], [INTEGRITY_ERROR, OK]], object)
    for lo in range(0, len(draws), batch):
        sl = slice(lo, min(lo + batch, len(draws)))
        m = sl.stop - sl.start
        dl = draws.download[sl]
        grs = ~dl
        reg = draws.region[sl]
        code = draws.code[sl]
        seq = draws.seq[sl]
        has_seq = seq >= 0
        ks = seq[has_seq]
        kd = seq[dl]
        failed = code >= 0
        col: dict[str, list[Any]] = {}
        col["call_id"] = np.strings.add(
            f"{campaign_id}-", np.strings.zfill(draws.call_index[sl].astype("U20"), width)
        ).tolist()
        col["attempt"] = draws.attempt[sl].tolist()
        col["campaign_id"] = [campaign_id] * m
        col["action"] = actions[dl.astype(np.int64)].tolist()
        col["region"] = region_names[reg].tolist()
        col["endpoint"] = np.where(dl, t.seq_host[reg], t.endpoint_grs[reg]).tolist()
        col["security_level"] = _masked(grs, level_names[draws.level[sl]])
        col["started_at"] = iso_utc(draws.started_us[sl]).tolist()
        col["queued_ms"] = [0.0] * m
        col["latency_ms"] = draws.latency_ms[sl].tolist()
        col["http_status"] = [200] * m
        col["outcome"] = outcomes[dl.astype(np.int64), (~failed).astype(np.int64)].tolist()
        col["error_code"] = code_names[code].tolist()
        message = messages[code]
        for i in np.flatnonzero(code == CODE_INTEGRITY):
            k = seq[i]
            message[i] = integrity_message(
                t.seq_host[reg[i]], draws.seq_bad_md5[k].decode(), draws.seq_md5[k].decode()
            )
        col["error_message"] = message.tolist()
        col["request_id"] = _masked(grs, draws.request_id[sl].astype("U36"))
        col["request_bytes"] = np.where(grs, t.request_bytes[reg], 0).tolist()
        size = np.zeros(m, np.int64)
        size[dl] = draws.seq_props["seq_size"][kd].astype(np.int64)
        size[grs] = np.where(
            failed[grs], t.error_bytes[np.clip(code[grs], 0, None)], t.response_bytes[reg[grs]]
        )
        col["response_bytes"] = size.tolist()
        col["device_data_url"] = _masked(grs, t.device_url[reg])
        col["device_data_md5"] = _masked(grs, t.device_md5[reg])
        url = np.full(m, None, object)
        url[has_seq] = np.strings.add(
            np.strings.add(t.seq_prefix[reg[has_seq]], draws.seq_key[ks].astype("U32")), ".bin"
        )
        col["sequence_url"] = url.tolist()
        md5 = np.full(m, None, object)
        md5[has_seq] = draws.seq_md5[ks].astype("U32")
        col["sequence_md5"] = md5.tolist()
        col["client_version"] = [__version__] * m
        col["simulated"] = [1] * m
        sha = np.full(m, None, object)
        sha[dl] = draws.seq_sha256[kd].astype("U64")
        col["seq_sha256"] = sha.tolist()
        for p in SEQ_PROPS:
            values = np.full(m, None, object)
            values[dl] = draws.seq_props[p][kd]
            col[p] = values.tolist()
        yield {c: col[c] for c in INSERT_COLUMNS}
