"""Issue 24: a dataset's engine results kept on disk, keyed by what was read and by the ranks
asked; new data, other windows and other rank functions never get another's result."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from faceid_tools import analysis
from faceid_tools.analysis import _cache
from faceid_tools.emulator.profile import Profile

from ._logs import draw_log, write_parquet


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(_cache.ENV, str(root))
    return root


def _dataset(folder: Path, seed: int, calls: int = 1500) -> Path:
    frame = draw_log(Profile.default(), seed, calls, retries=1, downloads=0.1, rate=2.0)
    return write_parquet(frame, folder)


def test_a_second_source_reads_the_stored_results(cached: Path, tmp_path: Path) -> None:
    folder = _dataset(tmp_path / "ds", 3)
    first = analysis.latency_summary(folder)
    assert list(cached.glob("analysis/*/*.pkl"))
    again = analysis.source(folder)
    pd.testing.assert_frame_equal(first, analysis.latency_summary(again), check_exact=True)
    assert again.cache_hits > 0  # type: ignore[attr-defined]


def test_changed_files_are_read_again(cached: Path, tmp_path: Path) -> None:
    folder = _dataset(tmp_path / "ds", 3)
    before = analysis.error_rates(folder)
    shutil.rmtree(folder)
    _dataset(folder, 4, calls=900)  # the same folder, other data
    after = analysis.error_rates(folder)
    assert after["n"].sum() != before["n"].sum()
    os.environ[_cache.ENV] = "off"
    pd.testing.assert_frame_equal(after, analysis.error_rates(folder), check_exact=True)


def test_other_quantiles_of_the_same_rows_are_not_confused(cached: Path, tmp_path: Path) -> None:
    """The rank function is code, not a key: a stored result is reused only when it asks the
    same ranks of every stored group."""
    folder = _dataset(tmp_path / "ds", 5)
    median = analysis.latency_summary(folder, quantiles=(0.5,))
    tail = analysis.latency_summary(folder, quantiles=(0.99,))
    assert not median["p50"].equals(tail["p99"])
    os.environ[_cache.ENV] = "off"
    for q, got in ((0.5, median), (0.99, tail)):
        want = analysis.latency_summary(folder, quantiles=(q,))
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_a_window_is_part_of_what_is_read(cached: Path, tmp_path: Path) -> None:
    folder = _dataset(tmp_path / "ds", 6)
    whole = analysis.error_rates(folder, by="region")
    started = pd.read_parquet(folder, columns=["started_at"])["started_at"]
    middle = started.min() + (started.max() - started.min()) / 2
    part = analysis.window(folder, start=middle.to_pydatetime())
    windowed = analysis.error_rates(part, by="region")
    assert windowed["n"].sum() < whole["n"].sum()


def test_off_and_an_unwritable_folder_compute_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _dataset(tmp_path / "ds", 7)
    monkeypatch.setenv(_cache.ENV, "off")
    want = analysis.outcome_breakdown(folder)
    assert _cache.cache_root() is None
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(_cache.ENV, str(blocker / "cache"))
    pd.testing.assert_frame_equal(want, analysis.outcome_breakdown(folder), check_exact=True)


def test_the_default_folder_is_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert _cache.cache_root() == Path("/somewhere/faceid-tools")
