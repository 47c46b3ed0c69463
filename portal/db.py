"""The database engine: SQLite (embedded default) or PostgreSQL, chosen by settings.

Piccolo finds the engine through ``piccolo_conf.DB``; this module builds it and offers
``write_transaction()``, which on SQLite takes the write lock up front (BEGIN IMMEDIATE)
so that two writers queue on the busy timeout instead of failing halfway with
"database is locked".
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlsplit

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory

from portal.settings import Settings, SettingsError

SQLITE_BUSY_TIMEOUT_SECONDS = 15
# Idle SQLite connections kept per process for statements outside a transaction.
SQLITE_IDLE_CONNECTIONS = 8


class ReusingSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, except that a statement outside a transaction reuses an idle
    connection instead of opening one: Piccolo opens a connection (a thread, the file, a
    PRAGMA) for every such statement, a good part of a small board page's time. Each
    statement still runs alone on its connection and commits as Piccolo's does, and in WAL
    mode every statement reads the latest commit, so reuse changes nothing it sees.
    Transactions (write_transaction) keep their own connection, as before."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[aiosqlite.Connection] = []

    async def _connect(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # An idle connection's thread must not keep a finished process alive. aiosqlite keeps
        # each connection's thread as the private `_thread` (0.22; before 0.20 the connection
        # was the thread): checked, not assumed, and made a daemon before it is started.
        thread = getattr(connection, "_thread", connection)
        if hasattr(thread, "daemon") and not thread.is_alive():
            thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table=None
    ):
        try:
            connection = self._idle.pop()
        except IndexError:  # none idle (the check and the pop as one step: no await between)
            connection = await self._connect()
        try:
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()
                if query_type == "insert" and self.get_version_sync() < 3.35:
                    assert table is not None
                    result = [
                        {table._meta.primary_key._meta.db_column_name: await self._get_inserted_pk(cursor, table)}
                    ]
                else:
                    result = await cursor.fetchall()
        except BaseException:
            await _close_quietly(connection)  # whatever state it is in, it is not reused
            raise
        if connection.in_transaction or len(self._idle) >= SQLITE_IDLE_CONNECTIONS:
            await _close_quietly(connection)
        else:
            self._idle.append(connection)
        return result

    async def close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await _close_quietly(connection)


async def _close_quietly(connection: aiosqlite.Connection) -> None:
    try:
        await connection.close()
    except Exception:  # noqa: S110 (already broken: nothing more to do with it)
        pass


def build_engine(settings: Settings) -> Engine:
    sqlite_path = settings.sqlite_path
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(str(sqlite_path))
        return ReusingSQLiteEngine(path=str(sqlite_path), timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
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
    elif isinstance(db, ReusingSQLiteEngine):
        await db.close_idle()


async def check_connection() -> None:
    """Raise SettingsError with one sentence when the database cannot be reached."""
    db = engine()
    try:
        await db.run_ddl("SELECT 1")
    except Exception as error:  # the driver's own error types differ per engine
        where = "PostgreSQL" if isinstance(db, PostgresEngine) else "SQLite"
        raise SettingsError(f"Cannot reach the {where} database: {error}.") from None
