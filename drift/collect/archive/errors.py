"""The exceptions of `drift.collect.archive`."""

from __future__ import annotations


class ArchiveError(Exception):
    """The archive cannot be content-hashed (corrupt, hostile or too deep); the message is the reason."""


class ArchiveRefused(ArchiveError):
    """The archive is hostile or over a limit. Never hashed by its bytes when nested: the outer archive is refused."""
