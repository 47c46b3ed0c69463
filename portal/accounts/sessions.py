"""Server-side sessions in Redis.

A session is a random token in an HttpOnly cookie pointing at a Redis hash. Login
always creates a fresh token (rotation: a token planted before login is worthless
after it), and every user's tokens are indexed so that disabling an account or
resetting its password ends all of its sessions at once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

SESSION_COOKIE = "portal_session"
_SESSION_KEY = "portal:session:{token}"
_USER_SESSIONS_KEY = "portal:user-sessions:{user_id}"


@dataclass(frozen=True)
class Session:
    token: str
    user_id: int
    created_at: float


class SessionStore:
    def __init__(self, redis: aioredis.Redis, lifetime_seconds: int) -> None:
        self.redis = redis
        self.lifetime_seconds = lifetime_seconds

    async def create(self, user_id: int, *, replacing: str | None = None) -> Session:
        if replacing:
            await self.delete(replacing)
        token = secrets.token_urlsafe(32)
        now = time.time()
        user_key = _USER_SESSIONS_KEY.format(user_id=user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_SESSION_KEY.format(token=token), mapping={"user_id": user_id, "created_at": now})
            pipe.expire(_SESSION_KEY.format(token=token), self.lifetime_seconds)
            pipe.sadd(user_key, token)
            pipe.expire(user_key, self.lifetime_seconds)
            await pipe.execute()
        return Session(token=token, user_id=user_id, created_at=now)

    async def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 100:
            return None
        data = await self.redis.hgetall(_SESSION_KEY.format(token=token))
        if not data:
            return None
        return Session(token=token, user_id=int(data[b"user_id"]), created_at=float(data[b"created_at"]))

    async def delete(self, token: str) -> None:
        session = await self.get(token)
        await self.redis.delete(_SESSION_KEY.format(token=token))
        if session:
            await self.redis.srem(_USER_SESSIONS_KEY.format(user_id=session.user_id), token)

    async def delete_all_for_user(self, user_id: int) -> int:
        user_key = _USER_SESSIONS_KEY.format(user_id=user_id)
        tokens = await self.redis.smembers(user_key)
        keys = [_SESSION_KEY.format(token=t.decode()) for t in tokens]
        if keys:
            await self.redis.delete(*keys)
        await self.redis.delete(user_key)
        return len(keys)
