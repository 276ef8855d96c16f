"""Fixtures of the reliability suite: the figure recorder every test reports through."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

#: The ``user_properties`` key under which a test reports one figure (read by ``report.py``).
PROPERTY = "reliability"


class Recorder:
    """What a test tried and what was lost, leaked or duplicated; one call per line of figures.

    The figures travel as pytest ``user_properties`` (xdist forwards them to the controller), so
    ``python -m tests.reliability`` builds its table from the runs themselves.  Record *before*
    asserting, so that a failing check still shows its figure.
    """

    def __init__(self, record_property: Callable[[str, object], None]) -> None:
        self._record = record_property
        self.lines: list[dict[str, Any]] = []

    def add(
        self,
        item: str,
        times: int,
        *,
        lost: int = 0,
        duplicated: int | None = None,
        leaked: int | None = None,
        detail: Mapping[str, Any] | None = None,
        rank: int | None = None,
    ) -> dict[str, Any]:
        """One line: ``item`` tried ``times`` times; ``detail`` columns go to the detail table.

        ``rank`` orders the lines of a check's table (default: the order the runs finished in).
        """
        line = {
            "rank": rank,
            "item": item,
            "times": int(times),
            "lost": int(lost),
            "duplicated": None if duplicated is None else int(duplicated),
            "leaked": None if leaked is None else int(leaked),
            "detail": {k: _plain(v) for k, v in (detail or {}).items()},
        }
        self.lines.append(line)
        self._record(PROPERTY, line)
        return line


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return round(value, 3)
    return str(value)


@pytest.fixture
def figures(record_property: Callable[[str, object], None]) -> Recorder:
    """The test's :class:`Recorder`."""
    return Recorder(record_property)
