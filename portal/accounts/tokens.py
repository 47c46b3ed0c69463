"""Personal access tokens for the JSON API: made on the account page or with
`portal create-token`, shown once, stored as a SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.accounts.services import CurrentUser, NotFound, get_active_user
from portal.accounts.tables import PersonalToken
from portal.core.forms import FormError
from portal.events import services as events
from portal.i18n import gettext as _

TOKEN_PREFIX = "pt_"  # noqa: S105  (a marker, not a secret)
MAX_TOKENS_PER_USER = 20
# Writing "last used" on every request would make each API call a write: once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(actor: CurrentUser, name: str, ip: str = "") -> str:
    """A new token for the actor; the only time its value is known."""
    name = name.strip()
    if not name or len(name) > 80:
        raise FormError({"name": _("Name the token (at most 80 characters), e.g. the script that uses it.")})
    active = await PersonalToken.count().where((PersonalToken.user == actor.id) & PersonalToken.revoked_at.is_null())
    if active >= MAX_TOKENS_PER_USER:
        raise FormError({"name": _("You have too many tokens; revoke one first.")})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    rows = await PersonalToken.insert(
        PersonalToken(user=actor.id, name=name, token_hash=_digest(token), prefix=token[:10])
    )
    await events.record(
        "token.created", actor_id=actor.id, object_type="token", object_id=rows[0]["id"], payload={"name": name}, ip=ip
    )
    return token


async def list_tokens(actor: CurrentUser) -> list[dict[str, Any]]:
    return (
        await PersonalToken.select(
            PersonalToken.id,
            PersonalToken.name,
            PersonalToken.prefix,
            PersonalToken.created_at,
            PersonalToken.last_used_at,
            PersonalToken.revoked_at,
        )
        .where(PersonalToken.user == actor.id)
        .order_by(PersonalToken.id, ascending=False)
    )


async def revoke_token(actor: CurrentUser, token_id: int, ip: str = "") -> None:
    rows = (
        await PersonalToken.update({PersonalToken.revoked_at: datetime.now(UTC)})
        .where((PersonalToken.id == token_id) & (PersonalToken.user == actor.id) & PersonalToken.revoked_at.is_null())
        .returning(PersonalToken.id)
    )
    if not rows:
        raise NotFound
    await events.record("token.revoked", actor_id=actor.id, object_type="token", object_id=token_id, ip=ip)


async def user_for_token(token: str) -> CurrentUser | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, disabled)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = (
        await PersonalToken.select(PersonalToken.id, PersonalToken.user, PersonalToken.last_used_at)
        .where((PersonalToken.token_hash == _digest(token)) & PersonalToken.revoked_at.is_null())
        .first()
    )
    if row is None:
        return None
    now = datetime.now(UTC)
    if row["last_used_at"] is None or now - row["last_used_at"] > LAST_USED_RESOLUTION:
        await PersonalToken.update({PersonalToken.last_used_at: now}).where(PersonalToken.id == row["id"])
    return await get_active_user(row["user"])
