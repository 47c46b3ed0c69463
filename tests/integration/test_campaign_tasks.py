"""A campaign's task checklist: the format's plan template on creation, its due times
following the campaign's dates (set later or moved) except where done or set by hand, the
team's own changes (with the tile's counters and the card's version), who may change it, bad
input, and the tasks' reminders through a real arq worker on a real Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from litestar.testing import AsyncTestClient

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.app import create_app
from portal.campaigns import plan_templates, task_reminders, tasks, workflow
from portal.campaigns.tables import CampaignDetail, CampaignTask
from portal.cards import services as cards
from portal.cards.forms import CardForm
from portal.cards.tables import Card
from portal.core.errors import Conflict, FormError, PermissionDenied
from portal.events import outbox
from portal.events.outbox import EffectContext
from portal.events.tables import Event
from portal.notifications.tables import Notification
from portal.settings import get_settings
from portal.sla import services as sla
from portal.sla.calendar import BusinessCalendar
from tests import factories
from tests.conftest import csrf_from, login
from workers.settings import send_task_reminder, sweep_task_reminders

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2031 has no holiday data in the calendar: its working days are the weekdays.
START = datetime(2031, 3, 10, 10, 0, tzinfo=SHANGHAI)  # a Monday
END = datetime(2031, 3, 21, 18, 0, tzinfo=SHANGHAI)  # a Friday
PEOPLE = {
    "zhangwei": ("member", "publicity", "member", "张伟"),  # the campaign's owner
    "lina": ("member", "publicity", "member", "李娜"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
    "hejianguo": ("viewer", "publicity", "viewer", "何建国"),
    "wangfang": ("liaison", "health", "member", "王芳"),
    "outsider": ("member", "health", "", "外单位"),
}


@pytest.fixture
async def world(clean_db):
    return await factories.board("campaigns", people=PEOPLE)


async def new_campaign(world, **fields) -> int:
    values = {
        "title": "“医保知识我来答”抖音知识挑战赛",
        "assignee": world.users["zhangwei"],
        "platforms": ["douyin"],
        "campaign_format": "quiz",
        "starts_at": START,
        "ends_at": END,
        **fields,
    }
    return await world.card("zhangwei", column="planning", **values)


async def checklist(card_id: int) -> list[dict]:
    return await tasks.list_tasks(card_id)


async def counters(card_id: int) -> tuple[int, int]:
    row = await CampaignDetail.select(CampaignDetail.tasks_done, CampaignDetail.tasks_total).where(
        CampaignDetail.card == card_id
    )
    return row[0]["tasks_done"], row[0]["tasks_total"]


async def version(card_id: int) -> int:
    return (await Card.select(Card.version).where(Card.id == card_id).first())["version"]


def local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI)


async def edit_campaign(world, username: str, card_id: int, **fields) -> None:
    """An edit of the campaign's own fields through the card's write path (the drawer's form)."""
    access = await world.access(username)
    await cards.update_card(access, card_id, CardForm(version=await version(card_id), fields=fields))


async def template_due(campaign_format: str, starts_at: datetime, ends_at: datetime) -> dict[str, datetime]:
    """The template's due time of each task for a campaign with these dates."""
    planned = plan_templates.planned_tasks(campaign_format, starts_at, ends_at, await sla.get_calendar())
    return {item["key"]: item["due_at"] for item in planned}


async def task_events(change: str) -> list[dict]:
    rows = Event.select(Event.payload).where(Event.verb == "campaign.task").order_by(Event.id)
    return [row["payload"] for row in await rows.output(load_json=True) if row["payload"]["change"] == change]


async def queued_jobs(pool) -> set[str]:
    return {job.decode() for job in await pool.zrange("arq:queue", 0, -1)}


def job_id(task_id: int, kind: str, due_at: datetime) -> str:
    return f"task-reminder:{task_id}:{kind}:{due_at.astimezone(UTC).isoformat()}"


# The plan template ------------------------------------------------------------------------


async def test_a_new_quiz_starts_with_its_templates_checklist_timed_from_its_start_and_end(world):
    card_id = await new_campaign(world)
    listed = await checklist(card_id)
    template = plan_templates.TEMPLATES["quiz"]
    assert [task["title"] for task in listed] == [item.title for item in template]
    assert await counters(card_id) == (0, len(template))
    assert {task["owner"] for task in listed} == {world.users["zhangwei"]}  # the campaign's owner
    due = {task["template_key"]: local(task["due_at"]) for task in listed}
    # 发布活动预告: the working day before a Monday start is the Friday, at 10:00.
    assert due["announce"] == datetime(2031, 3, 7, 10, 0, tzinfo=SHANGHAI)
    assert due["question_bank"] == datetime(2031, 3, 3, 17, 30, tzinfo=SHANGHAI)  # five working days before
    assert due["moderation"] == END  # the work that runs through the campaign is due at its end
    assert due["stats"] == datetime(2031, 3, 24, 17, 30, tzinfo=SHANGHAI)  # the Monday after a Friday end
    assert due["review"] == datetime(2031, 3, 26, 17, 30, tzinfo=SHANGHAI)
    # One event per task from the template, in the creation's unit.
    events = await Event.select(Event.payload).where(Event.verb == "campaign.task").output(load_json=True)
    assert sorted(event["payload"]["change"] for event in events) == ["templated"] * len(template)


async def test_dates_set_after_creation_give_the_templates_tasks_their_due_times_and_reminders(world, arq_pool):
    card_id = await new_campaign(world, campaign_format="livestream", starts_at=None, ends_at=None)
    owner = await world.access("zhangwei")
    listed = await checklist(card_id)
    assert len(listed) == len(plan_templates.TEMPLATES["livestream"])
    assert {task["due_at"] for task in listed} == {None}  # nothing to time them from yet …
    assert (await tasks.section(owner, card_id))["waiting_for_dates"]  # … and the section says so
    assert not any(job.startswith("task-reminder:") for job in await queued_jobs(arq_pool))
    start_version = await version(card_id)

    await edit_campaign(world, "zhangwei", card_id, starts_at=START, ends_at=END)
    dated = await checklist(card_id)
    assert {task["template_key"]: task["due_at"] for task in dated} == await template_due("livestream", START, END)
    due = {task["template_key"]: local(task["due_at"]) for task in dated}
    assert due["announce"] == datetime(2031, 3, 6, 10, 0, tzinfo=SHANGHAI)  # two working days before the start
    assert due["moderation"] == END
    assert await counters(card_id) == (0, len(listed))
    assert await version(card_id) == start_version + 1  # the edit's own raise: open drawers reload the list
    assert [event["tasks"] for event in await task_events("rescheduled")] == [[task["id"] for task in listed]]
    # Their reminders are armed by the edit.
    queued = await queued_jobs(arq_pool)
    assert {job_id(task["id"], "due", task["due_at"]) for task in dated} <= queued
    section = await tasks.section(owner, card_id)
    assert not section["waiting_for_dates"] and section["undated"] == [] and section["missing"] == []

    assert await checklist(await new_campaign(world, campaign_format=None)) == []  # no format: no template


async def test_a_rescheduled_campaign_moves_its_template_tasks_but_not_done_or_hand_set_ones(world, arq_pool):
    card_id = await new_campaign(world)
    owner = await world.access("zhangwei")
    zhang = str(world.users["zhangwei"])
    before = {task["template_key"]: task for task in await checklist(card_id)}
    await tasks.set_done(owner, card_id, before["plan_final"]["id"], True)
    # In the drawer's form: the poster's due time set by hand, the rules' task only renamed
    # (its due time sent back as shown).
    poster, rules = before["poster"], before["rules"]
    await tasks.edit_task(
        owner, card_id, poster["id"], {"title": poster["title"], "owner": zhang, "due_at": "2031-03-04T15:00"}
    )
    shown = local(rules["due_at"]).strftime("%Y-%m-%dT%H:%M")
    await tasks.edit_task(owner, card_id, rules["id"], {"title": "确定奖励规则", "owner": zhang, "due_at": shown})
    hand_set = {task["template_key"]: task["due_by_hand"] for task in await checklist(card_id)}
    assert (
        hand_set["poster"] and not hand_set["rules"] and not any(hand_set[key] for key in hand_set if key != "poster")
    )
    done_before, start_version = await counters(card_id), await version(card_id)

    week = timedelta(days=7)
    await edit_campaign(world, "lina", card_id, starts_at=START + week, ends_at=END + week)
    after = {task["template_key"]: task for task in await checklist(card_id)}
    planned = await template_due("quiz", START + week, END + week)
    assert after["plan_final"]["due_at"] == before["plan_final"]["due_at"]  # done: stays as it was
    assert local(after["poster"]["due_at"]) == datetime(2031, 3, 4, 15, 0, tzinfo=SHANGHAI)  # set by hand
    followed = set(planned) - {"plan_final", "poster"}
    assert {key: after[key]["due_at"] for key in followed} == {key: planned[key] for key in followed}
    assert local(after["announce"]["due_at"]) == datetime(2031, 3, 14, 10, 0, tzinfo=SHANGHAI)  # a week later
    assert after["rules"]["title"] == "确定奖励规则" and after["rules"]["due_at"] != rules["due_at"]
    assert await counters(card_id) == done_before
    assert await version(card_id) == start_version + 1
    moved = sorted(after[key]["id"] for key in followed)
    assert [sorted(event["tasks"]) for event in await task_events("rescheduled")] == [moved]

    # The reminders follow: the new due time's are queued, the old ones send nothing.
    announce = after["announce"]
    assert job_id(announce["id"], "nudge", announce["due_at"]) in await queued_jobs(arq_pool)
    old = before["announce"]["due_at"].astimezone(UTC).isoformat()
    assert await task_reminders.send(announce["id"], "nudge", old) == []
    # Changing anything but the dates moves nothing.
    await edit_campaign(world, "zhangwei", card_id, theme="医保政策宣传")
    assert {task["template_key"]: task["due_at"] for task in await checklist(card_id)} == {
        key: task["due_at"] for key, task in after.items()
    }
    assert len(await task_events("rescheduled")) == 1


async def test_dates_proposed_after_approval_move_the_tasks_and_reminders_only_once_approved(world, arq_pool):
    """After approval, new dates on the card are a proposal: the checklist and its reminders
    stay on the approved dates while it awaits a decision, when it is returned and when it is
    dropped; the approval of the change moves them."""
    card_id = await new_campaign(world, theme="医保知识普及", targets={"douyin": {"participants": 5000}})
    member, manager = await world.access("zhangwei"), await world.access("chenjing")
    await workflow.act(member, card_id, "submit", {})
    await workflow.act(manager, card_id, "approve", {"version": 1})
    approved = {task["template_key"]: task["due_at"] for task in await checklist(card_id)}
    assert approved == await template_due("quiz", START, END)
    announce_id = next(task["id"] for task in await checklist(card_id) if task["template_key"] == "announce")
    on_approved_dates = job_id(announce_id, "nudge", approved["announce"])
    assert on_approved_dates in await queued_jobs(arq_pool)

    async def due_times() -> dict[str, datetime]:
        return {task["template_key"]: task["due_at"] for task in await checklist(card_id)}

    week = timedelta(days=7)
    proposed = await template_due("quiz", START + week, END + week)
    on_proposed_dates = job_id(announce_id, "nudge", proposed["announce"])
    await edit_campaign(world, "zhangwei", card_id, starts_at=START + week, ends_at=END + week)
    assert await due_times() == approved  # a proposal: nothing moved …
    assert await task_events("rescheduled") == []
    assert on_proposed_dates not in await queued_jobs(arq_pool)  # … nor reminded on its dates
    section = await tasks.section(member, card_id)
    assert section["undated"] == [] and not section["waiting_for_dates"]

    await workflow.act(member, card_id, "submit", {"note": "推迟一周"})
    assert await due_times() == approved
    await workflow.act(manager, card_id, "return", {"version": 2, "reason": "与医保局直播撞期"})
    assert await due_times() == approved  # returned: the approved dates stand
    assert on_proposed_dates not in await queued_jobs(arq_pool)
    # The 催办 on the approved dates still goes out (the job still applies).
    assert await task_reminders.send(announce_id, "nudge", approved["announce"].astimezone(UTC).isoformat()) == [
        world.users["zhangwei"]
    ]

    # Submitted again and approved: now the tasks follow, with their reminders.
    await workflow.act(member, card_id, "submit", {"note": "推迟一周，已与医保局协调"})
    before = await version(card_id)
    await workflow.act(manager, card_id, "approve", {"version": 3})
    assert await due_times() == proposed
    assert await version(card_id) > before  # open drawers reload the checklist
    assert [sorted(event["tasks"]) for event in await task_events("rescheduled")] == [
        sorted(task["id"] for task in await checklist(card_id))
    ]
    assert on_proposed_dates in await queued_jobs(arq_pool)
    old = approved["announce"].astimezone(UTC).isoformat()
    assert await task_reminders.send(announce_id, "due", old) == []  # the old due time's: nothing

    # A change dropped (放弃修改) leaves them where the approval put them.
    await edit_campaign(world, "zhangwei", card_id, starts_at=START, ends_at=END)
    assert await due_times() == proposed
    await workflow.act(member, card_id, "revert", {"version": await version(card_id)})
    assert await due_times() == proposed
    assert len(await task_events("rescheduled")) == 1


async def test_a_database_from_before_gets_its_approved_campaigns_back_on_the_approved_dates(world, arq_pool):
    """The release before this one moved an approved campaign's due time and template tasks
    with every edit of its dates; ``portal campaigns-realign`` puts them back on the approved
    dates once (not the tasks done or set by hand, nor a campaign never approved)."""
    card_id = await new_campaign(world, theme="医保知识普及", targets={"douyin": {"participants": 5000}})
    member, manager = await world.access("zhangwei"), await world.access("chenjing")
    await workflow.act(member, card_id, "submit", {})
    await workflow.act(manager, card_id, "approve", {"version": 1})
    approved = await template_due("quiz", START, END)
    listed = {task["template_key"]: task for task in await checklist(card_id)}
    await tasks.set_done(member, card_id, listed["plan_final"]["id"], True)
    # What the old release did on an edit of the dates after approval: the draft, the due
    # time and the tasks following the dates all on the new, unapproved dates.
    week = timedelta(days=7)
    await edit_campaign(world, "zhangwei", card_id, starts_at=START + week, ends_at=END + week)
    proposed = await template_due("quiz", START + week, END + week)
    for key, task in listed.items():
        if key != "plan_final":
            await CampaignTask.update({CampaignTask.due_at: proposed[key]}).where(CampaignTask.id == task["id"])
    await Card.update({Card.due_at: END + week}).where(Card.id == card_id)
    # A campaign never approved follows its draft: it is left alone.
    draft_id = await new_campaign(world, title="民生实事网络票选", campaign_format="poll")
    draft_due = {task["template_key"]: task["due_at"] for task in await checklist(draft_id)}
    before = await version(card_id)

    assert await workflow.realign_approved() == 1
    after = {task["template_key"]: task["due_at"] for task in await checklist(card_id)}
    assert after == {**approved, "plan_final": listed["plan_final"]["due_at"]}
    assert (await Card.select(Card.due_at).where(Card.id == card_id).first())["due_at"] == END
    assert await version(card_id) == before + 1  # open drawers and the tile reload
    announce = next(task for task in await checklist(card_id) if task["template_key"] == "announce")
    assert job_id(announce["id"], "nudge", approved["announce"]) in await queued_jobs(arq_pool)
    assert await task_reminders.send(announce["id"], "nudge", proposed["announce"].astimezone(UTC).isoformat()) == []
    # The draft still proposes the new dates (a manager may approve them), and nothing else moved.
    assert (await CampaignDetail.select(CampaignDetail.starts_at).where(CampaignDetail.card == card_id).first())[
        "starts_at"
    ] == START + week
    assert {task["template_key"]: task["due_at"] for task in await checklist(draft_id)} == draft_due
    assert await workflow.realign_approved() == 0  # once is enough
    assert await version(card_id) == before + 1


def test_the_realign_command_is_there():
    from click.testing import CliRunner

    from portal.cli import main

    result = CliRunner().invoke(main, ["campaigns-realign", "--help"])
    assert result.exit_code == 0 and "campaigns-realign" in result.output


async def test_the_template_button_adds_only_what_the_checklist_lacks(world):
    card_id = await new_campaign(world, campaign_format=None)
    member = await world.access("lina")
    with pytest.raises(Conflict):  # no format yet: no template to take
        await tasks.apply_template(member, card_id)
    await CampaignDetail.update({CampaignDetail.campaign_format: "poll"}).where(CampaignDetail.card == card_id)
    assert await tasks.apply_template(member, card_id) == (len(plan_templates.TEMPLATES["poll"]), 0)
    poster = next(task for task in await checklist(card_id) if task["template_key"] == "poster")
    await tasks.remove_task(member, card_id, poster["id"])
    own = await tasks.add_task(member, card_id, {"title": "联系抖音运营对接流量扶持"})
    assert await tasks.apply_template(member, card_id) == (1, 0)  # the poster is back, nothing doubled
    keys = [task["template_key"] for task in await checklist(card_id)]
    assert sorted(key for key in keys if key) == sorted(item.key for item in plan_templates.TEMPLATES["poll"])
    assert own in [task["id"] for task in await checklist(card_id)]
    before = await version(card_id)
    assert await tasks.apply_template(member, card_id) == (0, 0)
    assert await version(card_id) == before  # nothing to add: nothing written


async def test_the_template_button_also_dates_the_template_tasks_still_undated(world, client, api):
    card_id = await new_campaign(world, campaign_format="poll", starts_at=None, ends_at=None)
    member = await world.access("zhangwei")
    listed = {task["template_key"]: task for task in await checklist(card_id)}
    await tasks.set_done(member, card_id, listed["poster"]["id"], True)
    await tasks.edit_task(member, card_id, listed["options"]["id"], {"due_at": "2031-03-05 09:00"}, partial=True)
    await as_user(client, "zhangwei")
    section = (await client.get(f"/campaigns/{card_id}/tasks")).text
    assert "data-waiting-for-dates" in section and 'data-action="template"' not in section  # nothing to do yet
    # Dates that reached the campaign without moving its tasks (written before they followed).
    await CampaignDetail.update({CampaignDetail.starts_at: START, CampaignDetail.ends_at: END}).where(
        CampaignDetail.card == card_id
    )
    waiting = set(listed) - {"poster", "options"}
    assert {task["template_key"] for task in (await tasks.section(member, card_id))["undated"]} == waiting
    section = (await client.get(f"/campaigns/{card_id}/tasks")).text
    assert 'data-action="template"' in section and f"({len(waiting)})" in section
    assert "data-waiting-for-dates" not in section

    headers = await bearer(world, "zhangwei")
    answer = await api.post(f"/api/v1/campaigns/{card_id}/tasks/template", headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["added"], answer.json()["dated"]) == (0, len(waiting))
    assert answer.json()["template_undated"] == []
    after = {task["template_key"]: task for task in await checklist(card_id)}
    planned = await template_due("poll", START, END)
    assert {key: after[key]["due_at"] for key in waiting} == {key: planned[key] for key in waiting}
    assert after["poster"]["due_at"] is None  # done before it had a time: left as it is
    assert local(after["options"]["due_at"]) == datetime(2031, 3, 5, 9, 0, tzinfo=SHANGHAI)  # set by hand
    assert len(await task_events("dated")) == len(waiting)
    again = await api.post(f"/api/v1/campaigns/{card_id}/tasks/template", headers=headers)
    assert (again.json()["added"], again.json()["dated"]) == (0, 0)
    section = (await client.get(f"/campaigns/{card_id}/tasks")).text
    assert 'data-action="template"' not in section and section.count('class="task-due"') == len(waiting) + 1


def test_the_working_day_before_skips_holidays_and_stays_inside_working_hours():
    calendar = BusinessCalendar(holidays=frozenset({date(2031, 3, 7)}), known_years=frozenset({2031}))
    created = datetime(2031, 2, 1, 9, 0, tzinfo=SHANGHAI)
    # Due Monday 10:00, the Friday before is a holiday: the 催办 comes on Thursday at 10:00.
    at = task_reminders.nudge_time(calendar, datetime(2031, 3, 10, 10, 0, tzinfo=SHANGHAI), created)
    assert at == datetime(2031, 3, 6, 10, 0, tzinfo=SHANGHAI)
    # A livestream on Saturday evening: Friday at the end of the working day.
    at = task_reminders.nudge_time(calendar, datetime(2031, 3, 15, 20, 0, tzinfo=SHANGHAI), created)
    assert at == datetime(2031, 3, 14, 17, 30, tzinfo=SHANGHAI)
    # A task set up the afternoon before: the nudge comes after three quarters of the time left.
    due = datetime(2031, 3, 12, 10, 0, tzinfo=SHANGHAI)
    assert task_reminders.nudge_time(calendar, due, due - timedelta(hours=4)) == due - timedelta(hours=1)
    # And the template's offsets count the same working days.
    announce = plan_templates.Due("start", -1, "10:00").resolve(
        datetime.combine(date(2031, 3, 10), time(9), SHANGHAI), None, calendar
    )
    assert announce == datetime(2031, 3, 6, 10, 0, tzinfo=SHANGHAI)


# The team's own changes ------------------------------------------------------------------


async def test_add_edit_tick_and_remove_keep_the_counters_and_raise_the_cards_version(world):
    card_id = await new_campaign(world, campaign_format=None)
    owner = await world.access("zhangwei")
    lina = world.users["lina"]
    start = await version(card_id)
    due = datetime(2031, 3, 7, 10, 0, tzinfo=SHANGHAI)
    first = await tasks.add_task(
        owner, card_id, {"title": "设计活动海报", "owner": str(lina), "due_at": "2031-03-07 10:00"}
    )
    second = await tasks.add_task(owner, card_id, {"title": "发布活动预告"})
    assert await counters(card_id) == (0, 2)
    assert await version(card_id) == start + 2
    listed = await checklist(card_id)
    assert [(task["title"], task["owner"], task["due_at"]) for task in listed] == [
        ("设计活动海报", lina, due),
        ("发布活动预告", None, None),
    ]
    # The new owner is told, once; the one assigning herself is not.
    told = await Notification.select(Notification.user, Notification.title).where(Notification.kind == "task")
    assert [row["user"] for row in told] == [lina] and "设计活动海报" in told[0]["title"]

    await tasks.set_done(owner, card_id, first, True)
    assert await counters(card_id) == (1, 2)
    ticked = await version(card_id)
    await tasks.set_done(owner, card_id, first, True)  # ticked already: nothing happens
    assert await version(card_id) == ticked
    assert (await checklist(card_id))[0]["done_by_name"] == "张伟"
    await tasks.set_done(owner, card_id, first, False)
    assert await counters(card_id) == (0, 2)

    await tasks.edit_task(
        owner,
        card_id,
        second,
        {"title": "发布活动预告（公众号+抖音）", "owner": str(lina), "due_at": "2031-03-09 09:00"},
    )
    edited = (await checklist(card_id))[1]
    assert edited["title"] == "发布活动预告（公众号+抖音）" and edited["owner"] == lina
    assert await Notification.count().where((Notification.kind == "task") & (Notification.user == lina)) == 2
    await tasks.move_task(owner, card_id, second, {"direction": "up"})
    assert [task["id"] for task in await checklist(card_id)] == [second, first]

    await tasks.remove_task(owner, card_id, first)
    assert await counters(card_id) == (0, 1)
    changes = [
        row["payload"]["change"]
        for row in await Event.select(Event.payload)
        .where(Event.verb == "campaign.task")
        .order_by(Event.id)
        .output(load_json=True)
    ]
    assert changes == ["added", "added", "done", "undone", "edited", "moved", "removed"]


async def test_bad_input_and_viewers_change_nothing(world):
    card_id = await new_campaign(world, campaign_format=None)
    member = await world.access("zhangwei")
    task_id = await tasks.add_task(member, card_id, {"title": "准备题库并送审"})
    before = (await version(card_id), await counters(card_id), await checklist(card_id))

    bad = [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "两行\n标题"},
        {"title": "设计海报", "due_at": "下周五"},
        {"title": "设计海报", "owner": str(world.users["outsider"])},  # not on the board
        {"title": "设计海报", "owner": str(world.users["hejianguo"])},  # a viewer does not work tasks
        {"title": "设计海报", "owner": str(world.users["wangfang"])},  # a liaison who may not see it
    ]
    for payload in bad:
        with pytest.raises(FormError) as error:
            await tasks.add_task(member, card_id, payload)
        assert set(error.value.errors) <= {"title", "due_at", "owner"}
    with pytest.raises(FormError):
        await tasks.edit_task(member, card_id, task_id, {"owner": "not-a-number"}, partial=True)
    viewer = await world.access("hejianguo")
    for write in (
        tasks.add_task(viewer, card_id, {"title": "偷偷加一个"}),
        tasks.set_done(viewer, card_id, task_id, True),
        tasks.remove_task(viewer, card_id, task_id),
        tasks.apply_template(viewer, card_id),
    ):
        with pytest.raises(PermissionDenied):
            await write
    assert (await version(card_id), await counters(card_id), await checklist(card_id)) == before


# Over HTTP and the API --------------------------------------------------------------------


async def as_user(client, username: str) -> None:
    """Log in as ``username`` (a new session) with htmx's headers and the page's CSRF token."""
    client.cookies.clear()
    client.headers.pop("x-csrftoken", None)
    await login(client, username)
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"


async def test_the_drawer_section_over_http(world, client):
    card_id = await new_campaign(world)
    total = len(plan_templates.TEMPLATES["quiz"])
    await as_user(client, "zhangwei")
    section = await client.get(f"/campaigns/{card_id}/tasks")
    assert section.status_code == 200
    assert f"0/{total}" in section.text and "发布活动预告" in section.text
    assert f'data-card-version="{await version(card_id)}"' in section.text

    announce = next(task for task in await checklist(card_id) if task["template_key"] == "announce")
    ticked = await client.post(f"/campaigns/{card_id}/tasks/{announce['id']}/done")
    assert ticked.status_code == 200 and f"1/{total}" in ticked.text
    added = await client.post(
        f"/campaigns/{card_id}/tasks", data={"title": "联系达人转发", "due_at": "2031-03-12T15:00"}
    )
    assert added.status_code == 200 and f"1/{total + 1}" in added.text and "联系达人转发" in added.text

    refused = await client.post(f"/campaigns/{card_id}/tasks", data={"title": "", "due_at": "2031-13-40T99:00"})
    assert refused.status_code == 422
    assert refused.text.count('class="field-error"') == 2 and "2031-13-40T99:00" in refused.text  # kept to correct
    assert await counters(card_id) == (1, total + 1)

    await as_user(client, "hejianguo")
    section = await client.get(f"/campaigns/{card_id}/tasks")
    assert section.status_code == 200 and f"1/{total + 1}" in section.text  # viewers see it …
    assert 'type="checkbox"' not in section.text and 'data-action="add-task"' not in section.text  # … read-only
    assert (await client.post(f"/campaigns/{card_id}/tasks/{announce['id']}/undone")).status_code == 403
    await as_user(client, "wangfang")
    assert (await client.get(f"/campaigns/{card_id}/tasks")).status_code == 404  # not routed to her department
    assert await counters(card_id) == (1, total + 1)


@pytest.fixture
async def api(clean_db):
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as test_client:
        yield test_client


async def bearer(world, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(await get_active_user(world.users[username]), '脚本')}"}


async def test_the_json_api(world, api):
    card_id = await new_campaign(world, campaign_format=None)
    headers = await bearer(world, "zhangwei")
    base = f"/api/v1/campaigns/{card_id}/tasks"
    created = await api.post(base, headers=headers, json={"title": "直播彩排", "due_at": "2031-03-09T16:00:00+08:00"})
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["title"] == "直播彩排" and task["done"] is False and task["owner"] is None
    assert task["due_by_hand"] is True  # a person set it: the campaign's dates will not move it
    lina = world.users["lina"]
    changed = await api.patch(f"{base}/{task['id']}", headers=headers, json={"owner": lina, "done": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["owner"] == lina and changed.json()["done"] is True
    assert changed.json()["due_at"].startswith("2031-03-09T08:00")  # PATCH leaves what it does not send
    bad = await api.patch(f"{base}/{task['id']}", headers=headers, json={"owner": world.users["outsider"]})
    assert bad.status_code == 422 and "owner" in bad.text
    listed = (await api.get(base, headers=headers)).json()
    assert (listed["done"], listed["total"]) == (1, 1)

    viewer = await bearer(world, "hejianguo")
    assert (await api.get(base, headers=viewer)).status_code == 200
    assert (await api.post(base, headers=viewer, json={"title": "x"})).status_code == 403
    assert (await api.delete(f"{base}/{task['id']}", headers=viewer)).status_code == 403
    outsider = await bearer(world, "wangfang")
    assert (await api.get(base, headers=outsider)).status_code == 404
    assert (await api.delete(f"{base}/999999", headers=headers)).status_code == 404

    assert (await api.delete(f"{base}/{task['id']}", headers=headers)).status_code == 204
    assert await counters(card_id) == (0, 0)


# Reminders ---------------------------------------------------------------------------------


@pytest.fixture
async def arq_pool(redis_client):
    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    outbox.configure(EffectContext(redis=pool, arq=pool))
    yield pool
    outbox.configure(None)
    await pool.aclose()


async def task_notices(card_id: int) -> list[tuple[str, int]]:
    """(which reminder, to whom) of the campaign's task reminders: task-reminder:{task}:{kind}:…"""
    rows = await Notification.select(Notification.dedupe_key, Notification.user).where(
        (Notification.card_id == card_id) & Notification.dedupe_key.like("task-reminder:%")
    )
    assert all(row["dedupe_key"] for row in rows)
    return sorted((row["dedupe_key"].split(":")[2], row["user"]) for row in rows)


async def test_a_task_reminds_its_owner_then_tells_the_campaign_owner_and_managers_once_overdue(
    world, arq_pool, monkeypatch
):
    monkeypatch.setattr(task_reminders, "OVERDUE_AFTER", timedelta(seconds=1))
    # Set down four seconds before it is due: the 催办 comes after a quarter of that (leaving the
    # worker ample time to send it before the due time, after which a 催办 is pointless).
    monkeypatch.setattr(task_reminders.reminders, "nudge_fraction", lambda: 0.25)
    card_id = await new_campaign(world, campaign_format=None)
    owner = await world.access("zhangwei")
    due = datetime.now(UTC) + timedelta(seconds=4)
    task_id = await tasks.add_task(
        owner, card_id, {"title": "发布活动预告", "owner": str(world.users["lina"]), "due_at": due.isoformat()}
    )
    # The write armed the reminders (its outbox effect); arming again queues nothing new.
    assert await task_reminders.schedule_card(arq_pool, card_id) == 0

    worker = Worker(functions=[send_task_reminder], redis_pool=arq_pool, poll_delay=0.1, handle_signals=False)
    running = asyncio.create_task(worker.main())
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(await task_notices(card_id)) < 4:
            assert asyncio.get_running_loop().time() < deadline, await task_notices(card_id)
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await asyncio.gather(worker.close(), return_exceptions=True)
    lina, zhang, chen = world.users["lina"], world.users["zhangwei"], world.users["chenjing"]
    assert await task_notices(card_id) == sorted(
        [("nudge", lina), ("due", lina), ("overdue", zhang), ("overdue", chen)]
    )

    # The same jobs run again (a crashed worker's retry): nobody hears anything twice.
    due_iso = (await CampaignTask.select(CampaignTask.due_at).where(CampaignTask.id == task_id).first())["due_at"]
    for kind in ("nudge", "due", "overdue"):
        assert await task_reminders.send(task_id, kind, due_iso.astimezone(UTC).isoformat()) == []
    assert len(await task_notices(card_id)) == 4


async def test_a_quiz_from_its_template_nudges_the_owner_of_its_announcement_before_it_is_due(world, arq_pool):
    """The acceptance's 知识挑战: planned from its template a month ahead, its "发布活动预告"
    task reminds its owner (the campaign's owner) one working day before it is due, through a
    real arq worker."""
    starts = (datetime.now(SHANGHAI) + timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)
    card_id = await new_campaign(world, starts_at=starts, ends_at=starts + timedelta(days=14))
    zhang = world.users["zhangwei"]
    announce = next(task for task in await checklist(card_id) if task["template_key"] == "announce")
    assert announce["title"] == "发布活动预告" and announce["owner"] == zhang
    due = announce["due_at"]
    assert due == (await template_due("quiz", starts, starts + timedelta(days=14)))["announce"]
    calendar = await sla.get_calendar()
    assert local(due).time() == time(10, 0) and calendar.is_working_day(local(due).date())

    # The creation armed it: the 催办 waits in the queue for the working day before, at 10:00.
    nudge = job_id(announce["id"], "nudge", due)
    row = await CampaignTask.select(CampaignTask.created_at).where(CampaignTask.id == announce["id"]).first()
    nudge_at = task_reminders.nudge_time(calendar, due, row["created_at"])
    assert nudge_at < due and local(nudge_at).time() == time(10, 0)
    assert calendar.is_working_day(local(nudge_at).date())  # the working day just before: none in between
    assert not any(
        calendar.is_working_day(local(nudge_at).date() + timedelta(days=n))
        for n in range(1, (local(due).date() - local(nudge_at).date()).days)
    )
    assert await arq_pool.zscore("arq:queue", nudge) == int(nudge_at.timestamp() * 1000)
    assert job_id(announce["id"], "due", due) in await queued_jobs(arq_pool)
    assert await task_notices(card_id) == []  # nothing before its time

    # Its time comes (the job's time in the queue brought to now, as the clock would): the
    # worker runs it and the owner is told, once.
    await arq_pool.zadd("arq:queue", {nudge: int(datetime.now(UTC).timestamp() * 1000)})
    worker = Worker(
        functions=[send_task_reminder],
        redis_pool=arq_pool,
        burst=True,
        max_burst_jobs=1,
        poll_delay=0.1,
        handle_signals=False,
    )
    try:
        assert await worker.run_check() == 1
    finally:
        await worker.close()
    assert await task_notices(card_id) == [("nudge", zhang)]
    told = await Notification.select(Notification.title, Notification.body).where(
        (Notification.card_id == card_id) & (Notification.user == zhang) & (Notification.kind == "task")
    )
    reminder = next(row for row in told if "发布活动预告" in row["title"])
    assert "即将到期" in reminder["title"] and local(due).strftime("%Y-%m-%d %H:%M") in reminder["body"]
    assert await task_reminders.send(announce["id"], "nudge", due.astimezone(UTC).isoformat()) == []  # once


async def test_nothing_is_sent_for_a_task_done_moved_removed_or_an_archived_campaign(world, arq_pool):
    card_id = await new_campaign(world, campaign_format=None)
    member = await world.access("zhangwei")
    due = datetime.now(UTC) + timedelta(hours=2)
    due_iso = due.astimezone(UTC).isoformat()
    payload = {"title": "直播控评", "owner": str(world.users["lina"]), "due_at": due_iso}
    done, moved, removed = [await tasks.add_task(member, card_id, payload) for _n in range(3)]
    await tasks.set_done(member, card_id, done, True)
    await tasks.edit_task(member, card_id, moved, {"due_at": (due + timedelta(days=1)).isoformat()}, partial=True)
    await tasks.remove_task(member, card_id, removed)
    for task_id in (done, moved, removed):
        assert await task_reminders.send(task_id, "nudge", due_iso) == []
    # The moved task's new due time has its reminders (armed by the edit); the old ones fire nothing.
    later = (due + timedelta(days=1)).astimezone(UTC).isoformat()
    queued = [job.decode() for job in await arq_pool.zrange("arq:queue", 0, -1)]
    assert f"task-reminder:{moved}:due:{later}" in queued

    live = await tasks.add_task(member, card_id, payload)
    await Card.update({Card.archived: True}).where(Card.id == card_id)
    assert await task_reminders.send(live, "nudge", due_iso) == []
    await Card.update({Card.archived: False}).where(Card.id == card_id)
    assert await task_reminders.send(live, "nudge", due_iso) == [world.users["lina"]]
    assert await task_reminders.send(live, "nudge", due_iso) == []  # once
    assert await task_notices(card_id) == [("nudge", world.users["lina"])]


async def test_the_sweep_rearms_what_redis_lost(world, arq_pool, redis_client):
    card_id = await new_campaign(world, campaign_format=None)
    member = await world.access("zhangwei")
    due = datetime.now(UTC) + timedelta(hours=3)
    task_id = await tasks.add_task(member, card_id, {"title": "直播彩排", "due_at": due.isoformat()})
    prefix = f"task-reminder:{task_id}:"

    async def queued() -> set[str]:
        jobs = [job.decode() for job in await arq_pool.zrange("arq:queue", 0, -1)]
        return {job.split(":")[2] for job in jobs if job.startswith(prefix)}

    assert await queued() == {"nudge", "due", "overdue"}  # armed by the write
    await redis_client.flushdb()
    assert await queued() == set()
    ctx = {"redis": arq_pool}
    assert await sweep_task_reminders(ctx) == 3  # a worker's first sweep is a full one
    assert await queued() == {"nudge", "due", "overdue"}
    assert await sweep_task_reminders(ctx) == 0  # nothing twice
    assert await task_reminders.sweep(arq_pool, full=True) == 0
    # A done task is not queued again, nor one long overdue (its notice went out, or would
    # come too late to matter); one overdue for an hour whose notice Redis lost still gets it.
    await tasks.set_done(member, card_id, task_id, True)
    now = datetime.now(UTC)
    long_overdue, missed = [
        await tasks.add_task(member, card_id, {"title": title, "due_at": due.isoformat()})
        for title in ("发布活动预告", "上线投票页面")
    ]
    for late_id, due_at in (
        (long_overdue, now - task_reminders.OVERDUE_GRACE - timedelta(hours=1)),
        (missed, now - timedelta(hours=1)),
    ):
        # Set down a month ago, due in the past: as the sweep finds them once that time has passed.
        await CampaignTask.update(
            {CampaignTask.due_at: due_at, CampaignTask.created_at: now - timedelta(days=30)}
        ).where(CampaignTask.id == late_id)
    await redis_client.flushdb()
    assert await task_reminders.sweep(arq_pool, full=True) == 1
    late_due = (await CampaignTask.select(CampaignTask.due_at).where(CampaignTask.id == missed).first())["due_at"]
    assert {queued for queued in await queued_jobs(arq_pool) if queued.startswith("task-reminder:")} == {
        job_id(missed, "overdue", late_due)
    }


async def test_a_demo_campaigns_checklist_is_ticked_as_far_as_its_column(world):
    now = datetime.now(UTC).replace(microsecond=0)
    dates = {"campaign_format": "qa", "starts_at": now - timedelta(days=10), "ends_at": now + timedelta(days=20)}
    running = await new_campaign(world, campaign_format=None)
    await tasks.seed_tasks(running, "running", dates, {}, now)
    listed = await checklist(running)
    assert [task["done"] for task in listed] == [task["due_at"] < now for task in listed]
    assert await counters(running) == (sum(task["done"] for task in listed), len(plan_templates.TEMPLATES["qa"]))
    assert 0 < (await counters(running))[0] < len(listed)
    assert {task["owner"] for task in listed} == {world.users["zhangwei"], world.users["lina"]}  # shared by turns
    planning, review = await new_campaign(world, campaign_format=None), await new_campaign(world, campaign_format=None)
    await tasks.seed_tasks(planning, "planning", dates, {}, now)
    await tasks.seed_tasks(review, "review", dates, {}, now)
    assert (await counters(planning))[0] == 0
    assert (await counters(review))[0] == (await counters(review))[1] > 0


async def test_a_template_applied_late_does_not_remind_of_what_was_past_due_already(world, arq_pool):
    now = datetime.now(UTC)
    card_id = await new_campaign(world, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=8))
    listed = await checklist(card_id)
    past = {task["id"] for task in listed if task["due_at"] < now}
    assert past  # 策划方案定稿, 准备题库 … were due before the campaign was planned
    queued = {
        job.decode().split(":")[1]
        for job in await arq_pool.zrange("arq:queue", 0, -1)
        if job.startswith(b"task-reminder:")
    }
    assert queued == {str(task["id"]) for task in listed} - {str(task_id) for task_id in past}
    assert await task_reminders.sweep(arq_pool, full=True) == 0
