"""The one exception tree of drift.

Every error a user can cause is a `DriftError` that names the file and the field or line. The CLI turns
the tree into exit codes in one place (`drift.cli.main`): `InputError` and its children give 2,
`OperationalError` gives 3. A finding that cannot be verified is a verdict, never an exception.
"""

from __future__ import annotations

from pathlib import Path

from drift.text import MAX_LINE, bounded, clip

MAX_PART = 300
"""Characters of the file name and of the field a message names, at most (their length is said past it)."""


class DriftError(Exception):
    """Base of every error drift reports to a user."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | Path | None = None, where: str | None = None) -> None:
        self.message = message
        self.source = str(source) if source is not None else None
        self.where = where
        super().__init__(self.render())

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only fields survive pickling (a worker process raising in the parent's scan).
        return (_rebuild, (type(self), self.message, self.source, self.where))

    def render(self) -> str:
        """One line: `file: field: message`, leaving out what is unknown.

        The file and the field may come from the input (an unknown key of an inventory is its field): each is
        shown escaped and cut to `MAX_PART` characters, and the whole line is escaped and cut to `MAX_LINE`
        (SPEC 5: no message echoes more than a few hundred characters of any value, nor a control character).
        """
        parts = [clip(p, MAX_PART) for p in (self.source, self.where) if p]
        parts.append(self.message)
        return bounded(": ".join(parts), MAX_LINE)


class InputError(DriftError):
    """Invalid input: a file or an argument that does not follow the contract (exit 2)."""


class CatalogError(InputError):
    """A catalog file (catalog.yaml, a release manifest, a fix) is invalid."""


class RegistryError(InputError):
    """The tenant registry is invalid."""


class InventoryError(InputError):
    """An inventory is invalid, unreadable or does not verify against its digest."""


class OperationalError(DriftError):
    """The machine failed us: I/O, a database busy past its timeout (exit 3)."""

    exit_code = 3


def _rebuild(cls: type[DriftError], message: str, source: str | None, where: str | None) -> DriftError:
    return cls(message, source=source, where=where)


class TrustError(InputError):
    """A key, a signature or the trust file is invalid, or a signature does not verify (exit 2)."""
