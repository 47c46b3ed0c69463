"""Who is looking at a board, and who has which card open: kept in Redis so every web
process sees the same list; entries expire if a process dies without cleaning up."""

from __future__ import annotations

import json
import time

STALE_AFTER_SECONDS = 90


def _key(board_id: int) -> str:
    return f"portal:presence:{board_id}"


async def join(redis, board_id: int, connection_id: str, user_id: int, name: str) -> None:
    await redis.hset(_key(board_id), connection_id, json.dumps({"user_id": user_id, "name": name, "ts": time.time()}))
    await redis.expire(_key(board_id), STALE_AFTER_SECONDS * 4)


async def leave(redis, board_id: int, connection_id: str) -> None:
    await redis.hdel(_key(board_id), connection_id)


async def viewers(redis, board_id: int) -> list[dict]:
    """Distinct people currently connected, oldest first."""
    now = time.time()
    seen: dict[int, dict] = {}
    for raw in (await redis.hgetall(_key(board_id))).values():
        entry = json.loads(raw)
        if now - entry["ts"] < STALE_AFTER_SECONDS and entry["user_id"] not in seen:
            seen[entry["user_id"]] = entry
    return sorted(seen.values(), key=lambda entry: entry["ts"])
