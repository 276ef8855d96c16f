"""The package's public surface, one line per name: every name in ``__all__`` of every public
module (no ``_`` in its dotted path) and every ``faceid-tools`` subcommand with its flags.

``python -m tests.public_surface`` prints it; ``python -m tests.public_surface --write`` rewrites
``tests/public_surface.txt``, the committed snapshot ``tests/test_public_surface.py`` compares
with, so a lost function or flag fails a test and a new one is a deliberate change of the file.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from tests.import_graph import ROOT, modules

SNAPSHOT = ROOT / "tests" / "public_surface.txt"


def public_modules() -> list[str]:
    """Dotted names of the package's public modules (no segment starting with ``_``)."""
    return sorted(
        name for name in modules() if not any(part.startswith("_") for part in name.split(".")[1:])
    )


def api_lines() -> list[str]:
    """``module name`` for every name in a public module's ``__all__``."""
    out = []
    for name in public_modules():
        mod = importlib.import_module(name)
        for exported in getattr(mod, "__all__", ()):
            out.append(f"{name} {exported}")
    return out


def cli_lines() -> list[str]:
    """``faceid-tools COMMAND FLAG`` for every subcommand and every option or positional."""
    from faceid_tools.cli import build_parser

    parser = build_parser()
    out = [f"faceid-tools {flag}" for a in parser._actions for flag in a.option_strings]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                out.append(f"faceid-tools {command}")
                for a in sub._actions:
                    for flag in a.option_strings or [f"<{a.dest}>"]:
                        out.append(f"faceid-tools {command} {flag}")
    return out


def surface() -> list[str]:
    """The whole public surface, sorted."""
    return sorted(set(api_lines()) | set(cli_lines()))


def main(argv: list[str]) -> None:
    lines = surface()
    if "--write" in argv:
        SNAPSHOT.write_text("\n".join(lines) + "\n", "utf-8")
        print(f"wrote {len(lines)} lines to {Path(SNAPSHOT).relative_to(ROOT)}")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
