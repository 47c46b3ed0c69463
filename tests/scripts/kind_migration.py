"""Run in a process of its own (its own DATABASE_URL): migrate an empty database to the
schema before card kinds had their own tables, fill it with the demo city's boards and cards
in that old layout (every kind's fields on the wide card table), migrate to the end, and
print as JSON what the kinds' detail tables hold then, for the test to compare with the
demo files."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

BEFORE_KINDS = "2026-11-26T11:27:40:000000"  # the last migration of the wide card table

OLD_FIELDS = {
    "comments": ("platform", "author_handle", "link", "sentiment"),
    "inquiries": ("citizen_name", "citizen_phone", "category", "answer"),
    "campaigns": ("platforms", "campaign_format", "starts_at", "ends_at", "goals", "reward_rules"),
}


async def main() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.querystring import QueryString

    from portal.cards.kinds import all_kinds
    from portal.db import engine
    from portal.demo.services import kind_content

    result = await run_forwards(app_name="portal", migration_id=BEFORE_KINDS, fake=False)
    assert result.success, result.message
    db = engine()
    now = datetime.now(UTC).replace(microsecond=0)

    async def run(sql: str, *values):
        return await db.run_querystring(QueryString(sql.replace("?", "{}"), *values))

    expected: dict[str, list[dict]] = {}
    # Kinds born after the wide card table (incidents) had no fields on it to move.
    old_kinds = [kind for kind in all_kinds() if kind.name in OLD_FIELDS]
    for kind in old_kinds:
        content = kind_content(kind)
        board = await run(
            "INSERT INTO board (name, kind, description, seq, webhooks, archived, created_at) "
            "VALUES (?, ?, '', 0, '[]', false, ?) RETURNING id",
            content["board"]["name"],
            kind.name,
            now,
        )
        board_id = board[0]["id"]
        columns = {}
        for index, column in enumerate(kind.columns):
            row = await run(
                "INSERT INTO board_column (board, key, name, meaning, position, archived) "
                "VALUES (?, ?, ?, ?, ?, false) RETURNING id",
                board_id,
                column.key,
                column.name,
                column.meaning,
                index,
            )
            columns[column.key] = row[0]["id"]
        expected[kind.name] = []
        for index, spec in enumerate(content["cards"]):
            fields = dict(spec["fields"])
            for name, days in (spec.get("days_from_now") or {}).items():
                fields[name] = now + timedelta(days=days)
            old = {name: fields.get(name) for name in OLD_FIELDS[kind.name] if fields.get(name) is not None}
            if fields.get("channel"):
                old["platform"] = fields["channel"]  # an inquiry's channel was the wide card's platform
            if "platforms" in old:
                old["platforms"] = json.dumps(old["platforms"])
            names = [
                "board",
                '"column"',
                "position",
                "title",
                "body",
                "priority",
                "labels",
                "version",
                "archived",
                "created_at",
                "updated_at",
                *old,
            ]
            values = [
                board_id,
                columns[spec["column"]],
                float(index),
                fields["title"],
                fields.get("body", ""),
                fields.get("priority", "normal"),
                json.dumps(fields.get("labels", [])),
                1,
                index % 17 == 16,
                now,
                now,
                *old.values(),
            ]
            sql = f"INSERT INTO card ({', '.join(names)}) VALUES ({', '.join('?' * len(values))})"  # noqa: S608
            await run(sql, *values)
            # What the old layout held moves; fields added to a kind since then take their defaults.
            kept = ("title", *OLD_FIELDS[kind.name], "channel")
            expected[kind.name].append({name: value for name, value in fields.items() if name in kept})

    result = await run_forwards(app_name="portal", migration_id="all", fake=False)
    assert result.success, result.message

    out: dict[str, object] = {"expected": {}, "details": {}, "card_columns": []}
    for kind in old_kinds:
        rows = await kind.detail.select(
            kind.detail.card.title.as_alias("title"), *(getattr(kind.detail, name) for name in kind.detail_fields)
        ).output(load_json=True)
        out["details"][kind.name] = sorted(rows, key=lambda row: row["title"])
        out["expected"][kind.name] = sorted(expected[kind.name], key=lambda row: row["title"])
    out["card_columns"] = sorted(dict((await run("SELECT * FROM card LIMIT 1"))[0]).keys())
    print(json.dumps(out, ensure_ascii=False, default=str))


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
