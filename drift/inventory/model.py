"""The inventory model."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


def excluded(path: str, patterns: Collection[str]) -> bool:
    """True when an `--exclude` glob matches the path or one of the folders above it (SPEC 4): the glob is
    matched against the path relative to the deploy root, `*` crosses `/`, and a pattern naming a folder
    (`logs` or `logs/`) covers everything below it. The collector leaves such paths out; a scan judges a
    fix file under one `unreadable`, since nobody looked at it."""
    for pattern in patterns:
        whole, below = _forms(pattern)
        if whole(path) is not None or below(path) is not None:
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _forms(pattern: str) -> tuple[Callable[[str], re.Match[str] | None], Callable[[str], re.Match[str] | None]]:
    """`fnmatchcase` of the pattern, and of it with `/*` appended, compiled once (a walk asks them of every
    entry). Two expressions, never one alternation: the compiler can take minutes over a long pattern so."""
    return re.compile(fnmatch.translate(pattern)).match, re.compile(fnmatch.translate(pattern.rstrip("/") + "/*")).match


class FileRecord(NamedTuple):
    """One regular file of the tenant (a tuple: millions are held during a fleet scan)."""

    size: int | None
    """Size in bytes; None where the inventory (a sha256sum listing) does not say."""
    sha256: str
    """SHA-256 of the bytes, hex."""
    content_sha256: str | None
    """Content hash for zip-family archives (see `drift.archive`), hex."""

    def tokens(self) -> tuple[str, ...]:
        """The file's hashes as catalog tokens, for matching catalog entries."""
        if self.content_sha256 is None:
            return (f"sha256:{self.sha256}",)
        return (f"sha256:{self.sha256}", f"content-sha256:{self.content_sha256}")


LEFT_OUT = "left out by --exclude, and named like an archive: never read"
"""The `unreadable` reason of a file named like an archive that an `--exclude` pattern left out: the walk
lists what an exclusion leaves out, without reading it, so that a stale archive hidden there still counts
as a place a stale copy could be (`drift.verdict.content_unknown`)."""


FOLDER_CHANGED = "changed during collection: an entry was added, removed or renamed in this folder after it was listed"
"""The `unreadable` reason of a folder whose entries changed between its listing and the end of the
collection: its listing is not what it held (a stale file moved into a folder already listed, then back
once its own was listed, is in no listing), so a stale copy may hide there (`drift.filedrift`)."""

APPEARED = "appeared in the deploy root during collection, or was replaced there, after it was listed"
"""The `unreadable` reason of a name in the deploy root that its listing did not hold, or that is another
file there now: the root cannot be named unreadable, and a stale file kept there, under a new name or an
old one, from the listing of its own folder to the end of the collection is in no listing."""

RACED = "during collection"
"""Words every `unreadable` reason holds that the collector gives for something that changed while it was
collected (`FOLDER_CHANGED`, `APPEARED`, and a file or folder removed, replaced or changed in kind): what
was there is not known, so a stale copy may hide there (`drift.filedrift`)."""

CONTENT_FROM_CATALOG = "not inflated: its bytes are a catalogued release file's, whose content hash the scan takes"
"""The `content_errors` reason of an archive the collector did not inflate because the catalog it was given
lists those exact bytes with a content hash (`drift.filedrift.ReleaseIndex.with_release_content`)."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A file the collector could not read."""

    path: str
    """Path relative to the deploy root."""
    reason: str
    """Why, in a few words."""


@dataclass(frozen=True, slots=True)
class Link:
    """A symbolic link: recorded, never followed."""

    path: str
    """Path of the link, relative to the deploy root."""
    target: str
    """What it points to, as written in the link."""
    outside: bool
    """True when the target lies outside the deploy root (or is absolute)."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something that is not a regular file, folder or link: listed, never read."""

    path: str
    """Path relative to the deploy root."""
    kind: str
    """`fifo`, `socket`, `block-device`, `char-device` or `other`."""


@dataclass(frozen=True, slots=True)
class ConfigValue:
    """One config setting the catalog asks for, as collected."""

    file: str
    """The config file, relative to the deploy root."""
    key: str
    """The setting's key."""
    value: str | None
    """Its value; None when the file does not set it."""


@dataclass(frozen=True)
class Inventory:
    """What was collected from one tenant's deploy root at one time."""

    tenant: str
    """The tenant id."""
    collected_at: str | None
    """When, as an ISO 8601 UTC time; None for a sha256sum listing."""
    collector: str
    """What collected it, e.g. `drift 0.1.0` or `sha256sum`."""
    files: Mapping[str, FileRecord]
    """Every regular file by path."""
    config: Mapping[tuple[str, str], ConfigValue]
    """Captured settings by (file, key)."""
    unreadable: Mapping[str, Unreadable]
    """Files it could not read, by path."""
    digest: str
    """`sha256:<hex>` over the inventory document, verified when read."""
    source: str = ""
    """The file it was read from."""
    links: Mapping[str, Link] = field(default_factory=dict)
    """Symbolic links, by path (never followed: a fix file behind one is `unreadable`)."""
    skipped: Mapping[str, Skipped] = field(default_factory=dict)
    """FIFOs, sockets and devices, by path."""
    changed_during_collection: bool = False
    """True when some file kept changing while it was read (a deployment in progress)."""
    content_errors: Mapping[str, str] = field(default_factory=dict)
    """Archives listed with their sha256 but without a content hash, and why (corrupt, hostile, too large)."""
    file_sha256: str = ""
    """SHA-256 of the whole file's bytes, hex (what a signature of it names); "" when not known."""
    excluded: tuple[str, ...] = ()
    """Every `--exclude` glob the collection was given (and drift's own output files inside the root): what
    lies under one was never looked at."""
    proves_absence: bool = True
    """False for a plain listing (sha256sum, Get-FileHash): it lists what the lister showed it, and leaves
    out hidden files, links and files it could not read without a word, so a path it lacks may be there."""

    @property
    def unseen(self) -> bool:
        """True when some path was not read as a regular file: unreadable, a link, a special file, or excluded."""
        return bool(self.unreadable or self.links or self.skipped or self.excluded)
