"""Errors to messages and exit codes, for every subcommand, in one place.

The map lists the package's own errors only -- the root
:class:`~faceid_tools.errors.FaceIDError` and its documented subclasses -- never a builtin such as
``ValueError`` or ``OSError``, whoever raised it:

* exit **2**, bad input: an argument or a file the user named breaks a rule
  (:data:`BAD_INPUT`: :class:`~faceid_tools.errors.InputError` and its
  :class:`~faceid_tools.errors.MissingInputError`, :class:`~faceid_tools.errors.ValidationError`,
  a profile or call log that cannot be used, an unknown campaign, ...);
* exit **1**, a failure during the work (any other ``FaceIDError``: the service, the network, a
  notebook, a damaged dataset found by ``--verify``);
* exit **1**, an internal error: any exception that is not a ``FaceIDError`` is a bug; its line
  says so, names the exception and says to run with ``-vv`` for the traceback;
* exit **130**, Ctrl-C.

Each prints one line, ``faceid-tools COMMAND: <what>: <rule>``; the traceback only with ``-vv``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import NoReturn

from ..calllog.migrations import SchemaTooNewError
from ..errors import CallLogError, CredentialError, FaceIDError, InputError, ValidationError

__all__ = [
    "BAD_INPUT",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "BadInput",
    "OneLineParser",
    "WorkFailed",
    "exit_code",
    "explain",
]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class BadInput(FaceIDError, ValueError):
    """A command-line argument breaks a rule: ``argument``, then the rule."""

    def __init__(self, argument: str, rule: str) -> None:
        super().__init__(f"{argument}: {rule}")
        self.argument = argument
        self.rule = rule


class WorkFailed(FaceIDError, RuntimeError):
    """The work itself failed (the input was fine)."""


def _bad_input_classes() -> tuple[type[BaseException], ...]:
    # imported here so that building the parser stays light (profile pulls in scipy)
    from ..calllog.export import ExportError
    from ..calllog.parquet import ParquetDatasetError
    from ..campaign.records import CampaignExistsError, UnknownCampaignError
    from ..emulator.profile import ProfileError
    from ..seqformat import SequenceFormatError

    return (
        BadInput,
        InputError,
        ValidationError,
        CredentialError,
        CallLogError,
        SchemaTooNewError,
        ExportError,
        ParquetDatasetError,
        CampaignExistsError,
        UnknownCampaignError,
        ProfileError,
        SequenceFormatError,
    )


#: The package's errors that mean bad input (exit 2); filled on first use (see
#: :func:`_bad_input_classes`).
BAD_INPUT: tuple[type[BaseException], ...] = ()


def exit_code(exc: BaseException) -> int:
    """The exit code an exception ends a command with."""
    global BAD_INPUT
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, WorkFailed):
        return EXIT_FAILED
    if not isinstance(exc, FaceIDError):
        return EXIT_FAILED  # an internal error
    if not BAD_INPUT:
        BAD_INPUT = _bad_input_classes()
    return EXIT_BAD_INPUT if isinstance(exc, BAD_INPUT) else EXIT_FAILED


def message(exc: BaseException) -> str:
    """One line saying what went wrong (the file or argument, then the rule)."""
    if isinstance(exc, KeyboardInterrupt):
        text = "interrupted"
    elif isinstance(exc, FaceIDError):
        text = str(exc) if exc.code != FaceIDError.code and _is_service(exc) else exc.message
    else:  # not one of ours: a bug (or a failure the package did not name), say so briefly
        kind = type(exc).__qualname__
        if type(exc).__module__ != "builtins":
            kind = f"{type(exc).__module__}.{kind}"
        text = f"internal error: {kind}: {exc} (run with -vv for the traceback)"
    return " ".join(text.split()) or type(exc).__name__


def _is_service(exc: FaceIDError) -> bool:
    """Errors whose code is the service's (or the transport's): worth showing."""
    return not isinstance(exc, ValidationError | BadInput | WorkFailed | CallLogError)


def explain(command: str | None, exc: BaseException, verbose: int) -> int:
    """Print ``exc`` as one line on stderr (its traceback first with ``-vv``); its exit code."""
    if verbose >= 2 and not isinstance(exc, KeyboardInterrupt):
        traceback.print_exception(exc, file=sys.stderr)
    prog = f"faceid-tools {command}" if command else "faceid-tools"
    print(f"{prog}: {message(exc)}", file=sys.stderr)
    return exit_code(exc)


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (``--help`` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")
