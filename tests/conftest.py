"""Shared fixtures live in tests/fixtures/, one module per kind of server."""

import importlib.util

pytest_plugins = [
    name
    for name in ("tests.fixtures.emulator", "tests.fixtures.servers", "tests.fixtures.spark")
    if importlib.util.find_spec(name) is not None
]
