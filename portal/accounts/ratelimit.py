"""Password-guessing limits kept in Redis, so they hold across every web process.

Every attempt is counted *before* the password is checked (an atomic INCR), so concurrent
guesses cannot all slip through between a check and a later record. Over a limit the answer
is 429 with Retry-After and no password is checked at all.

Login has three counters:

- per user name and address: 5 attempts a minute. A flood from one address ends here and
  does not touch the account's other counter, so it cannot lock the real user out when
  they log in from another address;
- per address: 30 attempts a minute, against one client spraying many accounts;
- per user name from all addresses: 100 attempts in 15 minutes, against guessing spread
  over many addresses. One address alone, held to 5 a minute, stays below it.

A successful login clears its pair counter and takes its own attempt back from the other
two, so that many colleagues logging in behind one office NAT do not add up to a block.

Changing one's own password allows 5 wrong current passwords in 15 minutes per user: a
borrowed or stolen session must not become an unlimited password oracle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from portal.i18n import gettext as _

WINDOW_SECONDS = 60
MAX_ATTEMPTS_PER_PAIR = 5
MAX_ATTEMPTS_PER_ADDRESS = 30
ACCOUNT_WINDOW_SECONDS = 15 * 60
MAX_ATTEMPTS_PER_ACCOUNT = 100
PASSWORD_CHANGE_WINDOW_SECONDS = 15 * 60
MAX_PASSWORD_CHANGE_FAILURES = 5

# A key part is cut to this length: nobody's user name is longer, and a flood of huge names
# must not make huge keys.
_MAX_NAME_IN_KEY = 64

# Takes a successful attempt back: decrement while the window lasts, never create a key
# (a DECR on an expired key would leave -1 without an expiry).
_REFUND = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def retry_message(seconds: int) -> str:
    if seconds <= 90:
        return _("Too many failed attempts. Try again in %(s)s seconds.", s=seconds)
    return _("Too many failed attempts. Try again in %(m)s minutes.", m=math.ceil(seconds / 60))


class LoginRateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._refund = redis.register_script(_REFUND)

    @staticmethod
    def _name(username: str) -> str:
        return username.strip().lower()[:_MAX_NAME_IN_KEY]

    def _login_keys(self, username: str, address: str) -> tuple[str, str, str]:
        name = self._name(username)
        return (
            f"portal:login-attempts:pair:{name}:{address}",
            f"portal:login-attempts:addr:{address}",
            f"portal:login-attempts:user:{name}",
        )

    async def _count(self, *limits: tuple[str, int, int]) -> Verdict:
        """Count one attempt on each (key, window, limit); refused if any is now over its limit."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for key, window, _limit in limits:
                # The window starts at the first attempt and later ones do not extend it
                # (SET NX EX rather than EXPIRE NX, which the embedded Redis 6.2 lacks).
                pipe.set(key, 0, ex=window, nx=True)
                pipe.incr(key)
                pipe.ttl(key)
            results = await pipe.execute()
        waits = [
            max(int(ttl), 1) if int(ttl) > 0 else window
            for (_key, window, limit), count, ttl in zip(limits, results[1::3], results[2::3], strict=True)
            if int(count) > limit
        ]
        return Verdict(allowed=False, retry_after=max(waits)) if waits else Verdict(allowed=True)

    async def login_attempt(self, username: str, address: str) -> Verdict:
        """Count a login attempt before its password is checked; refused ones check nothing."""
        pair, addr, user = self._login_keys(username, address)
        verdict = await self._count(
            (pair, WINDOW_SECONDS, MAX_ATTEMPTS_PER_PAIR), (addr, WINDOW_SECONDS, MAX_ATTEMPTS_PER_ADDRESS)
        )
        if not verdict.allowed:
            return verdict
        return await self._count((user, ACCOUNT_WINDOW_SECONDS, MAX_ATTEMPTS_PER_ACCOUNT))

    async def login_succeeded(self, username: str, address: str) -> None:
        await self._refund(keys=list(self._login_keys(username, address)))

    @staticmethod
    def _password_change_key(user_id: int) -> str:
        return f"portal:password-change-attempts:{user_id}"

    async def password_change_attempt(self, user_id: int) -> Verdict:
        """Count a guess of the current password before it is checked."""
        key = self._password_change_key(user_id)
        return await self._count((key, PASSWORD_CHANGE_WINDOW_SECONDS, MAX_PASSWORD_CHANGE_FAILURES))

    async def password_change_succeeded(self, user_id: int) -> None:
        await self.redis.delete(self._password_change_key(user_id))
