"""Shared fixtures live in tests/fixtures/, one module per kind of server; ``worktree`` is the guard
that fails any test reading or writing the working tree's ``data/`` or ``reports/``."""

import importlib.util

pytest_plugins = [
    name
    for name in (
        "tests.fixtures.worktree",
        "tests.fixtures.emulator",
        "tests.fixtures.servers",
        "tests.fixtures.spark",
    )
    if importlib.util.find_spec(name) is not None
]
