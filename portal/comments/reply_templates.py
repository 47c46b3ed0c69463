"""Reply templates (口径库): the house-style answers replies are written from.

Who works on them: the people who reply to comments, that is administrators and those who
are a manager or a member of a comments board (not leaders, who only read boards, nor
department liaisons). Members write drafts; managers approve them (draft → approved). Every
save is kept as a ``ReplyTemplateVersion`` (the version number bumps); a member's change to
an approved template makes it a draft again, so nothing unapproved is ever offered.

While replying, only approved templates within their validity (valid from / until) are
offered, with their placeholders filled for the comment: {称呼} the comment's author,
{部门} the board's department, {日期} today; any other ({电话} …) is left for the writer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from piccolo.query import WhereRaw
from pydantic import Field, ValidationInfo, field_validator

from portal.accounts.tables import Department, Role
from portal.boards.tables import Board, BoardMember, BoardRole
from portal.cards.schemas import CONTROL_CHARACTERS, local_datetime
from portal.comments.kind import KIND
from portal.comments.tables import ReplyTemplate, ReplyTemplateVersion, TemplateStatus
from portal.core.errors import NotFound, PermissionDenied
from portal.core.forms import FormError, valid_id
from portal.core.identity import CurrentUser
from portal.core.schemas import Input
from portal.db import is_sqlite, write_transaction
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings

PLACEHOLDER = re.compile(r"\{([^{}\s]{1,10})\}")
TITLE_MAX, BODY_MAX, CATEGORY_MAX = 80, 2000, 20
OFFERED_LIMIT = 10


class TemplateInput(Input):
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
    category: Annotated[str, Field(max_length=CATEGORY_MAX)] = ""
    body: Annotated[str, Field(min_length=1, max_length=BODY_MAX)]
    department: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    status: Literal["draft", "approved"] | None = None  # honoured for managers only

    messages = {
        "title": _l("Enter a title of at most 80 characters."),
        "category": _l("Use at most 20 characters for the category."),
        "body": _l("Write the template's text: 1 to 2000 characters."),
        "department": _l("Choose a department."),
        "status": _l("Choose draft or approved."),
    }

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if CONTROL_CHARACTERS.search(value):
            raise ValueError(_("A title is one line of text, without line breaks or control characters."))
        return value

    @field_validator("valid_from", "valid_until", mode="before")
    @classmethod
    def _local(cls, value: Any) -> Any:
        return local_datetime(value)

    @field_validator("valid_until")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value <= start:
            raise ValueError(_("“Valid until” must be after “valid from”."))
        return value


# Who may work on templates ----------------------------------------------------------------


async def template_role(user: CurrentUser) -> str:
    """ "manager" (may approve) or "member" (may write drafts); PermissionDenied otherwise."""
    if user.is_admin:
        return BoardRole.manager
    if user.role in (Role.viewer, Role.liaison):
        raise PermissionDenied
    roles = {
        row["role"]
        for row in await BoardMember.select(BoardMember.role).where(
            (BoardMember.user == user.id)
            & (BoardMember.board.kind == KIND.name)
            & (BoardMember.board.archived == False)  # noqa: E712
        )
    }
    if BoardRole.manager in roles:
        return BoardRole.manager
    if BoardRole.member in roles:
        return BoardRole.member
    raise PermissionDenied


def _is_expired(row: dict[str, Any], now: datetime) -> bool:
    return row["valid_until"] is not None and row["valid_until"] <= now


def _not_yet(row: dict[str, Any], now: datetime) -> bool:
    return row["valid_from"] is not None and row["valid_from"] > now


def _matching(q: str) -> WhereRaw:
    """Title, text or category contain ``q`` literally (% and _ are not wildcards)."""
    pattern = "%" + q[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    operator = "LIKE" if is_sqlite() else "ILIKE"
    clauses = [f"reply_template.{name} {operator} {{}} ESCAPE '\\'" for name in ("title", "body", "category")]
    return WhereRaw("(" + " OR ".join(clauses) + ")", *[pattern] * len(clauses))


_LIST_COLUMNS = (
    ReplyTemplate.id,
    ReplyTemplate.title,
    ReplyTemplate.category,
    ReplyTemplate.body,
    ReplyTemplate.status,
    ReplyTemplate.department,
    ReplyTemplate.department.name_zh.as_alias("department_zh"),
    ReplyTemplate.department.name_en.as_alias("department_en"),
    ReplyTemplate.valid_from,
    ReplyTemplate.valid_until,
    ReplyTemplate.version,
    ReplyTemplate.usage_count,
    ReplyTemplate.updated_at,
)


async def list_templates(
    user: CurrentUser, *, q: str = "", category: str = "", status: str = "", department: int | None = None
) -> list[dict[str, Any]]:
    """The library, newest change first; each row says whether it is expired (still listed,
    never offered) or not valid yet."""
    await template_role(user)
    query = ReplyTemplate.select(*_LIST_COLUMNS).where(ReplyTemplate.archived == False)  # noqa: E712
    if q:
        query = query.where(_matching(q))
    if category:
        query = query.where(ReplyTemplate.category == category[:CATEGORY_MAX])
    if status in (TemplateStatus.draft, TemplateStatus.approved):
        query = query.where(ReplyTemplate.status == status)
    if department is not None:
        query = query.where(ReplyTemplate.department == department)
    rows = await query.order_by(ReplyTemplate.updated_at, ascending=False).order_by(ReplyTemplate.id, ascending=False)
    now = datetime.now(UTC)
    for row in rows:
        row["expired"] = _is_expired(row, now)
        row["not_yet"] = _not_yet(row, now)
    return rows


async def categories() -> list[str]:
    rows = await ReplyTemplate.select(ReplyTemplate.category).where(ReplyTemplate.archived == False).distinct()  # noqa: E712
    return sorted({row["category"] for row in rows if row["category"]})


async def departments() -> list[dict[str, Any]]:
    return await Department.select(Department.id, Department.name_zh, Department.name_en).where(
        Department.active == True  # noqa: E712
    )


async def get_template(user: CurrentUser, template_id: int) -> dict[str, Any]:
    await template_role(user)
    if not valid_id(template_id):
        raise NotFound
    row = (
        await ReplyTemplate.select(*_LIST_COLUMNS)
        .where((ReplyTemplate.id == template_id) & (ReplyTemplate.archived == False))  # noqa: E712
        .first()
    )
    if row is None:
        raise NotFound
    row["expired"] = _is_expired(row, datetime.now(UTC))
    return row


async def history(user: CurrentUser, template_id: int) -> list[dict[str, Any]]:
    await get_template(user, template_id)
    return (
        await ReplyTemplateVersion.select(
            ReplyTemplateVersion.version,
            ReplyTemplateVersion.title,
            ReplyTemplateVersion.category,
            ReplyTemplateVersion.body,
            ReplyTemplateVersion.status,
            ReplyTemplateVersion.saved_at,
            ReplyTemplateVersion.saved_by.display_name.as_alias("saved_by"),
        )
        .where(ReplyTemplateVersion.template == template_id)
        .order_by(ReplyTemplateVersion.version, ascending=False)
        .order_by(ReplyTemplateVersion.id, ascending=False)
    )


async def _check_department(form: TemplateInput) -> None:
    if form.department is not None and not await Department.exists().where(
        (Department.id == form.department) & (Department.active == True)  # noqa: E712
    ):
        raise FormError({"department": _("Choose a department.")})


def _status(role: str, form: TemplateInput, current: str | None) -> str:
    """Managers choose; anyone else's save is a draft (to be approved again)."""
    if role == BoardRole.manager:
        return form.status or current or TemplateStatus.draft
    return TemplateStatus.draft


async def _version_row(template_id: int, version: int, values: dict[str, Any], user: CurrentUser) -> None:
    await ReplyTemplateVersion.insert(
        ReplyTemplateVersion(
            template=template_id,
            version=version,
            title=values["title"],
            category=values["category"],
            body=values["body"],
            status=values["status"],
            saved_by=user.id,
        )
    )


async def create_template(user: CurrentUser, form: TemplateInput) -> int:
    role = await template_role(user)
    await _check_department(form)
    values = {
        "title": form.title,
        "category": form.category,
        "body": form.body,
        "status": _status(role, form, None),
    }
    async with write_transaction():
        rows = await ReplyTemplate.insert(
            ReplyTemplate(
                **values,
                department=form.department,
                valid_from=form.valid_from,
                valid_until=form.valid_until,
                version=1,
                created_by=user.id,
            )
        ).returning(ReplyTemplate.id)
        template_id = rows[0]["id"]
        await _version_row(template_id, 1, values, user)
    return template_id


async def update_template(user: CurrentUser, template_id: int, form: TemplateInput) -> int:
    """A new version; returns its number."""
    role = await template_role(user)
    await _check_department(form)
    async with write_transaction():
        current = await get_template(user, template_id)
        values = {
            "title": form.title,
            "category": form.category,
            "body": form.body,
            "status": _status(role, form, current["status"]),
        }
        version = current["version"] + 1
        await ReplyTemplate.update(
            {
                ReplyTemplate.title: values["title"],
                ReplyTemplate.category: values["category"],
                ReplyTemplate.body: values["body"],
                ReplyTemplate.status: values["status"],
                ReplyTemplate.department: form.department,
                ReplyTemplate.valid_from: form.valid_from,
                ReplyTemplate.valid_until: form.valid_until,
                ReplyTemplate.version: version,
                ReplyTemplate.updated_at: datetime.now(UTC),
            }
        ).where(ReplyTemplate.id == template_id)
        await _version_row(template_id, version, values, user)
    return version


async def approve_template(user: CurrentUser, template_id: int) -> int:
    """A manager approves the current text: recorded as a version of its own (who approved
    what, and when, stays in the history)."""
    if await template_role(user) != BoardRole.manager:
        raise PermissionDenied
    async with write_transaction():
        current = await get_template(user, template_id)
        if current["status"] == TemplateStatus.approved:
            return current["version"]
        version = current["version"] + 1
        await ReplyTemplate.update(
            {
                ReplyTemplate.status: TemplateStatus.approved,
                ReplyTemplate.version: version,
                ReplyTemplate.updated_at: datetime.now(UTC),
            }
        ).where(ReplyTemplate.id == template_id)
        await _version_row(template_id, version, {**current, "status": TemplateStatus.approved}, user)
    return version


# While replying ----------------------------------------------------------------------------


def _offered(query, now: datetime):
    return query.where(
        (ReplyTemplate.archived == False)  # noqa: E712
        & (ReplyTemplate.status == TemplateStatus.approved)
        & (ReplyTemplate.valid_from.is_null() | (ReplyTemplate.valid_from <= now))
        & (ReplyTemplate.valid_until.is_null() | (ReplyTemplate.valid_until > now))
    )


async def offered(q: str = "", limit: int = OFFERED_LIMIT) -> list[dict[str, Any]]:
    """Approved templates valid now matching ``q``, most used first."""
    query = _offered(
        ReplyTemplate.select(ReplyTemplate.id, ReplyTemplate.title, ReplyTemplate.category, ReplyTemplate.body),
        datetime.now(UTC),
    )
    if q:
        query = query.where(_matching(q))
    return await query.order_by(ReplyTemplate.usage_count, ascending=False).order_by(ReplyTemplate.id).limit(limit)


async def offered_one(template_id: int | None) -> dict[str, Any] | None:
    """The template if it may be used now (approved, valid), else None."""
    if template_id is None or not valid_id(template_id):
        return None
    return (
        await _offered(
            ReplyTemplate.select(ReplyTemplate.id, ReplyTemplate.title, ReplyTemplate.body), datetime.now(UTC)
        )
        .where(ReplyTemplate.id == template_id)
        .first()
    )


async def placeholder_values(card: dict[str, Any], board_id: int, now: datetime | None = None) -> dict[str, str]:
    """What the known placeholders stand for on this comment."""
    board = await Board.select(Board.department.name_zh.as_alias("department")).where(Board.id == board_id).first()
    today = (now or datetime.now(UTC)).astimezone(get_settings().tz)
    values = {"日期": f"{today.year}年{today.month}月{today.day}日"}
    if card.get("author_handle"):
        values["称呼"] = card["author_handle"]
    if board and board.get("department"):
        values["部门"] = board["department"]
    return values


def fill(body: str, values: dict[str, str]) -> str:
    """Known placeholders replaced; unknown ones ({电话} …) left for the writer."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)


async def count_use(template_id: int | None) -> None:
    """A reply made from the template was sent (inside the sending unit)."""
    if template_id is not None:
        await ReplyTemplate.update({ReplyTemplate.usage_count: ReplyTemplate.usage_count + 1}).where(
            ReplyTemplate.id == template_id
        )
