"""Data files only their owner can read: the read model, the embedded Temporal database, logs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url

DIRECTORY_MODE: Final = 0o700
FILE_MODE: Final = 0o600
# SQLite writes beside its database; it gives these the database file's own mode.
SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")


def private_directory(path: Path) -> Path:
    """The directory, created (with its parents) if missing so that only its owner may enter it.

    A directory that already exists is left as it is: it may be shared (/tmp) or not ours.
    """
    if not path.is_dir():
        path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIRECTORY_MODE)  # mkdir's mode is narrowed by the umask, never widened
    return path


def private_file(path: Path) -> Path:
    """The file, created empty if missing, readable and writable by its owner only.

    An existing file of ours (and its SQLite companions) is narrowed to the same mode, so data
    written before this rule existed is covered as well. A directory in its place is left for
    whoever opens it to report.
    """
    private_directory(path.parent)
    if path.is_dir():
        return path
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.close(descriptor)
    return narrow(path)


def narrow(path: Path) -> Path:
    """An existing file and its SQLite companions made the owner's alone; missing ones are not
    created (some programs, Temporal's dev server among them, set up a database they create)."""
    for candidate in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        # Another user's file (a database shared on purpose) is not ours to change.
        if candidate.is_file() and candidate.stat().st_uid == os.getuid():
            os.chmod(candidate, FILE_MODE)
    return path


def private_sqlite_database(url: str) -> None:
    """For a SQLite URL naming a file: make the file and its directory private before use."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    private_file(Path(database))
