"""The questions people asked during a campaign (in a Q&A zone, a livestream's comments, under
a quiz): collected by the team while it runs and while it is reviewed, counted when asked
again, sent to a comments board as a card to be answered there, or made a reply template
(口径) when they keep coming back.

The same question asked again counts up its ``times`` instead of adding a row: questions are
compared without case, spaces and punctuation (“医保异地就医备案怎么办理？” and
“医保异地就医备案 怎么办理” are one question).

Every change goes through the campaign board's write path (event ``campaign.question``, the
card's version bumped so that the drawer's live section reloads). Sending a question makes a
card on another board through that board's own write (``portal.cards.services.create_card``,
as any new comment), then remembers it on the question; making a template goes through the
comments' reply template service (a draft, for a manager to approve).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from portal.boards.access import BoardAccess, access_for
from portal.boards.tables import Board, BoardMember, BoardRole
from portal.campaigns import workflow
from portal.campaigns.tables import CampaignDetail, CampaignQuestion
from portal.cards import services as cards
from portal.cards.schemas import local_datetime
from portal.cards.tables import Card
from portal.core.choices import CAMPAIGN_PLATFORMS
from portal.core.errors import Conflict, FormError, NotFound, PermissionDenied
from portal.core.forms import valid_id
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

TEXT_MAX = 500
ANSWER_MAX = 2000  # a reply template's text (portal.comments.reply_templates.BODY_MAX)
PASTE_MAX_LINES = 200
SECTION_LIMIT = 50  # the drawer lists the most asked; the review page's export has them all
LABEL = "活动提问"  # the label of the cards questions become on a comments board
COMMENTS = "comments"
# Questions are collected while the campaign runs and while it is reviewed.
COLLECTING = ("running", "review")
CLOCK_SKEW = timedelta(minutes=5)
# A pasted line's own numbering or bullet ("1. ", "2、", "（3）", "- ", "• ") is not the question.
_BULLET = re.compile(r"^\s*(?:[-*•·]\s*|[(（]?\d{1,3}[)）.．、](?!\d)\s*)")
# Control characters (tabs and line breaks aside: they are the text's own spacing and lines)
# and the characters no XML document may hold. Pasted along with a text they are invisible;
# kept, they would break the review's XLSX export. Refused at input, with a message.
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(value: str) -> str:
    """A text as typed: ValueError (a form's message) if it holds control characters."""
    if UNPRINTABLE.search(value):
        raise ValueError(_("Remove the control characters (invisible characters copied along with the text)."))
    return value


def normalised(text: str) -> str:
    """The question as compared: no case, no spaces, no punctuation or symbols, full-width
    forms folded (NFKC)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZSC")


def one_line(text: str) -> str:
    return " ".join(text.split())


# Input ------------------------------------------------------------------------------------


def _asked_at(value: Any) -> Any:
    value = local_datetime(value)
    if isinstance(value, datetime) and value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError(_("This cannot be in the future."))
    return value


class QuestionInput(Input):
    text: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
    platform: Annotated[str, Field(max_length=16)] | None = None
    asked_at: datetime | None = None

    messages = {
        "text": _l("Write the question: 1 to 500 characters."),
        "asked_at": _l("Enter a date and time like 2026-11-26 09:30."),
    }

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = one_line(printable(value))
        if not normalised(value):
            raise ValueError(_("Write the question: 1 to 500 characters."))
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _check_platform(value, info)

    @field_validator("asked_at", mode="before")
    @classmethod
    def _when(cls, value: Any) -> Any:
        return _asked_at(value)


class PasteInput(Input):
    """Many questions at once, one a line (a list copied from the livestream's comments)."""

    lines: Annotated[str, Field(min_length=1, max_length=PASTE_MAX_LINES * (TEXT_MAX + 2))]
    platform: Annotated[str, Field(max_length=16)] | None = None
    asked_at: datetime | None = None

    messages = {
        "lines": _l("Paste the questions, one a line."),
        "asked_at": _l("Enter a date and time like 2026-11-26 09:30."),
    }

    @field_validator("lines")
    @classmethod
    def _lines(cls, value: str) -> str:
        for number, line in enumerate(value.split("\n"), start=1):
            if UNPRINTABLE.search(line):
                raise ValueError(
                    _(
                        "Line %(number)s holds control characters (invisible characters copied along with the "
                        "text): remove them.",
                        number=number,
                    )
                )
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _check_platform(value, info)

    @field_validator("asked_at", mode="before")
    @classmethod
    def _when(cls, value: Any) -> Any:
        return _asked_at(value)

    def texts(self) -> list[str]:
        texts = []
        for number, line in enumerate(self.lines.splitlines(), start=1):
            text = one_line(_BULLET.sub("", line, count=1))
            if not normalised(text):
                continue
            if len(text) > TEXT_MAX:
                raise FormError({"lines": _("Line %(number)s is longer than 500 characters.", number=number)})
            texts.append(text)
        if not texts:
            raise FormError({"lines": _("Paste the questions, one a line.")})
        if len(texts) > PASTE_MAX_LINES:
            raise FormError({"lines": _("At most %(count)s questions at a time.", count=PASTE_MAX_LINES)})
        return texts


def _check_platform(value: str | None, info: ValidationInfo) -> str | None:
    """A platform the campaign runs on (``context["platforms"]``), or none."""
    if not value:
        return None
    chosen = (info.context or {}).get("platforms")
    if value not in CAMPAIGN_PLATFORMS.values or (chosen is not None and value not in chosen):
        raise ValueError(_("Choose one of the campaign's platforms."))
    return value


class SendInput(Input):
    board: int

    messages = {"board": _l("Choose a comments board you may work on.")}


class TemplateInput(Input):
    answer: Annotated[str, Field(min_length=1, max_length=ANSWER_MAX)]

    messages = {"answer": _l("Write the answer: 1 to 2000 characters.")}


# Reads ------------------------------------------------------------------------------------


_COLUMNS = (
    CampaignQuestion.id,
    CampaignQuestion.text,
    CampaignQuestion.platform,
    CampaignQuestion.asked_at,
    CampaignQuestion.times,
    CampaignQuestion.comment_card,
    CampaignQuestion.comment_card.board.as_alias("comment_board"),
    CampaignQuestion.comment_card.title.as_alias("comment_title"),
    CampaignQuestion.made_template,
    CampaignQuestion.created_by.display_name.as_alias("created_by_name"),
)


async def list_questions(card_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    """The campaign's questions, the most often asked first (then the earliest)."""
    query = (
        CampaignQuestion.select(*_COLUMNS)
        .where(CampaignQuestion.card == card_id)
        .order_by(CampaignQuestion.times, ascending=False)
        .order_by(CampaignQuestion.asked_at)
        .order_by(CampaignQuestion.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return await query


async def comment_boards(access: BoardAccess) -> list[dict[str, Any]]:
    """The comments boards this person may add cards to (the choice of where to send a
    question)."""
    user = access.user
    query = Board.select(Board.id, Board.name).where(
        (Board.kind == COMMENTS) & (Board.archived == False)  # noqa: E712
    )
    if not user.is_admin:
        if user.role == "viewer":
            return []
        mine = BoardMember.select(BoardMember.board).where(
            (BoardMember.user == user.id) & BoardMember.role.is_in([BoardRole.manager, BoardRole.member])
        )
        query = query.where(Board.id.is_in(mine))
    return await query.order_by(Board.id)


async def overview(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """Everything the drawer's 网友提问 section and the API show."""
    await workflow.campaign_access(access, card_id)
    card = await cards.get_card(access, card_id)
    state = workflow.state_of(await workflow.column_of(card["column"]))
    questions = await list_questions(card_id)
    return {
        "card": card,
        "state": state,
        "questions": questions,
        "shown": questions[:SECTION_LIMIT],
        "asked": sum(q["times"] for q in questions),
        "collecting": state in COLLECTING,
        "platforms": card.get("platforms") or [],
    }


async def may_make_templates(access: BoardAccess) -> bool:
    """Whether this person works on reply templates (portal.comments.reply_templates): the
    section offers "make a reply template" only then."""
    from portal.comments import reply_templates

    if not access.can_edit:
        return False
    try:
        await reply_templates.template_role(access.user)
    except PermissionDenied:
        return False
    return True


def question_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "text": row["text"],
        "platform": row["platform"],
        "asked_at": row["asked_at"].isoformat() if row["asked_at"] else None,
        "times": row["times"],
        "comment_card": row["comment_card"],
        "made_template": row["made_template"],
    }


# Writes -----------------------------------------------------------------------------------


async def _open(access: BoardAccess, card_id: int, *, collecting: bool) -> tuple[dict[str, Any], str]:
    """Inside the unit: the campaign as it is now, checked (``collecting``: a change to the
    list itself, only while the campaign runs or is reviewed)."""
    card = await cards.load_for_write(access, card_id)
    state = workflow.state_of(await workflow.column_of(card["column"]))
    if collecting and state not in COLLECTING:
        raise Conflict(
            _(
                "Questions are collected while the campaign runs or is reviewed; it is %(state)s.",
                state=workflow.STATES.label(state),
            )
        )
    return card, state


async def _changed(unit: BoardWrite, access: BoardAccess, card: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """The events, the card's new version, and the live update of its tile and drawer."""
    for payload in events:
        unit.record(EventKind.campaign_question, "card", card["id"], payload)
    now = datetime.now(UTC)
    await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card["id"])
    cards.after_card_write(unit, access, card)


async def _question(card_id: int, question_id: int) -> dict[str, Any]:
    if not valid_id(question_id):
        raise NotFound
    row = (
        await CampaignQuestion.select(*_COLUMNS)
        .where((CampaignQuestion.id == question_id) & (CampaignQuestion.card == card_id))
        .first()
    )
    if row is None:
        raise NotFound
    return row


async def _collect(
    card_id: int, texts: list[str], platform: str | None, asked_at: datetime, user_id: int | None
) -> list[dict[str, Any]]:
    """Add or count up each text (inside the caller's unit); the events' payloads."""
    existing = await CampaignQuestion.select(
        CampaignQuestion.id,
        CampaignQuestion.text,
        CampaignQuestion.platform,
        CampaignQuestion.asked_at,
    ).where(CampaignQuestion.card == card_id)
    known = {normalised(row["text"]): row for row in existing}
    events: list[dict[str, Any]] = []
    for text in texts:
        key = normalised(text)
        row = known.get(key)
        if row is None:
            inserted = await CampaignQuestion.insert(
                CampaignQuestion(
                    card=card_id, text=text, platform=platform, asked_at=asked_at, times=1, created_by=user_id
                )
            ).returning(CampaignQuestion.id)
            row = {"id": inserted[0]["id"], "text": text, "platform": platform, "asked_at": asked_at}
            known[key] = row
            events.append({"question": row["id"], "change": "added"})
            continue
        updates: dict[Any, Any] = {CampaignQuestion.times: CampaignQuestion.times + 1}
        if row["platform"] is None and platform is not None:
            updates[CampaignQuestion.platform] = row["platform"] = platform
        if asked_at < row["asked_at"]:
            # When it was first asked.
            updates[CampaignQuestion.asked_at] = row["asked_at"] = asked_at
        await CampaignQuestion.update(updates).where(CampaignQuestion.id == row["id"])
        events.append({"question": row["id"], "change": "counted"})
    return events


async def add_question(access: BoardAccess, card_id: int, payload: Any) -> dict[str, Any]:
    """Collect one question (or count it up if it was asked before): the question now."""
    await workflow.campaign_access(access, card_id)
    access.require_edit()
    card = await cards.get_card(access, card_id)
    form = parse(QuestionInput, payload, context={"platforms": card.get("platforms") or []})
    async with board_write(access.board_id, access.user.id) as unit:
        card, _state = await _open(access, card_id, collecting=True)
        events = await _collect(card_id, [form.text], form.platform, form.asked_at or datetime.now(UTC), access.user.id)
        await _changed(unit, access, card, events)
    question = await _question(card_id, events[0]["question"])
    return {**question, "counted": events[0]["change"] == "counted"}


async def paste_questions(access: BoardAccess, card_id: int, payload: Any) -> dict[str, int]:
    """Collect many questions, one a line: how many were new and how many counted up."""
    await workflow.campaign_access(access, card_id)
    access.require_edit()
    card = await cards.get_card(access, card_id)
    form = parse(PasteInput, payload, context={"platforms": card.get("platforms") or []})
    texts = form.texts()
    async with board_write(access.board_id, access.user.id) as unit:
        card, _state = await _open(access, card_id, collecting=True)
        events = await _collect(card_id, texts, form.platform, form.asked_at or datetime.now(UTC), access.user.id)
        await _changed(unit, access, card, events)
    added = sum(1 for event in events if event["change"] == "added")
    return {"added": added, "counted": len(events) - added}


async def remove_question(access: BoardAccess, card_id: int, question_id: int) -> None:
    """Take a question off the list (entered by mistake); a card it became stays where it is."""
    await workflow.campaign_access(access, card_id)
    access.require_edit()
    async with board_write(access.board_id, access.user.id) as unit:
        card, _state = await _open(access, card_id, collecting=True)
        await _question(card_id, question_id)
        await CampaignQuestion.delete().where(CampaignQuestion.id == question_id)
        await _changed(unit, access, card, [{"question": question_id, "change": "removed"}])


async def send_to_comments(access: BoardAccess, card_id: int, question_id: int, payload: Any) -> int:
    """Make the question a card on a comments board this person may work on (label 活动提问,
    received when it was first asked), to be answered there: the new card's id. Conflict when
    it was sent already; FormError for a board that is not a comments board this person may
    add cards to."""
    await workflow.campaign_access(access, card_id)
    access.require_edit()
    form = parse(SendInput, payload)
    question = await _question(card_id, question_id)
    if question["comment_card"] is not None:
        raise Conflict(_("This question was sent to a comments board already."))
    refused = FormError({"board": _("Choose a comments board you may work on.")})
    try:
        target = await access_for(access.user, form.board)
    except NotFound:
        raise refused from None
    if target.board_kind != COMMENTS or not target.can_edit:
        raise refused
    from portal.comments.intake_services import intake_column, title_of

    campaign = await cards.get_card(access, card_id)
    fields: dict[str, Any] = {
        "title": title_of(question["text"]),
        "body": _(
            "%(question)s\n\n(Asked %(times)s times during the campaign “%(campaign)s”.)",
            question=question["text"],
            times=question["times"],
            campaign=campaign["title"],
        )
        if question["times"] > 1
        else question["text"],
        "platform": question["platform"],
        "received_at": min(question["asked_at"], datetime.now(UTC)),
        "labels": [LABEL],
    }
    change = await cards.create_card(target, await intake_column(target.board_id), fields)
    try:
        async with board_write(access.board_id, access.user.id) as unit:
            card, _state = await _open(access, card_id, collecting=False)
            now = await _question(card_id, question_id)
            if now["comment_card"] is not None:
                raise Conflict(_("This question was sent to a comments board already."))
            await CampaignQuestion.update({CampaignQuestion.comment_card: change.card_id}).where(
                CampaignQuestion.id == question_id
            )
            await _changed(
                unit, access, card, [{"question": question_id, "change": "sent", "comment_card": change.card_id}]
            )
    except (Conflict, NotFound):
        # Sent by someone else a moment ago (or the question is gone): the card made for it
        # here would be a duplicate on the comments board.
        version = (await Card.select(Card.version).where(Card.id == change.card_id).first() or {}).get("version")
        await cards.archive_card(target, change.card_id, version)
        raise
    return change.card_id


async def make_template(access: BoardAccess, card_id: int, question_id: int, payload: Any) -> int:
    """A draft reply template (口径) from a question that keeps coming back: the question as
    its title, the answer the person writes as its text. Its id. Conflict when this question
    became a template already; PermissionDenied for someone who does not work on reply
    templates (portal.comments.reply_templates.template_role)."""
    from portal.comments import reply_templates

    await workflow.campaign_access(access, card_id)
    access.require_edit()
    form = parse(TemplateInput, payload)
    question = await _question(card_id, question_id)
    if question["made_template"]:
        raise Conflict(_("This question became a reply template already."))
    await reply_templates.template_role(access.user)  # PermissionDenied before anything is written
    title = question["text"]
    if len(title) > reply_templates.TITLE_MAX:
        title = title[: reply_templates.TITLE_MAX - 1].rstrip() + "…"
    try:
        template = parse(
            reply_templates.TemplateInput,
            {"title": title, "category": LABEL, "body": form.answer, "status": "draft"},
            form=False,
        )
    except FormError as error:
        raise FormError({"answer": next(iter(error.errors.values()))}) from None
    async with board_write(access.board_id, access.user.id) as unit:
        card, _state = await _open(access, card_id, collecting=False)
        now = await _question(card_id, question_id)
        if now["made_template"]:
            raise Conflict(_("This question became a reply template already."))
        await CampaignQuestion.update({CampaignQuestion.made_template: True}).where(CampaignQuestion.id == question_id)
        await _changed(unit, access, card, [{"question": question_id, "change": "templated"}])
    # The template's own transaction, after the question is marked: a failure here leaves the
    # mark to be undone below, never a second template for one question.
    try:
        return await reply_templates.create_template(access.user, template)
    except BaseException:
        await CampaignQuestion.update({CampaignQuestion.made_template: False}).where(CampaignQuestion.id == question_id)
        raise


# Demo -------------------------------------------------------------------------------------

_DEMO_QUESTIONS: dict[str, list[tuple[str, int]]] = {
    "医保": [
        ("医保异地就医备案怎么办理？", 9),
        ("门诊共济以后个人账户的钱还能给家人用吗？", 6),
        ("门诊慢特病新增了哪些病种，怎么申请认定？", 4),
        ("医保电子凭证在药店能直接刷吗？", 3),
        ("退休后医保缴费年限不够怎么办？", 2),
        ("异地就医直接结算的报销比例和本地一样吗？", 2),
        ("灵活就业人员可以参加职工医保吗？", 1),
    ],
    "防汛": [
        ("暴雨红色预警时学校停课吗？", 7),
        ("地下车库进水了车辆受损找谁理赔？", 5),
        ("哪里可以查到附近的应急避难场所？", 4),
        ("家里老人独居，汛期转移有人帮忙吗？", 2),
        ("被困电梯遇上停电该怎么自救？", 1),
    ],
    "反诈": [
        ("接到自称公检法的电话让转账到安全账户怎么办？", 8),
        ("国家反诈中心 App 怎么注册，会不会泄露隐私？", 5),
        ("被骗了钱还能追回来吗？报警要带什么材料？", 4),
        ("网上刷单返利是不是都是骗局？", 3),
        ("老人买保健品被骗，子女可以代为报案吗？", 1),
    ],
    "文明": [
        ("随手拍的问题多久能处理完，在哪里查进度？", 6),
        ("小区楼道堆放杂物可以拍吗，会不会暴露我的信息？", 4),
        ("投票结果什么时候公布？", 3),
        ("获奖的随手拍作品奖品怎么领取？", 2),
    ],
    "公积金": [
        ("租房提取公积金每年能提几次？", 5),
        ("多子女家庭贷款额度上浮需要什么证明？", 3),
        ("组合贷的公积金部分利率是多少？", 2),
    ],
}
_DEMO_GENERIC = [
    ("活动奖品什么时候发放？", 3),
    ("活动规则在哪里能看到完整版？", 2),
    ("没赶上直播，有回放吗？", 1),
]
_DEMO_REVIEW: dict[str, tuple[str, str]] = {
    "防汛": (
        "结合汛期预警节点推送题目，气象、应急部门专家审核题库，答题正确率从首周 62% 提升到 81%；"
        "“应急避难场所在哪里”等高频问题转为留言卡片后 24 小时内全部答复，并沉淀为 3 条口径。",
        "微博端参与偏低，话题预热只提前了 1 天，下次至少提前一周联动区县账号预热；"
        "奖品发放登记靠人工表格，核对耗时，下次用报名小程序统一登记。",
    ),
    "反诈": (
        "反诈民警真实案例讲解代入感强，直播峰值在线人数超出预期；"
        "连麦答疑环节互动最好，“接到公检法电话让转账怎么办”等问题现场答复后当晚整理成图解发布。",
        "直播中控评人手不足，个别引流广告留言未及时处理，下次安排两人轮值控评；"
        "抖音端新增关注未达目标，直播结束缺少关注引导话术和账号二维码。",
    ),
    "文明": (
        "三个平台同步征集，随手拍作品质量高，群众反映的 40 余个问题已转交城管、住建等部门办理并公开结果；"
        "投票环节设置实名校验，未出现刷票争议。",
        "办理进度只在公众号公布，抖音、微博网友多次询问，下次各平台同步更新进度；"
        "征集期过长，后半程参与明显下降，建议压缩到四周并在中期公布阶段成果。",
    ),
}
_DEMO_REVIEW_GENERIC = (
    "选题贴近群众关切，部门联动答复及时，高频问题及时转化为答复口径。",
    "预热时间偏短，各平台节奏不一致，下次提前统一排期并明确每个平台的负责人。",
)


def _demo_pick(card: dict[str, Any], table: dict[str, Any], fallback: Any) -> Any:
    text = f"{card.get('title') or ''}{card.get('theme') or ''}"
    return next((value for key, value in table.items() if key in text), fallback)


async def seed_questions(card_id: int, state: str, card: dict[str, Any], now: datetime) -> None:
    """The demo city's campaigns as the team would have left them: the questions collected
    while a campaign ran (running, review, archived), and the review written for those in
    review or archived. Written to the tables directly, as the rest of the demo."""
    if state not in ("running", "review", "archived"):
        return
    platforms = card.get("platforms") or []
    starts = card.get("starts_at") or now - timedelta(days=7)
    ends = min(card.get("ends_at") or now, now)
    if ends <= starts:
        ends = min(starts + timedelta(days=1), now)
    questions = _demo_pick(card, _DEMO_QUESTIONS, []) + _DEMO_GENERIC
    span = ends - starts
    rows = []
    for index, (text, times) in enumerate(questions):
        asked_at = starts + span * ((index * 7 % 10) + 1) / 12
        rows.append(
            CampaignQuestion(
                card=card_id,
                text=text,
                platform=platforms[index % len(platforms)] if platforms else None,
                asked_at=min(asked_at, now),
                times=times,
                created_by=card.get("assignee"),
                created_at=min(asked_at, now),
            )
        )
    await CampaignQuestion.insert(*rows)
    if state in ("review", "archived"):
        went_well, to_change = _demo_pick(card, _DEMO_REVIEW, _DEMO_REVIEW_GENERIC)
        await CampaignDetail.update({CampaignDetail.went_well: went_well, CampaignDetail.to_change: to_change}).where(
            CampaignDetail.card == card_id
        )
