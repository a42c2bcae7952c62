"""Files readable by their owner only: the database, its backups, the secret key, the demo logins.

They are created with mode 0600 from the start (``os.open`` with that mode), so there is no moment at
which another local user could open them, whatever the process umask is.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_FILE_MODE = 0o600


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 if it does not exist; True if this call created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private_text(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` (created or replaced) so that only the owner may read it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)  # an older file may have had a wider mode
        handle.write(content)


def prepare_sqlite_file(uri: str) -> None:
    """Create the SQLite database file of ``uri`` with mode 0600 before SQLite first opens it.

    SQLite gives the -wal and -shm files (and rollback journals) the database file's mode, so they are
    private too. Other backends and in-memory databases are left alone.
    """
    url = make_url(uri)
    if url.get_backend_name() != "sqlite":
        return
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query.get("mode") == "memory":
        return
    path = Path(database)
    if path.parent.is_dir():
        create_private_file(path)
