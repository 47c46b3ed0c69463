"""A database and a Redis database number for each pytest-xdist worker on the servers.

Worker ``gwN`` of a run against ``postgres://…/test`` uses the database ``test_gwN``
(created when missing, on the same server, by connecting to the given database), and
against ``redis://…/D`` the database number ``D + N`` (Redis has 16 by default)."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit, urlunsplit


def worker_number(worker: str) -> int:
    match = re.fullmatch(r"gw(\d+)", worker)
    if not match:
        raise ValueError(f"unexpected pytest-xdist worker name: {worker!r}")
    return int(match.group(1))


def worker_database(url: str, worker: str) -> str:
    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "postgres"
    name = f"{base}_{worker}"
    asyncio.run(_create_database(url, name))
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create_database(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def worker_redis(url: str, worker: str) -> str:
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    number = base + worker_number(worker)
    if number > 15:
        raise ValueError(f"Redis database {number} for {worker}: use fewer workers or a lower base number")
    return urlunsplit(parts._replace(path=f"/{number}"))
