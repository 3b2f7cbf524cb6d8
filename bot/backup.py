"""`python -m bot backup [path]`: a consistent copy of the database while the bot runs.

SQLite: the online backup API copies page by page under SQLite's own locking, so a
bot writing meanwhile never leaves a torn copy (copying the file with `cp` can). PostgreSQL
has its own tool for that, `pg_dump`: the command is printed, as in docs/deploy.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from bot.settings import ROOT

DEFAULT_FOLDER = ROOT / "data" / "backups"
PG_DUMP = 'pg_dump --format=custom --no-owner --file={file} "$DATABASE_URL"'


class BackupError(ValueError):
    """The database cannot be backed up this way; the message says what to do."""


def backup_target(target: Path | None, now: dt.datetime, suffix: str) -> Path:
    """A timestamped file in `target` (a folder) or `target` itself (a file name)."""
    name = f"priyom-{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}{suffix}"
    if target is None:
        return DEFAULT_FOLDER / name
    return target / name if target.is_dir() or not target.suffix else target


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite://").split("?")[0])


def backup_sqlite(url: str, target: Path | None, now: dt.datetime) -> Path:
    source = sqlite_path(url)
    if not source.exists():
        raise BackupError(f"no database file at {source}")
    dest = backup_target(target, now, ".sqlite3")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(dest)) as copy,
    ):
        src.backup(copy)
    return dest


def pg_dump_command(target: Path | None, now: dt.datetime) -> str:
    return PG_DUMP.format(file=backup_target(target, now, ".dump"))


def backup(url: str, target: Path | None, now: dt.datetime) -> str:
    """What was done (SQLite) or what to run (PostgreSQL), as one line for the terminal."""
    if url.startswith("sqlite://"):
        if ":memory:" in url:
            raise BackupError("an in-memory database has nothing to back up")
        return f"backup written: {backup_sqlite(url, target, now)}"
    if url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return f"PostgreSQL: run pg_dump (docs/deploy.md):\n{pg_dump_command(target, now)}"
    raise BackupError(f"unknown database kind: {url.split(':', 1)[0]}")
