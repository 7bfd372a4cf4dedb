"""Times for people to read: the stored UTC times (`2023-06-14T01:30:00Z`) shown in a chosen time zone.

drift stores every time in UTC. The agency's CSV and the HTML report show the times people read (when a
scan ran, when an inventory was collected) in a zone the user names with `--timezone`: an IANA name
(`Asia/Tokyo`, `UTC`) or `local`, the machine's own zone (the default). They are written as RFC 3339 with
that zone's offset, `2023-06-14T10:30:00+09:00`, so that the instant stays unambiguous whatever the zone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from drift.errors import InputError
from drift.text import shown

LOCAL = "local"
"""The zone name that means the machine's own zone (the `TZ` environment variable, else the system's)."""


@dataclass(frozen=True, slots=True)
class Zone:
    """A time zone to show times in."""

    name: str
    """As the user named it: an IANA name, or `local`."""
    tz: dt.tzinfo | None
    """The zone; None for `local`, read when each time is shown (so `TZ` set after start-up counts)."""

    def show(self, value: str) -> str:
        """`value` (an ISO 8601 / RFC 3339 time with an offset, as drift stores them) as RFC 3339 in this
        zone, to the second (or finer when the stored time is). A value that is empty, not a time, or has
        no offset is returned as it is: no time is ever guessed."""
        if not value:
            return value
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is None:
            return value
        return moment.astimezone(self.tz).isoformat()


def zone(name: str, *, where: str = "--timezone") -> Zone:
    """The zone called `name`: `local`, or an IANA time zone name. Any other is an `InputError` at `where`."""
    if name == LOCAL:
        return Zone(LOCAL, None)
    if name.upper() == "UTC":
        return Zone(name, dt.UTC)
    try:
        return Zone(name, zoneinfo.ZoneInfo(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(f"unknown time zone {shown(name)}: give an IANA name such as Asia/Tokyo or UTC, or local", where=where) from None
