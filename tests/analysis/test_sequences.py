"""Sequence analyses on downloads whose ``seq_*`` columns come from real FRSQ bytes."""

from __future__ import annotations

import functools
import hashlib

import pandas as pd
import pytest

from faceid_tools import seqformat
from faceid_tools.analysis import (
    duplicate_rate,
    duplicate_sequences,
    integrity_rate,
    level_conformance,
    property_histogram,
    sequence_properties,
)
from faceid_tools.client.sequence_properties import properties

from ._logs import schema_frame


def download(call_id: str, blob: bytes, *, md5: str | None = None) -> dict[str, object]:
    md5 = md5 or hashlib.md5(blob).hexdigest()
    props = properties(blob, md5)
    return {
        "call_id": call_id,
        "attempt": 1,
        "action": "DownloadSequence",
        "region": "ap-singapore",
        "outcome": "ok" if props["seq_md5_ok"] else "integrity_error",
        "started_at": "2026-03-01T00:00:00Z",
        "latency_ms": 20.0,
        **props,
    }


def generate(call_id: str, level: str) -> dict[str, object]:
    return {
        "call_id": call_id,
        "attempt": 1,
        "action": "GenerateReflectSequence",
        "region": "ap-singapore",
        "security_level": level,
        "outcome": "ok",
        "started_at": "2026-03-01T00:00:00Z",
        "latency_ms": 150.0,
    }


@functools.cache
def _log() -> pd.DataFrame:
    rows = []
    blobs = {lv: seqformat.encode(seqformat.generate(int(lv))) for lv in "1234"}
    for lv in "1234":
        for i in range(5):
            blob = seqformat.encode(seqformat.generate(int(lv)))
            rows += [generate(f"{lv}-{i}", lv), download(f"{lv}-{i}", blob)]
    # the same level-4 sequence served to two more calls: a duplicate
    rows += [generate("dup-1", "4"), download("dup-1", blobs["4"])]
    rows += [generate("dup-2", "4"), download("dup-2", blobs["4"])]
    # corrupted bytes: MD5 of the original, bytes flipped
    good = blobs["3"]
    rows += [
        generate("bad", "3"),
        download("bad", b"X" + good[1:], md5=hashlib.md5(good).hexdigest()),
    ]
    # a level-1 call that received light frames: breaks the documentation
    rows += [generate("wrong", "1"), download("wrong", blobs["3"])]
    return schema_frame(pd.DataFrame(rows))


def log() -> pd.DataFrame:
    """The same log every time (sequences come from the CSPRNG), as a fresh copy."""
    return _log().copy()


def test_integrity_rate_counts_md5_checks_per_requested_level() -> None:
    overall = integrity_rate(log())
    assert (overall["n"].iloc[0], overall["verified"].iloc[0]) == (24, 23)
    by_level = integrity_rate(log(), by="security_level").set_index("security_level")
    assert by_level.loc["3", "n"] == 6 and by_level.loc["3", "verified"] == 5
    assert by_level.loc["4", "rate"] == 1.0
    assert by_level.loc["3", "rate_hi"] < 1.0


def test_duplicates_name_their_calls() -> None:
    dups = duplicate_sequences(log())
    assert len(dups) == 1
    assert dups["call_ids"].iloc[0] == ("dup-1", "dup-2")
    assert (dups["copies"].iloc[0], dups["calls"].iloc[0]) == (2, 2)
    rate = duplicate_rate(log())
    assert (rate["n"].iloc[0], rate["distinct"].iloc[0], rate["repeats"].iloc[0]) == (24, 23, 1)


def test_properties_per_level_follow_the_format() -> None:
    out = sequence_properties(log()).set_index(["security_level", "property"])
    assert out.loc[("1", "seq_size"), "min"] == seqformat.HEADER.size
    assert out.loc[("2", "seq_frames"), "max"] == 0
    assert out.loc[("3", "seq_frames"), "min"] >= seqformat.FRAMES_RANGE[0]
    assert out.loc[("4", "seq_blinks"), "min"] >= seqformat.BLINKS_RANGE[0]
    assert out.loc[("3", "seq_entropy"), "unit"] == "bits/byte"
    assert out.loc[("3", "seq_frames"), "n"] == 5  # the corrupted download is not decodable
    frame = log()
    level1 = frame["call_id"].str.startswith("1-") | (frame["call_id"] == "wrong")
    sizes = frame.loc[level1 & (frame["action"] == "DownloadSequence"), "seq_size"]
    assert len(sizes) == 6  # the downloads carry no level: it comes from their call
    assert out.loc[("1", "seq_size"), "mean"] == pytest.approx(sizes.astype(float).mean())


def test_conformance_flags_a_level_with_light_frames_it_should_not_have() -> None:
    out = level_conformance(log()).set_index("security_level")
    assert out.loc["1", "violations"] == 1 and not out.loc["1", "conforms"]
    assert out.loc["1", "with_frames"] == 1 and out.loc["1", "level_mismatch"] == 1
    for lv in "234":
        assert out.loc[lv, "conforms"], lv
    assert out.loc["2", "expects_blinks"] and not out.loc["2", "expects_frames"]
    assert out.loc["4", "with_blinks"] == out.loc["4", "n"] == 7


def test_histograms_use_unit_bins_for_small_integer_ranges() -> None:
    frames = property_histogram(log(), "seq_frames", by=())
    assert (frames["bin_hi"] - frames["bin_lo"] == 1).all()
    assert frames["count"].sum() == 23  # decodable downloads
    entropy = property_histogram(log(), "seq_entropy", bins=7)
    assert entropy.groupby("security_level", observed=True)["count"].sum().sum() == 24
    assert entropy["bin_lo"].nunique() <= 7
    with pytest.raises(ValueError, match="unknown sequence property"):
        property_histogram(log(), "seq_colour")


def _cross_region_log() -> pd.DataFrame:
    """One sequence served first in Singapore, then in Bangkok and Hong Kong; one call that
    downloads its own sequence twice; plain unique sequences in every region."""
    shared = seqformat.encode(seqformat.generate(2))
    rows: list[dict[str, object]] = []

    def call(call_id: str, region: str, blob: bytes, minute: int, times: int = 1) -> None:
        stamp = f"2026-03-01T00:{minute:02d}:00Z"
        rows.append({**generate(call_id, "2"), "region": region, "started_at": stamp})
        for _ in range(times):
            rows.append({**download(call_id, blob), "region": region, "started_at": stamp})

    call("first", "ap-singapore", shared, 1)
    call("again-bkk", "ap-bangkok", shared, 2)
    call("again-hkg", "ap-hongkong", shared, 3)
    call("twice", "ap-hongkong", seqformat.encode(seqformat.generate(2)), 4, times=2)
    for i, region in enumerate(("ap-bangkok", "ap-hongkong", "ap-singapore") * 2):
        call(f"u{i}", region, seqformat.encode(seqformat.generate(2)), 10 + i)
    return schema_frame(pd.DataFrame(rows))


@pytest.mark.parametrize("path", ["pandas", "duckdb"])
def test_a_repeat_counts_in_the_region_of_the_repeating_call(
    path: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from ._logs import write_parquet

    frame = _cross_region_log()
    data = frame if path == "pandas" else write_parquet(frame, tmp_path_factory.mktemp("d") / "ds")
    overall = duplicate_rate(data)
    assert (overall["n"].iloc[0], overall["repeats"].iloc[0]) == (10, 2)
    by_region = duplicate_rate(data, by="region").set_index("region")
    assert by_region.loc["ap-singapore", "repeats"] == 0  # the first receipt is no repeat
    assert by_region.loc["ap-bangkok", "repeats"] == 1
    assert by_region.loc["ap-hongkong", "repeats"] == 1  # its own second download is not one
    assert by_region["repeats"].sum() == overall["repeats"].iloc[0]
    assert by_region["n"].sum() == overall["n"].iloc[0]
    by_level = duplicate_rate(data, by="security_level")
    assert by_level["repeats"].sum() == 2
