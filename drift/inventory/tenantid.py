"""A tenant's id, as inventories, the tenant registry and a gate's trust file hold it (SPEC 4).

A 6-digit local government code whose JIS X 0402 check digit is right, or another id of 1 to 64 letters,
digits, `.`, `_` and `-`, beginning with a letter or digit. One rule for every reader and writer: the
one-file collector carries this module (standard library, Python 3.9).
"""

from __future__ import annotations

import re

from drift.errors import InputError
from drift.text import shown

_CODE = re.compile(r"[0-9]{6}")  # not \d: it matches full-width digits too
_OTHER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def jis_check_digit(first_five: str) -> int:
    """The JIS X 0402 check digit of a 5-digit code: (11 - weighted sum mod 11), last digit."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2)))
    return (11 - total % 11) % 10


def tenant_id_problem(value: str) -> str | None:
    """Why `value` is not a tenant id, as a sentence for the caller's own error, or None when it is one."""
    if _CODE.fullmatch(value):
        expected = jis_check_digit(value[:5])
        if int(value[5]) != expected:
            return f"local government code {value} has a wrong check digit (expected {value[:5]}{expected})"
        return None
    if not _OTHER_ID.fullmatch(value):
        return f"tenant id {shown(value)} must be letters, digits, '.', '_' or '-' (at most 64)"
    return None


def tenant_option(value: str) -> str:
    """The tenant id given as `--tenant`, checked as `tenant_id_problem` says, for `drift collect` and the
    one-file collector alike; raises `InputError` naming the option."""
    problem = tenant_id_problem(value)
    if problem is not None:
        raise InputError(problem, source="--tenant", where="ID")
    return value
