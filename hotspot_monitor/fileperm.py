"""Files the service creates are not for every user on the machine.

State, spool, dead letters, SQLite files, reports and ``runtime.json`` hold
operational data (and, in the state store, password hashes): the CLI sets the
process umask to at least 0027 once (``restrict_umask``), and the places that
create such files also ask for owner read/write, group read (0640) and
directories 0750 themselves, so a library caller with a loose umask gets the
same (docs/hardening.md).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Union

UMASK = 0o027
DIR_MODE = 0o750
FILE_MODE = 0o640

PathLike = Union[str, "os.PathLike[str]"]


def restrict_umask() -> int:
    """Make the umask at least 0027 (a stricter one, e.g. 0077, stays); the old one."""
    old = os.umask(UMASK)
    os.umask(old | UMASK)
    return old


def private_dir(path: PathLike) -> Path:
    """``mkdir -p`` with the last directory 0750 (when it is created here)."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return p


def private_file(path: PathLike) -> Path:
    """Create an empty 0640 file if there is none (SQLite then gives its -wal and -shm
    files the same mode)."""
    p = Path(path)
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    return p


def open_private(path: PathLike, mode: str = "w", encoding: str = "utf-8") -> IO:
    """``open(path, mode)`` for writing ("w" or "a"), creating the file 0640."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    return os.fdopen(fd, mode, encoding=encoding)


def write_private_text(path: PathLike, text: str) -> None:
    """Replace ``path`` atomically with ``text``, as a 0640 file."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    with open_private(tmp) as f:
        f.write(text)
    tmp.replace(p)


def write_private_bytes(path: PathLike, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, as a 0640 file (its directory 0750)."""
    p = Path(path)
    private_dir(p.parent)
    tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.replace(p)
