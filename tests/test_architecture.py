"""The house: ``docs/architecture.md`` names only modules that exist, no module is over 500
lines, and the import graph has no cycle (deferred, ``TYPE_CHECKING`` and ``importlib`` imports
included)."""

from __future__ import annotations

import re

from tests.import_graph import ROOT, cycles, graph

ARCHITECTURE = ROOT / "docs" / "architecture.md"


def test_every_path_the_architecture_page_names_exists() -> None:
    text = ARCHITECTURE.read_text("utf-8")
    paths = set(re.findall(r"`((?:faceid_tools|notebooks|tests)/[\w/.-]*)`", text))
    assert len(paths) > 30
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_version_module_imports_nothing_of_ours() -> None:
    assert graph()["faceid_tools._version"] == set()


def test_no_module_over_500_lines() -> None:
    sizes = {
        p.relative_to(ROOT).as_posix(): len(p.read_text("utf-8").splitlines())
        for p in (ROOT / "faceid_tools").rglob("*.py")
    }
    assert {p: n for p, n in sizes.items() if n > 500} == {}


def test_every_package_error_derives_from_faceid_error() -> None:
    """Exception classes defined in the package derive from ``FaceIDError``, except the emulator's
    models of the service's answers and its private signals."""
    import importlib
    import inspect

    from faceid_tools import FaceIDError

    apart = {"ServiceError", "CosError", "ControlError", "BodyTooLarge", "_DuplicateKey"}
    outside = []
    for module in graph():
        if module.endswith("__main__"):
            continue
        mod = importlib.import_module(module)
        for name, obj in vars(mod).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module
                and name not in apart
                and not issubclass(obj, FaceIDError)
            ):
                outside.append(f"{module}.{name}")
    assert outside == []


def test_faceid_error_is_importable_from_the_top() -> None:
    import faceid_tools

    assert faceid_tools.FaceIDError.__module__ == "faceid_tools.errors"
    assert "FaceIDError" in faceid_tools.__all__


def _room(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def test_the_numbers_never_import_the_pages_and_the_wire_neither() -> None:
    """analysis/ returns frames (no HTML, no page code); client/ needs neither numbers nor pages."""
    edges = graph()
    wrong = sorted(
        f"{src} -> {dst}"
        for src, targets in edges.items()
        for dst in targets
        if (_room(src, "faceid_tools.analysis") and _room(dst, "faceid_tools.report"))
        or (
            _room(src, "faceid_tools.client")
            and (_room(dst, "faceid_tools.analysis") or _room(dst, "faceid_tools.report"))
        )
    )
    assert wrong == []


def test_only_the_data_module_reaches_a_backend() -> None:
    """Metrics reach an engine through ``analysis.source()`` / ``resolve()`` (``_data.py``); the
    shared base is open to all, a backend only to ``_data.py`` and the engines themselves."""
    engines = "faceid_tools.analysis.engines"
    allowed = {"faceid_tools.analysis._data", f"{engines}.base", engines}
    wrong = sorted(
        f"{src} -> {dst}"
        for src, targets in graph().items()
        for dst in targets
        if _room(dst, engines)
        and dst not in allowed
        and not _room(src, engines)
        and src != "faceid_tools.analysis._data"
    )
    assert wrong == []


def test_names_a_reader_would_confuse_appear_once() -> None:
    """One ``errors.py`` (the exception tree), one ``summary.py``, one ``store.py``, one
    ``models.py``, one ``frame.py`` in the package."""
    names = [p.name for p in (ROOT / "faceid_tools").rglob("*.py")]
    for name in ("errors.py", "summary.py", "store.py", "models.py", "frame.py"):
        assert names.count(name) <= 1, name
