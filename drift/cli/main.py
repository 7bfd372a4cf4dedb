"""The `drift` group, and the one place where errors become messages and exit codes (SPEC 8)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from drift import __version__
from drift.errors import DriftError
from drift.text import MAX_LINE, bounded

EXIT_OK, EXIT_BLOCKING, EXIT_INPUT, EXIT_OPERATIONAL = 0, 1, 2, 3


class DriftGroup(click.Group):
    """A click group that turns every exception into a one-line message and the right exit code, and
    imports a command's module only when it is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return _load(cmd_name) or super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DriftError as exc:
            _fail(exc.render(), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except OSError as exc:
            _fail(f"{str(exc.filename) + ': ' if exc.filename else ''}{exc.strerror or exc}", EXIT_OPERATIONAL)
        except Exception as exc:  # noqa: BLE001 -- a bug: still never a traceback unless asked for
            if os.environ.get("DRIFT_DEBUG"):
                import traceback  # here: loading it (and its tokenizer) would cost every run

                traceback.print_exc()
            _fail(f"internal error: {type(exc).__name__}: {exc} (set DRIFT_DEBUG=1 for a traceback)", EXIT_OPERATIONAL)


def _fail(message: str, code: int) -> None:
    # One line whatever the message quotes (a file name, an exception's text): escaped and bounded (SPEC 5).
    click.echo(f"drift: error: {bounded(message, MAX_LINE)}", err=True)
    sys.exit(code)


def run() -> NoReturn:
    """The `drift` program: `main`, then the process ends at once with its exit code, its output flushed.

    The interpreter's own shutdown would only free memory and unload modules (every file drift writes is
    written whole, synced and closed, and every worker process has ended by then), and on a large run that
    costs tens of milliseconds: a re-collection's whole tree and cache, freed object by object."""
    global _AS_PROGRAM
    _AS_PROGRAM = True
    try:
        main()  # as a program, click ends by raising SystemExit
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # a message for stderr, as the interpreter would print it
            print(exc.code, file=sys.stderr)
            code = 1
    _end(code)


_AS_PROGRAM = False
"""True once `run` runs: the process is the `drift` program, not a caller of `main` (a test)."""


def done() -> None:
    """Called by a command once its work is done and all its output written: as the `drift` program
    (`run`), the process ends here, with exit code 0, before the command's frames let go of what they hold
    (a re-collection's cache, some hundred thousand objects, would take longer to free than to use); called
    from `main` elsewhere, it returns."""
    if _AS_PROGRAM:
        _end(0)


def _end(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a pipe closed by the reader, or a stream already closed
            pass
    os._exit(code)


@click.group(cls=DriftGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="drift")
def main() -> None:
    """Audit which known fixes each tenant really runs, judged from file hashes alone."""


_COMMANDS = {
    "catalog": "drift.cli.catalog:catalog",
    "bundle": "drift.cli.bundle:bundle",
    "collect": "drift.cli.collect:collect",
    "scan": "drift.cli.scan:scan",
    "gate": "drift.cli.gate:gate",
    "export": "drift.cli.export:export",
    "report": "drift.cli.report:report",
    "history": "drift.cli.history:history",
    "diff": "drift.cli.history:diff",
    "key": "drift.cli.key:key",
    "verify": "drift.cli.verify:verify",
}
"""Each command's module, imported only when the command is run (or help lists it): a scan need not load
the catalog builder's git support, nor the report's page."""


def _load(name: str) -> click.Command | None:
    if name not in main.commands and name in _COMMANDS:
        module, attr = _COMMANDS[name].split(":")
        main.add_command(getattr(importlib.import_module(module), attr), name)
    return main.commands.get(name)


@main.command("help")
@click.argument("words", nargs=-1, metavar="[COMMAND]...")
@click.pass_context
def help_command(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Show the help of drift, or of a command (`drift help export csv`)."""
    root = ctx.parent if ctx.parent is not None else ctx
    command: click.Command = main
    context = click.Context(main, info_name="drift")
    for word in words:
        found = command.get_command(context, word) if isinstance(command, click.Group) else None
        if found is None:
            raise click.UsageError(f"no command {' '.join([*context.command_path.split()[1:], word])!r}: see `drift help`", ctx=root)
        command = found
        context = click.Context(found, info_name=word, parent=context)
    click.echo(command.get_help(context))
