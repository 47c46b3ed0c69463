"""The migration that gave each card kind its own table moves the demo city's data: every
comment, inquiry and campaign keeps its kind's fields, on this run's database engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg

from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]


def _canonical(row: dict, fields: tuple[str, ...], defaults: dict) -> str:
    return json.dumps({name: row.get(name, defaults.get(name)) for name in ("title", *fields)}, sort_keys=True)


async def _fresh_database(tmp_path: Path):
    """A database of its own for the migration run: a SQLite file, or a new PostgreSQL
    database beside the test one (dropped afterwards)."""
    if not ON_POSTGRES:
        return "", None
    name = f"portal_migration_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(TEST_DATABASE_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return TEST_DATABASE_URL.rsplit("/", 1)[0] + "/" + name, name


async def test_the_kind_tables_migration_keeps_every_cards_fields(tmp_path):
    from portal.cards.kinds import all_kinds

    url, created = await _fresh_database(tmp_path)
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    if url:
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    try:
        run = subprocess.run(  # noqa: ASYNC221  (the test waits for it; nothing else runs meanwhile)
            [sys.executable, "-m", "tests.scripts.kind_migration"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        if created:
            admin = await asyncpg.connect(TEST_DATABASE_URL)
            await admin.execute(f'DROP DATABASE IF EXISTS "{created}"')
            await admin.close()
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    # The wide card table lost the kinds' fields …
    assert not {"platform", "citizen_phone", "ends_at", "goals"} & set(result["card_columns"])
    assert {"received_at", "department", "due_at"} <= set(result["card_columns"])
    # … and each kind's table holds them, card for card.
    for kind in all_kinds():
        if kind.name not in result["expected"]:
            continue  # a kind born after the wide card table had nothing on it to move
        fields = kind.detail_fields
        defaults = {name: kind.default(name) for name in fields}
        expected = result["expected"][kind.name]
        assert len(expected) >= 8
        moved = sorted(_canonical(row, fields, defaults) for row in result["details"][kind.name])
        want = sorted(_canonical(row, fields, defaults) for row in expected)
        assert moved == want, kind.name
