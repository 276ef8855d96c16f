"""Shared fixtures live in tests/fixtures/, one module per kind of server; ``worktree`` is the guard
that fails any test reading or writing the working tree's ``data/`` or ``reports/``."""

import importlib.util
import os

# No test reads or writes the user's result cache (faceid_tools.analysis._cache); the tests of the
# cache turn it on in a temporary folder.  Off by default here, so that tests comparing engine
# strategies on one dataset compute each time.  FACEID_TESTS_CACHE=<folder> runs the suite with
# the cache on, in that folder.
os.environ["FACEID_TOOLS_CACHE"] = os.environ.get("FACEID_TESTS_CACHE", "off")

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
