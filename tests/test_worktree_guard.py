"""The guard of tests/fixtures/worktree.py can fail: it sees reads, writes and changes of the
working tree's data/ and reports/, and lets the shipped sample be read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures import worktree

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.environ.get("FACEID_WORKTREE_GUARD") == "0", reason="guard turned off")
def test_a_read_of_data_is_seen_and_the_sample_is_not() -> None:
    worktree.take_seen()
    (ROOT / "data" / ".gitkeep").read_bytes()
    (ROOT / "data" / "sample" / "calls.sqlite").open("rb").close()
    os.listdir(ROOT / "data" / "sample")
    seen = worktree.take_seen()  # taken here, so this test's own teardown finds nothing
    assert seen == [f"open {ROOT / 'data' / '.gitkeep'}"]


def test_writing_the_sample_or_reports_is_seen_without_doing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worktree.take_seen()
    sample = str(ROOT / "data" / "sample" / "calls.sqlite")
    worktree._hook("open", (sample, "r+b", 0))
    worktree._hook("os.replace", ("/tmp/x.html", str(ROOT / "reports" / "01-latency.html")))
    worktree._hook("open", ("/tmp/elsewhere", "w", 0))
    worktree._hook("shutil.copyfile", (sample, "/tmp/copy.sqlite"))  # a copy of the sample: a read
    monkeypatch.chdir(ROOT)  # as under `make test`: a relative path means the checkout's
    worktree._hook("open", ("data/calls.sqlite", None, os.O_RDONLY))  # os.open beside a dir_fd
    worktree._hook("os.rmdir", ("data", 5))  # shutil.rmtree of a tmp folder holding a data/
    worktree._hook("sqlite3.connect", ("data/calls.sqlite",))  # relative to the working folder
    assert worktree.take_seen() == [
        f"open {sample}",
        f"os.replace {ROOT / 'reports' / '01-latency.html'}",
        f"sqlite3.connect {ROOT / 'data' / 'calls.sqlite'}",
    ]


def test_a_change_by_another_process_shows_in_the_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    (data / "sample").mkdir(parents=True)
    (data / "sample" / "calls.sqlite").write_bytes(b"x")
    monkeypatch.setattr(worktree, "ROOT", tmp_path)
    monkeypatch.setattr(worktree, "GUARDED", (data, tmp_path / "reports"))
    before = worktree.snapshot()
    (data / "calls.sqlite").write_bytes(b"log")  # as `make demo` in a subprocess would
    (data / "sample" / "calls.sqlite").write_bytes(b"xy")
    assert worktree.changes(before, worktree.snapshot()) == [
        "added data/calls.sqlite",
        "changed data/sample/calls.sqlite",
    ]
