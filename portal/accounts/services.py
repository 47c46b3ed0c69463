"""Accounts: authentication, users, departments. All reads and writes go through here."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from piccolo.querystring import QueryString

from portal.accounts.forms import DepartmentForm, UserForm, password_problem
from portal.accounts.tables import Department, Language, Role, User
from portal.core.errors import NotFound, PermissionDenied
from portal.core.forms import FormError
from portal.core.identity import CurrentUser
from portal.db import write_transaction
from portal.events import services as events
from portal.i18n import gettext as _
from portal.settings import get_settings

# Argon2id with the library's defaults (64 MiB, 3 passes). The test suite alone turns on a
# cheap profile (PORTAL_TEST_FAST_HASHING): it creates and logs in hundreds of users.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if get_settings().test_fast_hashing
    else PasswordHasher()
)


def _dummy_hash() -> str:
    """Verified against when the user name is unknown, so that a wrong name takes as long
    as a wrong password and response times do not reveal which accounts exist. It is written
    out with the hasher's parameters rather than hashed (an Argon2 verification's cost is set
    by the parameters in the hash): hashing one at import cost every process a noticeable
    part of its start, and hashing it at the first login would make that login slower."""
    salt = base64.b64encode(bytes(_hasher.salt_len)).rstrip(b"=").decode()
    digest = base64.b64encode(bytes(_hasher.hash_len)).rstrip(b"=").decode()
    return f"$argon2id$v=19$m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}${salt}${digest}"


_USER_FIELDS = (User.id, User.username, User.display_name, User.role, User.department, User.language)


def _current(row: dict[str, Any]) -> CurrentUser:
    return CurrentUser(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        department_id=row["department"],
        language=row["language"],
    )


# Argon2 takes tens of milliseconds of CPU on purpose. argon2-cffi releases the GIL while it
# works, so in a worker thread it leaves the event loop free for everyone else's requests.
async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_new_password(password: str, username: str) -> None:
    """The service's own check, whichever form or command the password came through."""
    if problem := password_problem(password, username):
        raise FormError({"password": problem})


async def authenticate(username: str, password: str, ip: str = "") -> CurrentUser | None:
    """The user, or None. A wrong name, a wrong password and a disabled account all cost the
    same work (one hash verification, one audit event), so timing does not reveal which
    accounts exist."""
    attempted = username.strip().lower()
    row = await User.select(*_USER_FIELDS, User.password_hash, User.active).where(User.username == attempted).first()
    matches = await _password_matches(row["password_hash"] if row else _dummy_hash(), password)
    if not (row and matches and row["active"]):
        reason = "unknown user" if not row else "wrong password" if not matches else "disabled"
        await events.record(
            "login.failed",
            actor_id=row["id"] if row else None,
            object_type="user",
            object_id=row["id"] if row else None,
            payload={"username": attempted[:100], "reason": reason},
            ip=ip,
        )
        return None
    updates: dict[Any, Any] = {User.last_login_at: datetime.now(UTC)}
    if _hasher.check_needs_rehash(row["password_hash"]):
        updates[User.password_hash] = await hash_password(password)
    await User.update(updates).where(User.id == row["id"])
    await events.record("login", actor_id=row["id"], object_type="user", object_id=row["id"], ip=ip)
    return _current(row)


async def get_active_user(user_id: int) -> CurrentUser | None:
    row = await User.select(*_USER_FIELDS).where((User.id == user_id) & (User.active == True)).first()  # noqa: E712
    return _current(row) if row else None


async def get_active_user_with(user_id: int, extra: QueryString, name: str) -> tuple[CurrentUser, Any] | None:
    """The active user and one more value computed in the same statement (``extra``, a
    scalar subquery over ``portal_user`` without parameters: the bell's count on every
    page), so each request pays one round trip for both. The statement is built once per
    process under ``name`` (``portal.core.prepared``): every signed-in page runs it, and
    building it cost more than running it."""
    from portal.core.prepared import prepared

    # Keyed by the extra's SQL too: a caller reusing a name with another subquery gets its own.
    statement = prepared(
        ("active user with", name, extra.template),
        lambda values: (
            User.select(*_USER_FIELDS, extra.as_alias("extra"))
            .where((User.id == values["user"]) & (User.active == True))  # noqa: E712
            .limit(1)
        ),
        ["user"],
    )
    rows = await statement.run({"user": user_id})
    return (_current(rows[0]), rows[0]["extra"]) if rows else None


def require_admin(actor: CurrentUser) -> None:
    if not actor.is_admin:
        raise PermissionDenied


# Users ---------------------------------------------------------------------------


async def list_users() -> list[dict[str, Any]]:
    return await User.select(
        User.id,
        User.username,
        User.display_name,
        User.title,
        User.email,
        User.role,
        User.active,
        User.last_login_at,
        User.department.id.as_alias("department_id"),
        User.department.name_zh.as_alias("department_zh"),
        User.department.name_en.as_alias("department_en"),
    ).order_by(User.id)


async def get_user(user_id: int) -> dict[str, Any]:
    row = (
        await User.select(
            User.id,
            User.username,
            User.display_name,
            User.title,
            User.email,
            User.role,
            User.active,
            User.department.as_alias("department_id"),
        )
        .where(User.id == user_id)
        .first()
    )
    if not row:
        raise NotFound
    return row


async def _check_department(department_id: int | None) -> None:
    if department_id is not None and not await Department.exists().where(
        (Department.id == department_id) & (Department.active == True)  # noqa: E712
    ):
        raise FormError({"department_id": _("Choose a department.")})


async def create_user(actor: CurrentUser, form: UserForm, ip: str = "") -> int:
    require_admin(actor)
    await _check_department(form.department_id)
    _check_new_password(form.password, form.username)
    # Hashed before the write transaction begins, so the slow part holds no lock.
    password_hash = await hash_password(form.password)
    async with write_transaction():
        if await User.exists().where(User.username == form.username):
            raise FormError({"username": _("This user name is taken.")})
        rows = await User.insert(
            User(
                username=form.username,
                display_name=form.display_name,
                title=form.title,
                email=form.email,
                role=form.role,
                department=form.department_id,
                password_hash=password_hash,
            )
        )
        user_id = rows[0]["id"]
        await events.record(
            "user.created",
            actor_id=actor.id,
            object_type="user",
            object_id=user_id,
            payload={"username": form.username, "role": form.role},
            ip=ip,
        )
    return user_id


async def create_user_unchecked(
    username: str, display_name: str, password: str, role: str, department_id: int | None = None, title: str = ""
) -> int:
    """For the command line and the demo seed, where there is no logged-in actor."""
    rows = await User.insert(
        User(
            username=username,
            display_name=display_name,
            title=title,
            role=role,
            department=department_id,
            password_hash=await hash_password(password),
        )
    )
    await events.record(
        "user.created",
        actor_id=None,
        object_type="user",
        object_id=rows[0]["id"],
        payload={"username": username, "role": role, "via": "cli"},
    )
    return rows[0]["id"]


async def update_user(actor: CurrentUser, user_id: int, form: UserForm, ip: str = "") -> None:
    require_admin(actor)
    before = await get_user(user_id)
    await _check_department(form.department_id)
    if user_id == actor.id and form.role != Role.admin:
        raise FormError({"role": _("You cannot take the administrator role from yourself.")})
    async with write_transaction():
        await User.update(
            {
                User.display_name: form.display_name,
                User.title: form.title,
                User.email: form.email,
                User.role: form.role,
                User.department: form.department_id,
            }
        ).where(User.id == user_id)
        changed = {k: v for k, v in {"role": form.role, "department_id": form.department_id}.items() if before[k] != v}
        await events.record(
            "user.updated", actor_id=actor.id, object_type="user", object_id=user_id, payload=changed, ip=ip
        )


async def set_user_active(actor: CurrentUser, user_id: int, active: bool, sessions, ip: str = "") -> None:
    require_admin(actor)
    await get_user(user_id)
    if user_id == actor.id and not active:
        raise FormError({"__all__": _("You cannot disable your own account.")})
    await User.update({User.active: active}).where(User.id == user_id)
    await events.record(
        "user.enabled" if active else "user.disabled", actor_id=actor.id, object_type="user", object_id=user_id, ip=ip
    )
    if not active:
        await sessions.delete_all_for_user(user_id)


async def reset_password(actor: CurrentUser, user_id: int, password: str, sessions, ip: str = "") -> None:
    require_admin(actor)
    user = await get_user(user_id)
    _check_new_password(password, user["username"])
    await User.update({User.password_hash: await hash_password(password)}).where(User.id == user_id)
    await events.record("user.password_reset", actor_id=actor.id, object_type="user", object_id=user_id, ip=ip)
    await sessions.delete_all_for_user(user_id)


async def change_own_password(actor: CurrentUser, current: str, new: str, ip: str = "") -> None:
    """Callers limit how often this is tried (LoginRateLimiter.password_change_attempt)."""
    _check_new_password(new, actor.username)
    row = await User.select(User.password_hash).where(User.id == actor.id).first()
    if not await _password_matches(row["password_hash"], current):
        raise FormError({"current_password": _("The current password is wrong.")})
    await User.update({User.password_hash: await hash_password(new)}).where(User.id == actor.id)
    await events.record("user.password_changed", actor_id=actor.id, object_type="user", object_id=actor.id, ip=ip)


async def set_language(actor: CurrentUser, language: str) -> None:
    await User.update({User.language: Language(language)}).where(User.id == actor.id)
    await events.record(
        "user.language", actor_id=actor.id, object_type="user", object_id=actor.id, payload={"language": language}
    )


# Departments ---------------------------------------------------------------------


async def list_departments(include_inactive: bool = False) -> list[dict[str, Any]]:
    query = Department.select().order_by(Department.id)
    if not include_inactive:
        query = query.where(Department.active == True)  # noqa: E712
    return await query


async def create_department(actor: CurrentUser, form: DepartmentForm, ip: str = "") -> int:
    require_admin(actor)
    async with write_transaction():
        if await Department.exists().where(Department.code == form.code):
            raise FormError({"code": _("This code is taken.")})
        rows = await Department.insert(Department(code=form.code, name_zh=form.name_zh, name_en=form.name_en))
        await events.record(
            "department.created",
            actor_id=actor.id,
            object_type="department",
            object_id=rows[0]["id"],
            payload={"code": form.code},
            ip=ip,
        )
    return rows[0]["id"]


async def update_department(
    actor: CurrentUser, department_id: int, form: DepartmentForm, active: bool, ip: str = ""
) -> None:
    require_admin(actor)
    if not await Department.exists().where(Department.id == department_id):
        raise NotFound
    await Department.update(
        {Department.name_zh: form.name_zh, Department.name_en: form.name_en, Department.active: active}
    ).where(Department.id == department_id)
    await events.record(
        "department.updated",
        actor_id=actor.id,
        object_type="department",
        object_id=department_id,
        payload={"active": active},
        ip=ip,
    )


async def department_choices() -> list[dict[str, Any]]:
    return (
        await Department.select(Department.id, Department.name_zh, Department.name_en)
        .where(
            Department.active == True  # noqa: E712
        )
        .order_by(Department.id)
    )


async def email_preferences(actor: CurrentUser) -> dict[str, Any]:
    row = await User.select(User.email, User.email_kinds).where(User.id == actor.id).output(load_json=True).first()
    return {"email": row["email"], "email_kinds": row["email_kinds"] or []}


async def set_email_preferences(actor: CurrentUser, email: str, kinds: list[str]) -> None:
    from portal.notifications.kinds import KINDS

    chosen = [kind for kind in KINDS if kind in kinds]
    await User.update({User.email: email, User.email_kinds: chosen}).where(User.id == actor.id)
    await events.record(
        "user.notifications", actor_id=actor.id, object_type="user", object_id=actor.id, payload={"email_kinds": chosen}
    )
