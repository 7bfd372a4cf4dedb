"""The `drift` group, and the one place where errors become messages and exit codes (SPEC 8)."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from drift import __version__
from drift.errors import DriftError

EXIT_OK, EXIT_BLOCKING, EXIT_INPUT, EXIT_OPERATIONAL = 0, 1, 2, 3


class DriftGroup(click.Group):
    """A click group that turns every exception into a one-line message and the right exit code."""

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
            _fail(f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}", EXIT_OPERATIONAL)
        except Exception as exc:  # a bug: still never a traceback unless asked for
            if os.environ.get("DRIFT_DEBUG"):
                traceback.print_exc()
            _fail(f"internal error: {type(exc).__name__}: {exc} (set DRIFT_DEBUG=1 for a traceback)", EXIT_OPERATIONAL)


def _fail(message: str, code: int) -> None:
    click.echo(f"drift: error: {message}", err=True)
    sys.exit(code)


@click.group(cls=DriftGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="drift")
def main() -> None:
    """Audit which known fixes each tenant really runs, judged from file hashes alone."""


def _register() -> None:
    from drift.cli.catalog import catalog
    from drift.cli.collect import collect
    from drift.cli.export import export
    from drift.cli.gate import gate
    from drift.cli.history import diff, history
    from drift.cli.report import report
    from drift.cli.scan import scan

    for command in (catalog, collect, scan, gate, export, report, history, diff):
        main.add_command(command)


_register()
