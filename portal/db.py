"""The database engine: SQLite (embedded default) or PostgreSQL, chosen by settings.

Piccolo finds the engine through ``piccolo_conf.DB``; this module builds it and offers
``write_transaction()``, which on SQLite takes the write lock up front (BEGIN IMMEDIATE)
so that two writers queue on the busy timeout instead of failing halfway with
"database is locked".
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from portal.settings import Settings, SettingsError

SQLITE_BUSY_TIMEOUT_SECONDS = 15


def build_engine(settings: Settings) -> Engine:
    sqlite_path = settings.sqlite_path
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(str(sqlite_path))
        return SQLiteEngine(path=str(sqlite_path), timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    parts = urlsplit(settings.database_url)
    if not parts.path.strip("/"):
        raise SettingsError("Setting DATABASE_URL is invalid: it names no database.")
    return PostgresEngine(config={"dsn": settings.database_url.replace("postgres://", "postgresql://", 1)})


def _enable_wal(path: str) -> None:
    # WAL is a property of the file, so setting it once at start-up is enough; it lets
    # readers (board pages) proceed while a writer holds the lock.
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def engine() -> Engine:
    from portal.piccolo_conf import DB  # the one engine every table uses

    return DB


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


def write_transaction():
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


async def open_pool() -> None:
    from portal.settings import get_settings

    db = engine()
    if isinstance(db, PostgresEngine) and get_settings().database_pool:
        await db.start_connection_pool(min_size=1, max_size=20)


async def close_pool() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


async def check_connection() -> None:
    """Raise SettingsError with one sentence when the database cannot be reached."""
    db = engine()
    try:
        await db.run_ddl("SELECT 1")
    except Exception as error:  # the driver's own error types differ per engine
        where = "PostgreSQL" if isinstance(db, PostgresEngine) else "SQLite"
        raise SettingsError(f"Cannot reach the {where} database: {error}.") from None
