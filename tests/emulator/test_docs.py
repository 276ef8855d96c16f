"""docs/emulator.md cannot fall behind the emulator: every code, control endpoint and option."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from faceid_tools.emulator import control, exceptions

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
SEQ_DOC = (ROOT / "docs" / "sequence-format.md").read_text(encoding="utf-8")
SOURCE = Path(exceptions.__file__).read_text(encoding="utf-8")

API_CODES = sorted(
    set(re.findall(r'ServiceError\(\s*"([A-Za-z.]+)"', SOURCE)) | set(exceptions.DRAWN_MESSAGES)
)
COS_CODES = sorted(set(re.findall(r'CosError\(\s*\d+,\s*"([A-Za-z]+)"', SOURCE)))


def test_the_code_lists_were_found() -> None:
    assert len(API_CODES) >= 18 and "RequestLimitExceeded" in API_CODES
    assert "NoSuchKey" in COS_CODES


@pytest.mark.parametrize("code", API_CODES + COS_CODES)
def test_every_error_code_is_documented(code: str) -> None:
    assert f"`{code}`" in DOC


@pytest.mark.parametrize("route", sorted(control.ROUTES))
def test_every_control_endpoint_is_documented(route: str) -> None:
    assert f"/_emulator{route}" in DOC


@pytest.mark.parametrize("option", ["--port", "--profile", "--seed", "--no-quota", "--time-scale"])
def test_every_cli_option_is_documented(option: str) -> None:
    assert option in DOC


def test_sequence_format_doc_matches_the_header() -> None:
    from faceid_tools import seqformat

    assert seqformat.HEADER.size == 26 and "26-byte header" in SEQ_DOC
    assert seqformat.FRAME.size == 5 and seqformat.BLINK.size == 4
    assert f"`{seqformat.MAGIC.decode()}`" in SEQ_DOC
