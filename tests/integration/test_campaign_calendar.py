"""The campaigns' calendar: a month of campaigns across boards on the working calendar's days,
who sees which, clashes (same platform, same days) on the page, in the drawer and in the API."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.accounts.services import get_active_user
from portal.campaigns import calendar, workflow
from portal.cards import services as cards
from portal.cards.forms import CardForm
from portal.sla import services as sla
from tests import factories
from tests.conftest import login

TZ = ZoneInfo("Asia/Shanghai")
OCTOBER = calendar.Month(2030, 10)


def at(day: int, hour: int = 10, month: int = 10) -> datetime:
    return datetime(2030, month, day, hour, 0, tzinfo=TZ)


@pytest.fixture
async def world(clean_db):
    """Two campaigns boards of two teams. The liaison works on the first board, for her
    department's cards only, and is not on the second; the outsider is on neither."""
    publicity = await factories.board("campaigns", name="宣传部活动")
    health = await publicity.board(
        "campaigns",
        {
            "admin": ("admin", None, ""),
            "manager": ("manager", "publicity", "manager"),
            "member": ("member", "publicity", "member"),
        },
        name="卫健委活动",
    )
    admin = await get_active_user(publicity.users["admin"])
    await sla.import_year(admin, 2030, "2030-10-01,休,国庆节\n2030-10-02,休,国庆节\n2030-10-12,班,国庆调休")
    await sla.set_day(admin, date(2030, 10, 7), "holiday")

    def plan(platforms, start, end, **extra):
        return {"platforms": platforms, "campaign_format": "quiz", "starts_at": start, "ends_at": end, **extra}

    ids = {
        "quiz": await publicity.card(
            title="医保知识挑战",
            **plan(["douyin"], at(1), at(3, 18), moments=[{"at": at(2, 20).isoformat(), "label": "直播开始"}]),
        ),
        "live": await health.card(title="健康直播问答", **plan(["douyin", "weibo"], at(3), at(5, 18))),
        "poll": await health.card(title="微信投票", **plan(["wechat"], at(2), at(4, 18))),
        # Ends at midnight: its last day is the 9th, so it does not meet "autumn" on the 10th.
        "midnight": await health.card(title="抖音短视频征集", **plan(["douyin"], at(8), at(10, 0))),
        "autumn": await publicity.card(title="秋季征文", **plan(["douyin"], at(10), at(12, 18))),
        "old": await publicity.card(column="archived", title="去年的活动", **plan(["douyin"], at(2), at(3))),
        "november": await health.card(title="十一月活动", **plan(["douyin"], at(3, month=11), at(5, month=11))),
        "late": await health.card(title="十月下旬直播", **plan(["douyin"], at(21), at(22, 18))),
    }
    liaison = await publicity.access("liaison")
    ids["health_dept"] = (
        await cards.create_card(
            liaison, publicity.columns["planning"], {"title": "卫健科普", **plan(["douyin"], at(20), at(21))}
        )
    ).card_id
    return publicity, health, ids


def titles(view) -> set[str]:
    return {campaign["title"] for campaign in view["campaigns"]}


async def test_the_month_shows_both_boards_campaigns_on_their_days_with_holidays_and_makeup_days(world, client):
    publicity, health, ids = world
    view = await calendar.month_view(await get_active_user(publicity.users["member"]), OCTOBER)
    assert titles(view) == {
        "医保知识挑战",
        "健康直播问答",
        "微信投票",
        "抖音短视频征集",
        "秋季征文",
        "去年的活动",
        "卫健科普",
        "十月下旬直播",
    }
    days = {day["date"]: day for week in view["weeks"] for day in week}
    assert [len(week) for week in view["weeks"]] == [7] * len(view["weeks"])
    assert view["weeks"][0][0]["date"].weekday() == 0  # weeks start on Monday
    on = {d: {entry["campaign"]["title"] for entry in days[date(2030, 10, d)]["campaigns"]} for d in (1, 3, 6, 9, 10)}
    assert on == {
        1: {"医保知识挑战"},
        3: {"医保知识挑战", "健康直播问答", "微信投票", "去年的活动"},
        6: set(),
        9: {"抖音短视频征集"},
        10: {"秋季征文"},
    }
    kinds = {d: days[date(2030, 10, d)]["kind"] for d in (1, 2, 5, 7, 8, 12)}
    assert kinds == {1: "holiday", 2: "holiday", 5: "weekend", 7: "holiday", 8: "workday", 12: "makeup_workday"}
    assert days[date(2030, 10, 1)]["note"] == "国庆节"
    assert [m["label"] for m in days[date(2030, 10, 2)]["moments"]] == ["直播开始"]
    # Only the Douyin campaigns that share days clash; the archived one is greyed, not a clash.
    assert [clash["text"] for clash in view["clashes"]] == [
        "抖音：“医保知识挑战”与“健康直播问答”在 10-03 同时进行",
        "抖音：“卫健科普”与“十月下旬直播”在 10-21 同时进行",
    ]

    await login(client, "member")
    page = await client.get("/campaigns/calendar?month=2030-10")
    assert page.status_code == 200
    html = page.text
    assert 'data-date="2030-10-01" data-kind="holiday"' in html and "国庆节" in html
    assert 'data-date="2030-10-12" data-kind="makeup_workday"' in html
    assert "抖音：“医保知识挑战”与“健康直播问答”在 10-03 同时进行" in html
    assert f'href="/boards/{health.board_id}?card={ids["live"]}"' in html
    assert "is-archived" in html and "is-clashing" in html and "直播开始" in html
    assert 'href="/campaigns/calendar?month=2030-09"' in html and 'href="/campaigns/calendar?month=2030-11"' in html
    assert "周一" in html and "活动日历" in html and "国庆调休" in html

    only_wechat = await client.get(f"/campaigns/calendar?month=2030-10&board={health.board_id}&platform=wechat")
    assert "微信投票" in only_wechat.text and "健康直播问答" not in only_wechat.text
    assert "同时进行" not in only_wechat.text

    board = await client.get(f"/boards/{publicity.board_id}")
    assert 'href="/campaigns/calendar" data-campaign-calendar' in board.text


async def test_people_see_only_the_campaigns_of_the_boards_and_cards_they_may_see(world, client):
    publicity, health, ids = world
    liaison = await get_active_user(publicity.users["liaison"])
    assert titles(await calendar.month_view(liaison, OCTOBER)) == {"卫健科普"}
    outsider = await get_active_user(publicity.users["outsider"])
    assert titles(await calendar.month_view(outsider, OCTOBER)) == set()
    # Her campaign clashes with one on a board she is not on: not for her to see.
    assert await calendar.clashes_for(await publicity.access("liaison"), ids["health_dept"]) == []
    member_sees = await calendar.clashes_for(await publicity.access("member"), ids["health_dept"])
    assert [clash["title"] for clash in member_sees] == ["十月下旬直播"]

    await login(client, "outsider")
    page = await client.get("/campaigns/calendar?month=2030-10")
    assert page.status_code == 200 and "医保知识挑战" not in page.text and "data-campaign=" not in page.text
    assert (await client.get(f"/campaigns/{ids['quiz']}/clashes")).status_code == 404
    api = await client.get("/api/v1/campaigns/calendar?month=2030-10")
    assert api.status_code == 200 and api.json()["campaigns"] == [] and api.json()["clashes"] == []


async def test_a_clash_is_the_same_platform_on_the_same_days_and_a_save_that_makes_one_is_warned(world, client):
    publicity, health, ids = world
    member = await publicity.access("member")
    clashes = await calendar.clashes_for(member, ids["quiz"])
    assert [(c["id"], c["platforms"], c["from"], c["to"]) for c in clashes] == [
        (ids["live"], ["douyin"], date(2030, 10, 3), date(2030, 10, 3))
    ]
    assert await calendar.clashes_for(member, ids["autumn"]) == []  # the other ended the night before
    assert await calendar.clashes_for(await health.access("member"), ids["poll"]) == []  # WeChat only

    # Moving the autumn campaign onto the livestream's days is saved, and then warned about.
    card = await cards.get_card(member, ids["autumn"])
    await cards.update_card(
        member, ids["autumn"], CardForm(version=card["version"], fields={"starts_at": at(4), "ends_at": at(6, 18)})
    )
    clashes = await calendar.clashes_for(member, ids["autumn"])
    assert [(c["title"], c["from"], c["to"]) for c in clashes] == [
        ("健康直播问答", date(2030, 10, 4), date(2030, 10, 5))
    ]

    await login(client, "member")
    section = await client.get(f"/campaigns/{ids['autumn']}/clashes")
    assert section.status_code == 200
    assert f'data-card-version="{card["version"] + 1}"' in section.text
    assert "健康直播问答" in section.text and "10-04 至 10-05" in section.text
    assert f'href="/boards/{health.board_id}?card={ids["live"]}"' in section.text
    quiet = await client.get(f"/campaigns/{ids['poll']}/clashes")
    assert quiet.status_code == 200 and 'data-clashes="0"' in quiet.text and "⚠" not in quiet.text


async def test_a_bad_month_board_or_platform_is_explained_and_the_api_answers_in_json(world, client):
    publicity, health, ids = world
    await login(client, "member")
    this = calendar.this_month()
    for month in ("2030-13", "十月", "1999-01"):
        page = await client.get(f"/campaigns/calendar?month={month}")
        assert page.status_code == 200
        assert 'data-problem="month"' in page.text and f'data-month="{this.key}"' in page.text
    page = await client.get("/campaigns/calendar?month=2030-10&board=999999&platform=tiktok")
    assert 'data-problem="board"' in page.text and 'data-problem="platform"' in page.text
    assert "健康直播问答" in page.text  # every board and platform instead

    bad = await client.get("/api/v1/campaigns/calendar?month=2030-13")
    assert bad.status_code == 400 and "month" in bad.json()["errors"]
    assert (await client.get("/api/v1/campaigns/calendar?month=2030-10&platform=tiktok")).status_code == 400

    answer = await client.get("/api/v1/campaigns/calendar?month=2030-10")
    assert answer.status_code == 200
    data = answer.json()
    assert data["month"] == "2030-10" and data["previous"] == "2030-09" and data["next"] == "2030-11"
    assert len(data["days"]) == 31 and data["days"][0] == {
        "date": "2030-10-01",
        "kind": "holiday",
        "note": "国庆节",
        "campaigns": [ids["quiz"]],
    }
    quiz = next(c for c in data["campaigns"] if c["id"] == ids["quiz"])
    assert quiz["platforms"] == ["douyin"] and quiz["clashing"] is True and quiz["first_day"] == "2030-10-01"
    assert quiz["link"] == f"/boards/{publicity.board_id}?card={ids['quiz']}"
    assert [{c["id"] for c in clash["campaigns"]} for clash in data["clashes"]] == [
        {ids["quiz"], ids["live"]},
        {ids["health_dept"], ids["late"]},
    ]
    assert data["clashes"][0]["from"] == data["clashes"][0]["to"] == "2030-10-03"


async def test_once_approved_a_campaign_is_on_the_calendar_and_its_tile_as_approved_not_as_proposed(world, client):
    """A change to an approved plan is a proposal: until it is approved the calendar, its clash
    warnings and the tile keep the approved dates, platforms and key moments."""
    publicity, health, ids = world
    member, manager = await publicity.access("member"), await publicity.access("manager")
    autumn = ids["autumn"]

    async def edit(**fields):
        card = await cards.get_card(member, autumn)
        await cards.update_card(member, autumn, CardForm(version=card["version"], fields=fields))

    async def decide(action: str, **payload):
        pending = (await workflow.summary(manager, autumn))["pending_version"]
        return await workflow.act(manager, autumn, action, {"version": pending, **payload})

    await edit(
        theme="秋季主题征文",
        targets={"douyin": {"participants": 2000}},
        assignee=publicity.users["member"],
        moments=[{"at": at(11, 19).isoformat(), "label": "作品展播"}],
    )
    await workflow.act(member, autumn, "submit", {})
    await decide("approve")

    async def shown() -> tuple[dict, list[str], list]:
        view = await calendar.month_view(await get_active_user(publicity.users["member"]), OCTOBER)
        campaign = next(c for c in view["campaigns"] if c["id"] == autumn)
        days = {day["date"].day: day for week in view["weeks"] for day in week if day["in_month"]}
        running_on = [d for d, day in days.items() if any(e["campaign"]["id"] == autumn for e in day["campaigns"])]
        moments = [(d, m["label"]) for d, day in days.items() for m in day["moments"] if m["campaign"]["id"] == autumn]
        texts = [clash["text"] for clash in view["clashes"] if "秋季征文" in clash["text"]]
        return {"days": running_on, "moments": moments, "platforms": campaign["platforms"]}, texts, campaign

    approved = {"days": [10, 11, 12], "moments": [(11, "作品展播")], "platforms": ["douyin"]}
    assert (await shown())[:2] == (approved, [])

    # Proposed: onto the livestream's days (Douyin, 10-03 to 10-05) and onto Weibo too.
    await edit(
        starts_at=at(3),
        ends_at=at(5, 18),
        platforms=["douyin", "weibo"],
        targets={"douyin": {"participants": 2000}},
        moments=[{"at": at(4, 19).isoformat(), "label": "作品展播"}],
    )
    for step in ("proposed", "submitted", "returned"):
        if step == "submitted":
            await workflow.act(member, autumn, "submit", {"note": "提前到国庆"})
        if step == "returned":
            await decide("return", reason="与卫健委直播撞期")
        where, clashes, campaign = await shown()
        assert (where, clashes) == (approved, []), step
        assert campaign["starts_at"] == at(10) and campaign["ends_at"] == at(12, 18)
        assert await calendar.clashes_for(member, autumn) == [], step
    await login(client, "member")
    api = (await client.get("/api/v1/campaigns/calendar?month=2030-10")).json()
    entry = next(c for c in api["campaigns"] if c["id"] == autumn)
    assert (entry["first_day"], entry["platforms"], entry["clashing"]) == ("2030-10-10", ["douyin"], False)
    board = (await client.get(f"/boards/{publicity.board_id}")).text
    assert "10-10–10-12" in board and "10-03–10-05" not in board  # the tile: the approved dates

    # Submitted again and approved: now it runs on the new days, and clashes.
    await workflow.act(member, autumn, "submit", {"note": "已与卫健委错开时段"})
    await decide("approve")
    where, clashes, campaign = await shown()
    assert where == {"days": [3, 4, 5], "moments": [(4, "作品展播")], "platforms": ["weibo", "douyin"]}
    assert clashes == [
        "抖音：“医保知识挑战”与“秋季征文”在 10-03 同时进行",
        "微博、抖音：“健康直播问答”与“秋季征文”在 10-03 至 10-05 同时进行",
    ]
    assert [c["title"] for c in await calendar.clashes_for(member, autumn)] == ["医保知识挑战", "健康直播问答"]
    board = (await client.get(f"/boards/{publicity.board_id}")).text
    assert "10-03–10-05" in board and "10-10–10-12" not in board


async def test_before_any_approval_the_draft_is_what_the_calendar_shows(world):
    publicity, health, ids = world
    member = await publicity.access("member")
    card = await cards.get_card(member, ids["autumn"])
    await cards.update_card(
        member, ids["autumn"], CardForm(version=card["version"], fields={"starts_at": at(3), "ends_at": at(3, 18)})
    )
    assert [c["title"] for c in await calendar.clashes_for(member, ids["autumn"])] == ["医保知识挑战", "健康直播问答"]
