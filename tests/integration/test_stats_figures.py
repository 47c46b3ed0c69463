"""The evaluation's figures on a small city built through the services: comments replied to and
not, inquiries accepted, answered and closed with known verdicts, one supervised, one reopened,
late and overdue work, cards of two departments and two members, a liaison. Each figure is
worked out by hand here (from the scenario, or from the raw rows with the business calendar
for working times) and compared with ``dashboard()``, the cards behind it and the JSON API."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.campaigns import metrics
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card, CardStage
from portal.comments import replies
from portal.comments.replies import ReplyInput
from portal.core.errors import FormError
from portal.inquiries import supervision, workflow
from portal.settings import get_settings
from portal.sla.services import get_calendar
from portal.sla.tables import CardClock
from portal.stats import figures
from portal.stats.period import filters_for, parse_filters
from tests import factories
from tests.conftest import login

TZ = get_settings().tz
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.astimezone(TZ).date()
FIRST = TODAY - timedelta(days=12)
LAST = TODAY + timedelta(days=1)  # a run that crosses midnight still finds its writes in the period
PEOPLE = {
    "admin": ("admin", None, ""),
    "manager": ("manager", "publicity", "manager"),
    "member": ("member", "publicity", "member", "张伟"),
    "member2": ("member", "health", "member", "李娜"),
    "liaison": ("liaison", "health", "member", "王芳"),
    "viewer": ("viewer", "publicity", "viewer", "何建国"),
}


@dataclass
class City:
    comments: factories.World
    inquiries: factories.World
    campaigns: factories.World
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def users(self) -> dict[str, int]:
        return self.comments.users

    @property
    def departments(self) -> dict[str, int]:
        return self.comments.departments

    async def user(self, name: str):
        return await get_active_user(self.users[name])


async def move(world: factories.World, card_id: int, column: str, username: str = "manager") -> None:
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    await cards.move_card(
        await world.access(username), card_id, MoveForm(column_id=world.columns[column], after_id=None, version=version)
    )


@pytest.fixture
async def city(clean_db) -> City:
    comments = await factories.board("comments", PEOPLE, name="网友留言")
    inquiries = await comments.board("inquiries", name="12345 工单")
    campaigns = await comments.board("campaigns", name="互动活动")
    city = City(comments, inquiries, campaigns)
    users, departments = comments.users, comments.departments
    publicity, health = departments["publicity"], departments["health"]

    async def comment(name, *, ago, platform, sentiment, department, assignee=None):
        card_id = await comments.card(
            "manager",
            column="new",
            title=f"留言 {name}",
            platform=platform,
            sentiment=sentiment,
            received_at=NOW - ago,
            assignee=users[assignee] if assignee else None,
        )
        # Comments are routed to a department by hand in the drawer's routing (no field of the
        # comment form): set here on the table.
        await Card.update({Card.department: department}).where(Card.id == card_id)
        city.ids[name] = card_id
        return card_id

    # C1: a negative Weibo comment, 3 days old, answered now by the manager: a late first reply.
    c1 = await comment(
        "C1", ago=timedelta(days=3), platform="weibo", sentiment="negative", department=publicity, assignee="member"
    )
    await replies.submit(await comments.access("manager"), c1, ReplyInput(body="您好，已转交相关部门处理。"))
    # C2: a positive WeChat comment of two hours ago, answered at once by its member.
    c2 = await comment(
        "C2", ago=timedelta(hours=2), platform="wechat", sentiment="positive", department=health, assignee="member2"
    )
    await replies.submit(await comments.access("member2"), c2, ReplyInput(body="感谢您的支持！"))
    # C3: unanswered for 30 hours: overdue now (24 natural hours).
    await comment(
        "C3", ago=timedelta(hours=30), platform="wechat", sentiment="neutral", department=publicity, assignee="member"
    )
    # C4: a negative Douyin comment whose member's reply waits for the manager: not sent.
    c4 = await comment("C4", ago=timedelta(hours=1), platform="douyin", sentiment="negative", department=health)
    pending = await replies.submit(await comments.access("member"), c4, ReplyInput(body="请私信我们详细情况。"))
    assert pending["status"] == "pending"
    # C5: received 40 days ago (before the period), closed now.
    c5 = await comment(
        "C5", ago=timedelta(days=40), platform="weibo", sentiment="neutral", department=publicity, assignee="member"
    )
    await move(comments, c5, "closed")

    manager = await inquiries.access("manager")

    async def inquiry(name, *, ago, department, assignee=None, **fields):
        card_id = await inquiries.card(
            "manager",
            column="pending_accept",
            title=f"工单 {name} 联系电话 13812345678",
            received_at=NOW - ago,
            department=department,
            assignee=users[assignee] if assignee else None,
            **fields,
        )
        city.ids[name] = card_id
        return card_id

    # I1: accepted, answered, closed: satisfied.
    i1 = await inquiry("I1", ago=timedelta(days=2), department=health, assignee="member2", channel="hotline")
    await workflow.act(manager, i1, "accept", {"category": "policy", "urgency": "normal"})
    await workflow.act(manager, i1, "answer_directly", {"answer": "已答复。"})
    await workflow.act(manager, i1, "follow_up", {"verdict": "satisfied"})
    # I2: accepted, answered, the citizen dissatisfied: reopened (重办).
    i2 = await inquiry("I2", ago=timedelta(days=1), department=publicity, assignee="member", channel="website")
    await workflow.act(manager, i2, "accept", {"category": "complaint", "urgency": "urgent"})
    await workflow.act(manager, i2, "answer_directly", {"answer": "已答复。"})
    await workflow.act(manager, i2, "follow_up", {"verdict": "dissatisfied", "remarks": "没有解决"})
    # I3: never accepted, nine days old: supervised (督办) and overdue.
    i3 = await inquiry("I3", ago=timedelta(days=9), department=health, channel="hotline", category="help")
    await supervision.supervise(manager, i3, "请尽快受理")
    # I5: publicity's, health assisting: basically satisfied.
    i5 = await inquiry(
        "I5", ago=timedelta(days=4), department=publicity, assignee="member2", assisting_departments=[health]
    )
    await workflow.act(manager, i5, "accept", {"category": "policy", "urgency": "normal"})
    await workflow.act(manager, i5, "answer_directly", {"answer": "已答复。"})
    await workflow.act(manager, i5, "follow_up", {"verdict": "basically_satisfied"})

    # A campaign running in the period, with goals on Douyin and figures on Douyin and Weibo.
    started = NOW - timedelta(days=3)
    campaign = await campaigns.card(
        "member",
        "running",
        title="医保知识我来答",
        campaign_format="quiz",
        platforms=["douyin", "weibo"],
        starts_at=started,
        ends_at=started + timedelta(days=14),
        targets={"douyin": {"participants": 5000, "new_followers": 800}},
    )
    city.ids["campaign"] = campaign
    await metrics.record(
        await campaigns.access("member"),
        campaign,
        [
            {
                "platform": "douyin",
                "at": NOW - timedelta(hours=5),
                "participants": 2000,
                "comments": 100,
                "shares": 50,
                "new_followers": 300,
                "reads": 10000,
            },
            {
                "platform": "weibo",
                "at": NOW - timedelta(hours=5),
                "participants": 500,
                "comments": 20,
                "shares": 5,
                "reads": 5000,
            },
        ],
        source="hand",
    )
    return city


def period(first: date = FIRST, last: date = LAST, **narrowing):
    return filters_for(first, last, **narrowing)


async def received_at(card_ids: list[int]) -> dict[int, datetime]:
    rows = await Card.select(Card.id, Card.received_at).where(Card.id.is_in(card_ids))
    return {row["id"]: row["received_at"] for row in rows}


def median_half_up(values: list[int]) -> int:
    return int(statistics.median(sorted(values)) + 0.5)


def nearest_rank_p90(values: list[int]) -> int:
    ordered = sorted(values)
    rank = -(-9 * len(ordered) // 10)  # ceil(0.9 n)
    return ordered[rank - 1]


async def expected_times(city: City, first_ids: list[int], done_ids: list[int]) -> dict:
    """Working minutes by the calendar itself: receipt → first clock completed; receipt → done."""
    calendar = await get_calendar()
    stages = {"comments": "first_response", "inquiries": "accept"}
    first = []
    for card_id in first_ids:
        card = await Card.select(Card.received_at, Card.board.kind.as_alias("kind")).where(Card.id == card_id).first()
        clock = (
            await CardClock.select(CardClock.completed_at)
            .where((CardClock.card_id == card_id) & (CardClock.stage == stages[card["kind"]]) & (CardClock.round == 1))
            .first()
        )
        first.append(calendar.working_minutes_between(card["received_at"], clock["completed_at"]))
    done = []
    for card_id in done_ids:
        card = await Card.select(Card.received_at, Card.column_entered_at).where(Card.id == card_id).first()
        done.append(calendar.working_minutes_between(card["received_at"], card["column_entered_at"]))
    return {
        "first_response": {"median": median_half_up(first), "p90": nearest_rank_p90(first), "count": len(first)},
        "resolution": {"median": median_half_up(done), "p90": nearest_rank_p90(done), "count": len(done)},
    }


async def expected_visits(card_ids: list[int]) -> dict[str, dict[str, int]]:
    """Stage visits that ended in the period with a clock running, from the raw history."""
    rows = await CardStage.select().where(CardStage.card.is_in(card_ids) & CardStage.left_at.is_not_null())
    found: dict[str, dict[str, int]] = {}
    start = period().start
    for row in rows:
        if row["on_time"] is None or row["clock"] is None or row["left_at"] < start:
            continue
        stage = found.setdefault(row["clock"], {"on_time": 0, "late": 0})
        stage["on_time" if row["on_time"] else "late"] += 1
    return found


async def overdue(card_ids: list[int]) -> set[int]:
    rows = await Card.select(Card.id, Card.due_at, Card.paused_at, Card.column.meaning.as_alias("meaning")).where(
        Card.id.is_in(card_ids)
    )
    now = datetime.now(UTC)
    return {
        row["id"]
        for row in rows
        if row["meaning"] != "done" and row["due_at"] is not None and row["due_at"] < (row["paused_at"] or now)
    }


def shown(found: list[dict]) -> set[int]:
    return {card["id"] for card in found}


async def test_every_figure_matches_the_one_worked_out_by_hand(city):
    ids, users, departments = city.ids, city.users, city.departments
    manager = await city.user("manager")
    data = await figures.dashboard(manager, period())
    assert data["period"] == {
        "from": FIRST.isoformat(),
        "to": LAST.isoformat(),
        "label": data["period"]["label"],
        "key": "custom",
    }
    assert data["filters"] == {"board": None, "department": None, "kind": None}

    # 三率 and the reply rate: C1–C4 and I1, I2, I3, I5 were received in the period (C5 before it).
    rates = data["rates"]
    assert rates["acceptance"] == {"value": 3 / 4, "numerator": 3, "denominator": 4}  # I3 never accepted
    assert rates["resolution"] == {"value": 2 / 8, "numerator": 2, "denominator": 8}  # I1 and I5 closed
    assert rates["satisfaction"] == {"value": 2 / 3, "numerator": 2, "denominator": 3}  # I2 dissatisfied
    assert rates["reply"] == {"value": 2 / 4, "numerator": 2, "denominator": 4}  # C1, C2 sent; C4 pending

    # Times: first responses completed in the period (C1, C2 replied, C5 closed, I1, I2, I5
    # accepted); resolution of the cases done in the period (C5, I1, I5).
    times = await expected_times(
        city, [ids["C1"], ids["C2"], ids["C5"], ids["I1"], ids["I2"], ids["I5"]], [ids["C5"], ids["I1"], ids["I5"]]
    )
    assert data["times"] == times

    # Deadlines: C1's first reply and C5's came late, C2's in time (natural hours: certain).
    deadlines = data["deadlines"]
    by_stage = {row["stage"]: row for row in deadlines["by_stage"]}
    case_ids = [card_id for name, card_id in ids.items() if name != "campaign"]
    visits = await expected_visits(case_ids)
    assert {stage: {"on_time": row["on_time"], "late": row["late"]} for stage, row in by_stage.items()} == visits
    assert by_stage["first_response"]["on_time"] == 1 and by_stage["first_response"]["late"] == 2
    assert by_stage["first_response"]["rate"] == 1 / 3 and by_stage["first_response"]["label"]
    late_now = await overdue(case_ids)
    assert ids["C3"] in late_now and ids["C4"] not in late_now
    assert deadlines["overdue_now"] == len(late_now)
    assert deadlines["supervised"] == 1 and deadlines["reopened"] == 1

    # Volume: per local day, per platform (comments' platform, inquiries' channel), categories.
    arrived = await received_at([ids[name] for name in ("C1", "C2", "C3", "C4", "I1", "I2", "I3", "I5")])
    per_day: dict[str, int] = {}
    for moment in arrived.values():
        key = moment.astimezone(TZ).date().isoformat()
        per_day[key] = per_day.get(key, 0) + 1
    assert len(data["volume"]["by_day"]) == 14
    assert {row["day"]: row["count"] for row in data["volume"]["by_day"] if row["count"]} == per_day
    assert data["volume"]["by_day"][0]["day"] == FIRST.isoformat()
    platforms = {row["platform"]: row["count"] for row in data["volume"]["by_platform"]}
    assert platforms == {"wechat": 2, "hotline": 2, "weibo": 1, "douyin": 1, "website": 1, None: 1}
    assert data["volume"]["by_platform"][-1]["platform"] is None  # "not given" comes last
    assert [(row["category"], row["count"]) for row in data["categories"]] == [
        ("policy", 2),
        ("complaint", 1),
        ("help", 1),
    ]
    assert all(row["label"] for row in data["categories"])
    feelings = {
        row["day"]: row for row in data["sentiment"] if any(row[k] for k in ("positive", "neutral", "negative"))
    }
    c1_day = arrived[ids["C1"]].astimezone(TZ).date().isoformat()
    assert feelings[c1_day]["negative"] >= 1
    assert sum(row["negative"] for row in data["sentiment"]) == 2
    assert sum(row["positive"] for row in data["sentiment"]) == 1
    assert sum(row["neutral"] for row in data["sentiment"]) == 1

    # Members (assignees) and departments (responsible).
    members = {row["user"]: row for row in data["members"]}
    zhang, li = members[users["member"]], members[users["member2"]]
    assert (zhang["name"], zhang["received"], zhang["done"]) == ("张伟", 3, 1)  # C1, C3, I2; C5 done
    assert (li["name"], li["received"], li["done"]) == ("李娜", 3, 2)  # C2, I1, I5; I1, I5 done
    assert zhang["overdue_now"] == 1 and li["overdue_now"] == 0  # C3
    zhangs, lis = [ids[n] for n in ("C1", "C3", "C5", "I2")], [ids[n] for n in ("C2", "I1", "I5")]
    assert (zhang["on_time"], zhang["late"]) == (await _visits(zhangs, "on_time"), await _visits(zhangs, "late"))
    assert (li["on_time"], li["late"]) == (await _visits(lis, "on_time"), await _visits(lis, "late"))
    assert zhang["late"] >= 2  # C1's and C5's first replies
    assert zhang["reopened"] == 1 and zhang["supervised"] == 0
    rows = {row["department"]: row for row in data["departments"]}
    publicity, health = rows[departments["publicity"]], rows[departments["health"]]
    assert (publicity["name"], publicity["received"], publicity["done"]) == ("publicity", 4, 2)
    assert (health["received"], health["done"], health["supervised"]) == (4, 1, 1)
    assert publicity["overdue_now"] + health["overdue_now"] == len(late_now)
    assert health["satisfaction"] == 1.0 and publicity["satisfaction"] == 0.5

    # The campaign: Douyin against its goals, Weibo without one.
    (campaign,) = data["campaigns"]
    assert campaign["card"] == ids["campaign"] and campaign["platforms"] == ["weibo", "douyin"]
    assert (campaign["participants"], campaign["participants_goal"], campaign["participants_pct"]) == (2500, 5000, 40)
    assert (campaign["new_followers"], campaign["new_followers_goal"]) == (300, 800)
    assert campaign["interaction_rate"] == (100 + 50 + 20 + 5) / (10000 + 5000)
    douyin = next(row for row in campaign["by_platform"] if row["platform"] == "douyin")
    assert douyin["interaction_rate"] == 150 / 10000 and douyin["participants_pct"] == 40

    # The cards behind the figures are the ones counted.
    behind = figures.cards_behind
    assert shown(await behind(manager, period(), "received")) == set(arrived)
    assert shown(await behind(manager, period(), "accepted")) == {ids["I1"], ids["I2"], ids["I5"]}
    assert shown(await behind(manager, period(), "not_accepted")) == {ids["I3"]}
    assert shown(await behind(manager, period(), "resolved")) == {ids["I1"], ids["I5"]}
    assert shown(await behind(manager, period(), "replied")) == {ids["C1"], ids["C2"]}
    assert shown(await behind(manager, period(), "satisfied")) == {ids["I1"], ids["I5"]}
    assert shown(await behind(manager, period(), "dissatisfied")) == {ids["I2"]}
    assert shown(await behind(manager, period(), "overdue_now")) == late_now
    assert shown(await behind(manager, period(), "supervised")) == {ids["I3"]}
    assert shown(await behind(manager, period(), "reopened")) == {ids["I2"]}
    assert shown(await behind(manager, period(), "late", "first_response")) == {ids["C1"], ids["C5"]}
    assert shown(await behind(manager, period(), "done", f"member:{users['member2']}")) == {ids["I1"], ids["I5"]}
    assert shown(await behind(manager, period(), f"member:{users['member']}")) == {ids["C1"], ids["C3"], ids["I2"]}
    assert shown(await behind(manager, period(), "platform", "hotline")) == {ids["I1"], ids["I3"]}
    assert shown(await behind(manager, period(), "category", "policy")) == {ids["I1"], ids["I5"]}
    assert shown(await behind(manager, period(), "received", f"day:{c1_day}")) >= {ids["C1"]}
    listed = {card["id"]: card for card in await behind(manager, period(), "received")}
    assert "13812345678" not in listed[ids["I1"]]["title"] and "138****5678" in listed[ids["I1"]]["title"]
    assert listed[ids["C3"]]["url"] == f"/boards/{city.comments.board_id}?card={ids['C3']}"
    assert listed[ids["C3"]]["assignee_name"] == "张伟" and listed[ids["C3"]]["column"]
    with pytest.raises(FormError):
        await behind(manager, period(), "everything")
    with pytest.raises(FormError):
        await behind(manager, period(), "late", "stage:lunch")
    # The cards no one is assigned are a row of their own, last, so that each table adds up to
    # the figures above it; its link lists them. Every case here has a responsible department:
    # no such row there.
    assert data["members"][-1]["user"] is None and data["members"][-1]["name"] == "未分配"
    assert None not in {row["department"] for row in data["departments"]}
    for table in ("members", "departments"):
        assert sum(row["received"] for row in data[table]) == data["volume"]["received"]
        assert sum(row["overdue_now"] for row in data[table]) == deadlines["overdue_now"]
        assert sum(row["supervised"] for row in data[table]) == deadlines["supervised"]
    nobody = data["members"][-1]["received"]
    assert len(await behind(manager, period(), "received", "member:none")) == nobody > 0
    assert not {card["assignee_name"] for card in await behind(manager, period(), "received", "member:none")} - {""}
    assert await behind(manager, period(), "department:none") == []

    # A past period counts the campaign's figures as they stood at its end, not those recorded since.
    await metrics.record(
        await city.campaigns.access("member"),
        ids["campaign"],
        [{"platform": "douyin", "at": NOW - timedelta(days=3, hours=-1), "participants": 1000, "reads": 4000}],
        source="hand",
    )
    (then,) = (await figures.dashboard(manager, period(FIRST, TODAY - timedelta(days=2))))["campaigns"]
    assert (then["participants"], then["participants_pct"], then["new_followers"]) == (1000, 20, 0)
    (now,) = (await figures.dashboard(manager, period()))["campaigns"]
    assert (now["participants"], now["new_followers"]) == (2500, 300)  # the newest snapshot still counts


async def test_a_clock_no_kind_has_any_more_still_counts(city):
    """A stage visit timed by a clock that is no kind's stage any more (renamed since) is
    counted under its own name, for its member, like any other."""
    ids, users = city.ids, city.users
    manager = await city.user("manager")
    before = await figures.dashboard(manager, period())
    card = await Card.select(Card.board, Card.column).where(Card.id == ids["C3"]).first()
    for on_time in (True, False, False):
        await CardStage.insert(
            CardStage(
                card=ids["C3"],
                board=card["board"],
                column=card["column"],
                stage="new",
                clock="retired_clock",
                entered_at=NOW - timedelta(hours=3),
                left_at=NOW - timedelta(hours=2),
                on_time=on_time,
            )
        )
    after = await figures.dashboard(manager, period())
    retired = next(row for row in after["deadlines"]["by_stage"] if row["stage"] == "retired_clock")
    assert (retired["on_time"], retired["late"], retired["rate"]) == (1, 2, 1 / 3)
    assert [row for row in after["deadlines"]["by_stage"] if row["stage"] != "retired_clock"] == before["deadlines"][
        "by_stage"
    ]
    zhang_before = next(row for row in before["members"] if row["user"] == users["member"])
    zhang = next(row for row in after["members"] if row["user"] == users["member"])
    assert (zhang["on_time"], zhang["late"]) == (zhang_before["on_time"] + 1, zhang_before["late"] + 2)


async def test_archiving_closed_work_changes_no_figure(city):
    """The worker archives what has been closed a while: off the boards, still in every figure,
    and the cards behind a figure open on their own page."""
    manager = await city.user("manager")
    before = await figures.dashboard(manager, period())
    resolved = shown(await figures.cards_behind(manager, period(), "resolved"))
    done = await Card.select(Card.id).where(Card.column.meaning == "done")
    await Card.update({Card.column_entered_at: NOW - timedelta(days=45)}).where(
        Card.id.is_in([row["id"] for row in done])
    )
    assert await cards.archive_closed_everywhere() >= len(resolved) > 0
    assert await figures.dashboard(manager, period()) == before
    behind = await figures.cards_behind(manager, period(), "resolved")
    assert shown(behind) == resolved
    assert all(card["url"] == f"/cards/{card['id']}" for card in behind)


async def _visits(card_ids: list[int], which: str) -> int:
    return sum(stage[which] for stage in (await expected_visits(card_ids)).values())


async def test_a_liaison_counts_her_departments_cards_filters_narrow_and_the_api_answers_the_same(city, client):
    ids, departments = city.ids, city.departments
    liaison = await city.user("liaison")
    data = await figures.dashboard(liaison, period())
    # Health's: C2, C4, I1, I3, and I5 where health assists; not C1, C3, I2 (publicity's).
    assert shown(await figures.cards_behind(liaison, period(), "received")) == {
        ids["C2"],
        ids["C4"],
        ids["I1"],
        ids["I3"],
        ids["I5"],
    }
    assert data["rates"]["acceptance"] == {"value": 2 / 3, "numerator": 2, "denominator": 3}
    assert data["rates"]["resolution"] == {"value": 2 / 5, "numerator": 2, "denominator": 5}
    assert data["rates"]["satisfaction"] == {"value": 1.0, "numerator": 2, "denominator": 2}
    assert data["rates"]["reply"] == {"value": 1 / 2, "numerator": 1, "denominator": 2}
    assert data["deadlines"]["reopened"] == 0 and data["deadlines"]["supervised"] == 1
    assert data["deadlines"]["overdue_now"] == len(
        await overdue([ids["C2"], ids["C4"], ids["I1"], ids["I3"], ids["I5"]])
    )
    assert data["campaigns"] == []  # the campaign is routed to no department
    assert {row["department"] for row in data["departments"]} <= {departments["publicity"], departments["health"]}

    manager = await city.user("manager")
    # A department: the cases it is responsible for.
    publicity = await figures.dashboard(manager, period(department=departments["publicity"]))
    assert publicity["rates"]["resolution"]["denominator"] == 4  # C1, C3, I2, I5
    assert publicity["rates"]["acceptance"] == {"value": 1.0, "numerator": 2, "denominator": 2}
    assert publicity["deadlines"]["supervised"] == 0 and publicity["deadlines"]["reopened"] == 1
    # A board: the comments board's comments only.
    board = await figures.dashboard(manager, period(board=city.comments.board_id))
    assert board["rates"]["resolution"]["denominator"] == 4
    assert board["rates"]["acceptance"] == {"value": None, "numerator": 0, "denominator": 0}
    assert board["campaigns"] == [] and board["rates"]["reply"]["numerator"] == 2
    # Another period: only C5 arrived then (40 days ago), closed since; nothing else happened then.
    arrived = (await received_at([ids["C5"]]))[ids["C5"]].astimezone(TZ).date()
    before = await figures.dashboard(manager, period(arrived - timedelta(days=2), arrived + timedelta(days=2)))
    assert before["rates"]["resolution"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    assert [row["count"] for row in before["volume"]["by_day"]] == [0, 0, 1, 0, 0]
    assert before["times"]["resolution"]["count"] == 0 and before["deadlines"]["supervised"] == 0
    assert before["campaigns"] == []

    # The viewer (a leader) sees the boards she is on, all their cards; an outsider nothing.
    viewer = await figures.dashboard(await city.user("viewer"), period())
    assert viewer["rates"] == (await figures.dashboard(manager, period()))["rates"]
    outsider_id = await factories.user("outsider", "member", "health")
    nobody = await figures.dashboard(await get_active_user(outsider_id), period())
    assert nobody["rates"]["resolution"]["denominator"] == 0 and nobody["members"] == []

    # The API: the dashboard's figures as they are; bad filters refused with a message each.
    await login(client, "manager")
    query = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    response = await client.get("/api/v1/stats", params=query)
    assert response.status_code == 200, response.text
    manager = await city.user("manager")
    expected = await figures.dashboard(manager, await parse_filters(manager, query))
    assert response.json() == expected
    assert response.json()["rates"]["satisfaction"]["value"] == pytest.approx(2 / 3)

    narrowed = await client.get("/api/v1/stats", params={**query, "board": city.inquiries.board_id})
    assert narrowed.json()["rates"]["resolution"]["denominator"] == 4
    assert narrowed.json()["filters"]["board"] == city.inquiries.board_id
    this_month = (await client.get("/api/v1/stats")).json()
    assert this_month["period"]["key"] == "month" and this_month["period"]["from"].endswith("-01")

    cards_behind = await client.get("/api/v1/stats/cards", params={**query, "figure": "supervised"})
    assert [card["id"] for card in cards_behind.json()["cards"]] == [ids["I3"]]

    for params, name in [
        ({"period": "year"}, "period"),
        ({"period": "custom", "from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({"board": "999999"}, "board"),
        ({"board": "abc"}, "board"),
        ({"department": "999999"}, "department"),
        ({"kind": "everything"}, "kind"),
    ]:
        refused = await client.get("/api/v1/stats", params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["errors"][name], params
    bad_figure = await client.get("/api/v1/stats/cards", params={"figure": "nothing"})
    assert bad_figure.status_code == 422 and bad_figure.json()["errors"]["figure"]

    # A board the liaison is not on is refused like one that does not exist.
    other = await factories.board("comments", {"manager": ("manager", "publicity", "manager")}, name="另一个")
    client.cookies.clear()
    await login(client, "liaison")
    refused = await client.get("/api/v1/stats", params={"board": other.board_id})
    assert refused.status_code == 422 and refused.json()["errors"]["board"]
    mine = await client.get("/api/v1/stats", params=query)
    assert mine.json()["rates"]["resolution"]["denominator"] == 5


async def test_instants_listed_by_the_database_give_the_calendars_working_minutes(clean_db):
    """Instants as the database stores and lists them (SQLite's text, PostgreSQL's timestamptz),
    read back exactly: the working minutes of each pair are the calendar's own, for a pair that
    ends exactly on a minute boundary, a microsecond short of one, and sub-second starts."""
    from portal.sla.calendar import calendar_from_days

    calendar = calendar_from_days(
        "Asia/Shanghai", holidays=[date(2026, 10, 1), date(2026, 10, 2)], workdays=[date(2026, 10, 10)], years=[2026]
    )
    pairs = [
        (datetime(2026, 9, 30, 1, 30, 15, 250, tzinfo=UTC), datetime(2026, 9, 30, 8, 0, tzinfo=UTC)),
        (datetime(2026, 10, 8, 1, 0, tzinfo=UTC), datetime(2026, 10, 8, 1, 5, tzinfo=UTC)),  # on the minute: 5
        (datetime(2026, 10, 8, 1, 0, tzinfo=UTC), datetime(2026, 10, 8, 1, 4, 59, 999999, tzinfo=UTC)),  # 4
        (datetime(2026, 10, 8, 1, 0, 0, 500000, tzinfo=UTC), datetime(2026, 10, 8, 1, 5, tzinfo=UTC)),  # 4
        (datetime(2026, 9, 30, 8, 0, tzinfo=UTC), datetime(2026, 10, 12, 4, 45, tzinfo=UTC)),  # holidays, make-up day
        (datetime(2026, 10, 9, 9, 59, 59, 999999, tzinfo=UTC), datetime(2026, 10, 10, 2, 0, tzinfo=UTC)),
    ]
    for start, end in pairs:
        await CardClock.insert(CardClock(card_id=0, stage="first_response", started_at=start, completed_at=end))
    starts_sql, ends_sql = (figures.listing(figures.instant_text(column)) for column in ("started_at", "completed_at"))
    sql = f"SELECT COUNT(*) AS n, {starts_sql} AS starts, {ends_sql} AS ends FROM card_clock"  # noqa: S608 - fixed names
    (row,) = await CardClock.raw(sql)
    starts, ends, both = figures._pairs(row)
    assert both.all()
    working = figures.WorkingTime.covering(calendar, starts, ends)
    found = sorted(zip(starts.tolist(), working.minutes(starts, ends).tolist(), strict=True))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = sorted(
        ((start - epoch) // timedelta(microseconds=1), calendar.working_minutes_between(start, end))
        for start, end in pairs
    )
    assert found == expected
    assert [calendar.working_minutes_between(*pair) for pair in pairs[1:4]] == [5, 4, 4]  # the boundaries
