"""Login rate limit kept in Redis, so it holds across every web process.

Five failed attempts for one account within a minute are allowed; the sixth gets
429 with Retry-After until the minute has passed. A per-address limit stops one
client from spraying many accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

WINDOW_SECONDS = 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 30


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class LoginRateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return (
            f"portal:login-failures:user:{username.strip().lower()}",
            f"portal:login-failures:addr:{address}",
        )

    async def check(self, username: str, address: str) -> Verdict:
        user_key, addr_key = self._keys(username, address)
        user_count, addr_count = await self.redis.mget(user_key, addr_key)
        for key, count, limit in (
            (user_key, user_count, MAX_FAILURES_PER_ACCOUNT),
            (addr_key, addr_count, MAX_FAILURES_PER_ADDRESS),
        ):
            if count is not None and int(count) >= limit:
                ttl = await self.redis.ttl(key)
                return Verdict(allowed=False, retry_after=max(int(ttl), 1))
        return Verdict(allowed=True)

    async def record_failure(self, username: str, address: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(username, address):
                # The window starts at the first failure and later ones do not extend it
                # (SET NX rather than EXPIRE NX, which the embedded Redis 6.2 lacks).
                pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def reset(self, username: str) -> None:
        await self.redis.delete(self._keys(username, "")[0])
