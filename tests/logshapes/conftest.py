"""The shapes, built once per session (every logshapes test runs in one xdist group)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.logshapes.shapes import build_all


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/logshapes/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("logshapes"))


@pytest.fixture(scope="session")
def shape_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every shape's SQLite log and its Parquet export (``<name>.parquet``), by name."""
    return build_all(tmp_path_factory.mktemp("logshapes"))
