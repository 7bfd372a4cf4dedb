"""Write a file whole or not at all (SPEC 9)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from drift.errors import InputError, OperationalError
from drift.text import clip


def write_atomic(path: str | Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Write `data` to `path` through a temporary file in the same folder, fsync, then rename.

    A crash or a full disk leaves the previous version of `path` intact. The new file keeps the previous
    version's permissions, or gets those of a plainly created file (0666 less the umask), never mkstemp's 0600;
    or `mode`, when given.
    A folder that does not exist is an input error (exit 2): a mistyped `--out` must not create folders
    wherever it points (as root, anywhere).
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"cannot write {clip(target.name)}: {clip(str(folder))} {problem}", source=target)
    try:
        fd, tmp = _created_beside(folder, target.name)
    except OSError as exc:
        raise OperationalError(f"cannot write: {exc.strerror or exc}", source=target) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # not on Windows before Python 3.13, where modes mean nothing anyway
                os.fchmod(handle.fileno(), _mode_for(target) if mode is None else mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        _remove_quietly(tmp)
        raise OperationalError(f"cannot write: {exc.strerror or exc}", source=target) from exc
    except BaseException:
        _remove_quietly(tmp)
        raise


_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _created_beside(folder: Path, name: str) -> tuple[int, str]:
    """A new empty file in `folder`, named after `name` and 48 random bits, as `tempfile.mkstemp` makes one
    (whose module, loaded, costs a re-collection more than the write): created exclusively, so never a file
    or a link already there, readable and writable by this user alone, another name tried on a collision."""
    for _ in range(100):
        path = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(path, _CREATE, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        pass
    try:  # Linux: read the umask without changing it (os.umask would, for every thread)
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
