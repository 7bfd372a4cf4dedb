"""The command line: the only part of drift that imports click."""

from drift.cli.main import main

__all__ = ["main"]
