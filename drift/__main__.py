"""`python -m drift` runs the command line."""

from drift.cli.main import run

run()
