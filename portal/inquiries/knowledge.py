"""The knowledge base (知识库 / FAQ): answered inquiries become question-and-answer entries
that staff reuse while answering and citizens read on the public page ``/faq``.

Who does what:

- readers: every signed-in user (all are staff of the centre or its departments) sees the
  staff list, every entry and its history;
- editors: administrators, managers and members of an inquiries board, and department
  liaisons for their own department's entries, write entries and turn an answered inquiry
  they may work into a draft entry;
- approvers: administrators and managers of an inquiries board approve (publish) and retire.

An entry is a draft, approved (published and offered while answering) or retired (withdrawn,
kept for the record). Every save, approval and retirement is kept as a ``FaqVersion``; an
editor's change to an approved entry makes it a draft again, so nothing unapproved is ever
public. Each entry carries a review date (复核日期): past it, staff see it flagged "review
due" — it stays public while approved, since an answer that is due for a look is still the
best one there is until someone changes it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Annotated, Any

from piccolo.query import WhereRaw
from pydantic import Field, ValidationInfo, field_validator

from portal.accounts.tables import Department, Role
from portal.boards.access import BoardAccess, access_for
from portal.boards.tables import BoardMember, BoardRole
from portal.cards.schemas import CONTROL_CHARACTERS
from portal.cards.tables import Card
from portal.core.choices import INQUIRY_CATEGORIES
from portal.core.errors import Conflict, NotFound, PermissionDenied
from portal.core.forms import FormError, valid_id
from portal.core.identity import CurrentUser
from portal.core.labels import mask_numbers
from portal.core.schemas import Input
from portal.db import is_sqlite, write_transaction
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.inquiries import knowledge_search
from portal.inquiries.kind import KIND
from portal.inquiries.knowledge_tables import FaqEntry, FaqStatus, FaqVersion
from portal.inquiries.tables import InquiryDetail
from portal.settings import get_settings

QUESTION_MAX, ANSWER_MAX = 200, 5000
REVIEW_AFTER_DAYS = 180  # a new entry's review date: policies change about twice a year
REVIEW_HORIZON_DAYS = 5 * 366  # a review date further out is a typo
CANDIDATES_MAX = 500  # entries read for ranking one search (the base holds hundreds)
PUBLIC_PAGE = 50
OFFERED_LIMIT = 8
Category = INQUIRY_CATEGORIES.literal()

READER, EDITOR, APPROVER = "reader", "editor", "approver"


def today() -> date:
    return datetime.now(UTC).astimezone(get_settings().tz).date()


class EntryInput(Input):
    question: Annotated[str, Field(min_length=1, max_length=QUESTION_MAX)]
    answer: Annotated[str, Field(min_length=1, max_length=ANSWER_MAX)]
    category: Category | None = None  # type: ignore[valid-type]
    review_at: date | None = None
    department: Annotated[int, Field(gt=0, lt=2**31)] | None = None
    version: Annotated[int, Field(ge=0, lt=2**31)] | None = None  # the version the editor saw (a stale save is refused)

    messages = {
        "question": _l("Write the question: 1 to 200 characters."),
        "answer": _l("Write the answer: 1 to 5000 characters."),
        "category": _l("Choose a category."),
        "review_at": _l("Enter the review date as a date, like 2027-06-30."),
        "department": _l("Choose a department."),
    }

    @field_validator("question")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if CONTROL_CHARACTERS.search(value):
            raise ValueError(_("A question is one line of text, without line breaks or control characters."))
        return value

    @field_validator("review_at")
    @classmethod
    def _review_date(cls, value: date | None, info: ValidationInfo) -> date | None:
        # A stored date that has passed may be kept (a typo fixed on an entry due for review);
        # a new one must lie ahead, within a few years.
        if value is None or value == (info.context or {}).get("current_review_at"):
            return value
        now = today()
        if value < now:
            raise ValueError(_("The review date cannot be in the past."))
        if value > now + timedelta(days=REVIEW_HORIZON_DAYS):
            raise ValueError(_("Choose a review date within the next five years."))
        return value


def is_answered(column: dict[str, Any]) -> bool:
    """Whether an inquiry has been answered (its loop's state, which is its column) and so
    may become an entry."""
    from portal.inquiries.workflow import state_of

    return state_of(column) in ("answered", "closed")


# Who may do what ---------------------------------------------------------------------------


async def knowledge_role(user: CurrentUser) -> str:
    """READER, EDITOR or APPROVER (by the user's place on the inquiries boards)."""
    if user.is_admin:
        return APPROVER
    roles = {
        row["role"]
        for row in await BoardMember.select(BoardMember.role).where(
            (BoardMember.user == user.id)
            & (BoardMember.board.kind == KIND.name)
            & (BoardMember.board.archived == False)  # noqa: E712
        )
    }
    if not roles or user.role == Role.viewer:
        return READER
    if user.role == Role.liaison:
        # Liaisons answer for their department: they write its entries, never approve.
        return EDITOR if user.department_id is not None and roles - {BoardRole.viewer} else READER
    if BoardRole.manager in roles:
        return APPROVER
    return EDITOR if BoardRole.member in roles else READER


def may_edit(user: CurrentUser, role: str, entry: dict[str, Any] | None) -> bool:
    if role == READER:
        return False
    if user.role == Role.liaison:
        return entry is None or entry.get("department") == user.department_id
    return True


async def _require_editor(user: CurrentUser, entry: dict[str, Any] | None = None) -> str:
    role = await knowledge_role(user)
    if not may_edit(user, role, entry):
        raise PermissionDenied
    return role


def _liaison_department(user: CurrentUser, form: EntryInput) -> None:
    if user.role == Role.liaison and form.department != user.department_id:
        raise FormError({"department": _("You may only write your own department's entries.")})


async def _require_approver(user: CurrentUser) -> None:
    if await knowledge_role(user) != APPROVER:
        raise PermissionDenied


# Reading ---------------------------------------------------------------------------------------

_STAFF_COLUMNS = (
    FaqEntry.id,
    FaqEntry.question,
    FaqEntry.answer,
    FaqEntry.category,
    FaqEntry.status,
    FaqEntry.review_at,
    FaqEntry.source_card,
    FaqEntry.source_card.board.as_alias("source_board"),
    FaqEntry.department,
    FaqEntry.department.name_zh.as_alias("department_zh"),
    FaqEntry.department.name_en.as_alias("department_en"),
    FaqEntry.version,
    FaqEntry.view_count,
    FaqEntry.created_at,
    FaqEntry.created_by.display_name.as_alias("created_by_name"),
    FaqEntry.updated_at,
    FaqEntry.updated_by.display_name.as_alias("updated_by_name"),
    FaqEntry.approved_at,
    FaqEntry.approved_by.display_name.as_alias("approved_by_name"),
)
# What the public sees: no staff, no source inquiry, no internal dates.
_PUBLIC_COLUMNS = (
    FaqEntry.id,
    FaqEntry.question,
    FaqEntry.answer,
    FaqEntry.category,
    FaqEntry.department.name_zh.as_alias("department_zh"),
    FaqEntry.department.name_en.as_alias("department_en"),
    FaqEntry.view_count,
    FaqEntry.updated_at,
)


def _flag(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = today()
    for row in rows:
        row["review_due"] = row["review_at"] is not None and row["review_at"] < now
    return rows


def _like(words: list[str]) -> WhereRaw:
    """Question or answer contains any of ``words`` literally (% and _ are not wildcards):
    the candidates ``knowledge_search.rank`` then orders."""
    operator = "LIKE" if is_sqlite() else "ILIKE"
    clauses, values = [], []
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        for name in ("question", "answer"):
            clauses.append(f"faq_entry.{name} {operator} {{}} ESCAPE '\\'")
            values.append(pattern)
    return WhereRaw("(" + " OR ".join(clauses) + ")", *values)


async def _search(query, q: str, limit: int | None, loose: bool = False) -> list[dict[str, Any]]:
    q = knowledge_search.normalize(q)
    if not q:
        rows = await query.order_by(FaqEntry.updated_at, ascending=False).order_by(FaqEntry.id, ascending=False)
        return rows[:limit] if limit else rows
    words = knowledge_search.terms(q)
    rows = await query.where(_like([q, *words])).limit(CANDIDATES_MAX)
    return knowledge_search.rank(rows, q, limit, loose=loose)


async def list_entries(
    user: CurrentUser, *, q: str = "", status: str = "", category: str = "", review_due: bool = False
) -> list[dict[str, Any]]:
    """The staff list: every entry (drafts and retired ones too), filtered; best match first
    when searching, else the most recently changed."""
    await knowledge_role(user)
    query = FaqEntry.select(*_STAFF_COLUMNS)
    if status in FaqStatus.__members__:
        query = query.where(FaqEntry.status == status)
    if category in INQUIRY_CATEGORIES:
        query = query.where(FaqEntry.category == category)
    if review_due:
        query = query.where(FaqEntry.review_at < today())
    return _flag(await _search(query, q, None))


async def get_entry(user: CurrentUser, entry_id: int) -> dict[str, Any]:
    await knowledge_role(user)
    if not valid_id(entry_id):
        raise NotFound
    row = await FaqEntry.select(*_STAFF_COLUMNS).where(FaqEntry.id == entry_id).first()
    if row is None:
        raise NotFound
    return _flag([row])[0]


async def history(user: CurrentUser, entry_id: int) -> list[dict[str, Any]]:
    await get_entry(user, entry_id)
    return await (
        FaqVersion.select(
            FaqVersion.version,
            FaqVersion.question,
            FaqVersion.answer,
            FaqVersion.category,
            FaqVersion.status,
            FaqVersion.review_at,
            FaqVersion.saved_at,
            FaqVersion.saved_by.display_name.as_alias("saved_by"),
        )
        .where(FaqVersion.entry == entry_id)
        .order_by(FaqVersion.version, ascending=False)
        .order_by(FaqVersion.id, ascending=False)
    )


async def departments() -> list[dict[str, Any]]:
    return await Department.select(Department.id, Department.name_zh, Department.name_en).where(
        Department.active == True  # noqa: E712
    )


async def offered(q: str, limit: int = OFFERED_LIMIT, *, loose: bool = False) -> list[dict[str, Any]]:
    """Approved entries matching ``q``, for staff answering an inquiry (``loose``: sharing
    any word with it, for suggestions from the inquiry's title)."""
    query = FaqEntry.select(*_STAFF_COLUMNS).where(FaqEntry.status == FaqStatus.approved)
    return _flag(await _search(query, q, limit, loose)) if knowledge_search.normalize(q) else []


# The public page -------------------------------------------------------------------------------


async def public_entries(q: str = "", category: str = "", limit: int = PUBLIC_PAGE) -> list[dict[str, Any]]:
    """Approved entries only (whatever their review date), best match first."""
    query = FaqEntry.select(*_PUBLIC_COLUMNS).where(FaqEntry.status == FaqStatus.approved)
    if category in INQUIRY_CATEGORIES:
        query = query.where(FaqEntry.category == category)
    if not knowledge_search.normalize(q):
        # Browsing: the most read first, as a city's FAQ page lists its common questions.
        return (
            await query.order_by(FaqEntry.view_count, ascending=False)
            .order_by(FaqEntry.id, ascending=False)
            .limit(limit)
        )
    return await _search(query, q, limit)


async def public_categories() -> list[dict[str, Any]]:
    """The categories that have approved entries, with how many, in the choices' order."""
    counts: dict[str, int] = {}
    for row in await FaqEntry.select(FaqEntry.category).where(FaqEntry.status == FaqStatus.approved):
        if row["category"]:
            counts[row["category"]] = counts.get(row["category"], 0) + 1
    return [
        {"value": value, "label": label, "count": counts[value]}
        for value, label in INQUIRY_CATEGORIES.options()
        if value in counts
    ]


async def public_entry(entry_id: int) -> dict[str, Any]:
    """One approved entry, its view counted; NotFound for anything else (a draft, a retired
    entry) exactly as for one that does not exist."""
    if not valid_id(entry_id):
        raise NotFound
    where = (FaqEntry.id == entry_id) & (FaqEntry.status == FaqStatus.approved)
    row = await FaqEntry.select(*_PUBLIC_COLUMNS).where(where).first()
    if row is None:
        raise NotFound
    await FaqEntry.update({FaqEntry.view_count: FaqEntry.view_count + 1}).where(where)
    return row


# Writing ---------------------------------------------------------------------------------------


def _values(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ("question", "answer", "category", "status", "review_at")}


async def _version_row(entry_id: int, version: int, values: dict[str, Any], user: CurrentUser, at: datetime) -> None:
    await FaqVersion.insert(FaqVersion(entry=entry_id, version=version, saved_by=user.id, saved_at=at, **values))


async def _check_department(department: int | None) -> None:
    if department is not None and not await Department.exists().where(
        (Department.id == department) & (Department.active == True)  # noqa: E712
    ):
        raise FormError({"department": _("Choose a department.")})


async def _insert(user: CurrentUser, values: dict[str, Any], department: int | None, source_card: int | None) -> int:
    now = datetime.now(UTC)
    async with write_transaction():
        rows = await FaqEntry.insert(
            FaqEntry(
                **values,
                department=department,
                source_card=source_card,
                version=1,
                created_by=user.id,
                created_at=now,
                updated_by=user.id,
                updated_at=now,
            )
        ).returning(FaqEntry.id)
        entry_id = rows[0]["id"]
        await _version_row(entry_id, 1, values, user, now)
    return entry_id


async def create_entry(user: CurrentUser, form: EntryInput) -> int:
    """An entry written by hand: a draft (an approver's is approved only by approving it)."""
    await _require_editor(user)
    _liaison_department(user, form)
    await _check_department(form.department)
    values = {
        "question": form.question,
        "answer": form.answer,
        "category": form.category,
        "status": FaqStatus.draft,
        "review_at": form.review_at or today() + timedelta(days=REVIEW_AFTER_DAYS),
    }
    return await _insert(user, values, form.department, None)


async def inquiry_access(user: CurrentUser, card_id: int) -> BoardAccess:
    """The viewer's access to an inquiry card; NotFound for a card she may not see or one
    that is not an inquiry."""
    if not valid_id(card_id):
        raise NotFound
    row = await Card.select(Card.board).where((Card.id == card_id) & (Card.archived == False)).first()  # noqa: E712
    if row is None:
        raise NotFound
    access = await access_for(user, row["board"])
    if access.board_kind != KIND.name:
        raise NotFound
    return access


async def inquiry(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """The inquiry as the knowledge section needs it (title, answer, category, whether it is
    answered, the entry made from it if any)."""
    card = (
        await Card.select(
            Card.id,
            Card.board,
            Card.title,
            Card.department,
            Card.assisting_departments,
            Card.column.key.as_alias("column_key"),
            Card.column.meaning.as_alias("column_meaning"),
        )
        .where((Card.id == card_id) & (Card.archived == False))  # noqa: E712
        .output(load_json=True)
        .first()
    )
    access.require_card(card)
    detail = (
        await InquiryDetail.select(InquiryDetail.answer, InquiryDetail.category)
        .where(InquiryDetail.card == card_id)
        .first()
    ) or {"answer": "", "category": None}
    card.update(detail)
    card["answered"] = is_answered({"key": card["column_key"], "meaning": card["column_meaning"]})
    card["entry"] = (
        await FaqEntry.select(FaqEntry.id, FaqEntry.status)
        .where((FaqEntry.source_card == card_id) & (FaqEntry.status != FaqStatus.retired))
        .order_by(FaqEntry.id, ascending=False)
        .first()
    )
    return card


async def create_from_inquiry(access: BoardAccess, card_id: int) -> int:
    """A draft entry from an answered inquiry: the question from the card's title (the body
    holds the citizen's own circumstances, often personal), the inquiry's answer, its
    category and department. Asked twice, the entry made the first time is the answer."""
    access.require_edit()
    card = await inquiry(access, card_id)
    if card["entry"]:
        return card["entry"]["id"]
    if not card["answered"]:
        raise Conflict(_("Only an answered inquiry can become a knowledge base entry."))
    answer = (card["answer"] or "").strip()
    if not answer:
        raise Conflict(_("This inquiry has no written answer yet."))
    # Every signed-in user reads the library (and approved entries go public): a citizen's
    # number in the case's title or answer is masked in the copy.
    question = " ".join(CONTROL_CHARACTERS.sub(" ", mask_numbers(card["title"])).split())[:QUESTION_MAX]
    values = {
        "question": question,
        "answer": mask_numbers(answer)[:ANSWER_MAX],
        "category": card["category"] if card["category"] in INQUIRY_CATEGORIES else None,
        "status": FaqStatus.draft,
        "review_at": today() + timedelta(days=REVIEW_AFTER_DAYS),
    }
    return await _insert(access.user, values, card["department"], card_id)


async def update_entry(user: CurrentUser, entry_id: int, form: EntryInput) -> int:
    """A new version (its number is returned). An editor's change to an approved or retired
    entry makes it a draft; an approver's keeps its status. Saving unchanged text writes
    nothing."""
    current = await get_entry(user, entry_id)
    role = await _require_editor(user, current)
    _liaison_department(user, form)
    await _check_department(form.department)
    async with write_transaction():
        current = await get_entry(user, entry_id)
        if form.version is not None and form.version != current["version"]:
            raise Conflict(_("Someone else changed this entry meanwhile: reload it to see their version."))
        values = {
            "question": form.question,
            "answer": form.answer,
            "category": form.category,
            "review_at": form.review_at,
            "status": current["status"],
        }
        if values == _values(current) and form.department == current["department"]:
            return current["version"]  # an unchanged save changes nothing (nor unpublishes it)
        if role != APPROVER:
            values["status"] = FaqStatus.draft  # an editor's change waits for approval

        version = current["version"] + 1
        now = datetime.now(UTC)
        await _update_version(
            entry_id,
            current["version"],
            {
                FaqEntry.question: values["question"],
                FaqEntry.answer: values["answer"],
                FaqEntry.category: values["category"],
                FaqEntry.review_at: values["review_at"],
                FaqEntry.status: values["status"],
                FaqEntry.department: form.department,
                FaqEntry.version: version,
                FaqEntry.updated_by: user.id,
                FaqEntry.updated_at: now,
            },
        )
        await _version_row(entry_id, version, values, user, now)
    return version


async def _set_status(user: CurrentUser, entry_id: int, status: FaqStatus, seen: int | None = None) -> int:
    await _require_approver(user)
    async with write_transaction():
        current = await get_entry(user, entry_id)
        if seen is not None and seen != current["version"]:
            # Approving what one did not see would publish someone else's new text unread.
            raise Conflict(_("Someone else changed this entry meanwhile: reload it to see their version."))
        if current["status"] == status:
            return current["version"]
        version = current["version"] + 1
        now = datetime.now(UTC)
        changes: dict[Any, Any] = {
            FaqEntry.status: status,
            FaqEntry.version: version,
            FaqEntry.updated_by: user.id,
            FaqEntry.updated_at: now,
        }
        if status == FaqStatus.approved:
            changes.update({FaqEntry.approved_by: user.id, FaqEntry.approved_at: now})
        await _update_version(entry_id, current["version"], changes)
        await _version_row(entry_id, version, {**_values(current), "status": status}, user, now)
    return version


async def _update_version(entry_id: int, version: int, changes: dict[Any, Any]) -> None:
    """The update, only if the entry is still at the version read: two saves at once cannot
    both become the next version (the second gets a 409)."""
    updated = (
        await FaqEntry.update(changes)
        .where((FaqEntry.id == entry_id) & (FaqEntry.version == version))
        .returning(FaqEntry.id)
    )
    if not updated:
        raise Conflict(_("Someone else changed this entry meanwhile: reload it to see their version."))


async def approve(user: CurrentUser, entry_id: int, seen: int | None = None) -> int:
    """Publish the current text (recorded as a version of its own: who approved what, when);
    ``seen``: the version the approver read."""
    return await _set_status(user, entry_id, FaqStatus.approved, seen)


async def retire(user: CurrentUser, entry_id: int, seen: int | None = None) -> int:
    """Withdraw it from the public page and from answering; the history stays."""
    return await _set_status(user, entry_id, FaqStatus.retired, seen)


# The demo city -----------------------------------------------------------------------------------


async def seed_demo_entries(departments: dict[str, int]) -> int:
    """Approved entries of the demo city (``faq_demo.json``; ``departments`` by code), matched
    by question: running it twice adds nothing. Returns how many were created."""
    from portal.core.identity import SYSTEM

    text = resources.files("portal.inquiries").joinpath("faq_demo.json").read_text(encoding="utf-8")
    created = 0
    for spec in json.loads(text)["entries"]:
        if await FaqEntry.exists().where(FaqEntry.question == spec["question"]):
            continue
        values = {
            "question": spec["question"],
            "answer": spec["answer"],
            "category": spec.get("category"),
            "status": FaqStatus.approved,
            "review_at": today() + timedelta(days=spec.get("review_in_days", REVIEW_AFTER_DAYS)),
        }
        entry_id = await _insert(SYSTEM, values, departments.get(spec.get("department", "")), None)
        await FaqEntry.update(
            {FaqEntry.view_count: spec.get("views", 0), FaqEntry.approved_at: datetime.now(UTC)}
        ).where(FaqEntry.id == entry_id)
        created += 1
    return created
