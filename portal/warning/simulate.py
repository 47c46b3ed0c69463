"""Surges for demos, the benchmark and the tests: comments about one topic arriving fast over a
background of ordinary comments, every one through the intake path (the same card creation,
triage and live updates as a signed post).

Two clocks. ``run_live`` sends in real time and leaves triage (and so the early warning) to a
running worker: ``portal simulate --surge 地铁停运``. ``Simulation`` runs on a simulated clock
in this process — intake, then the triage and the warning step the worker would run, each
comment at its own simulated time — so a day of traffic takes seconds (bench/warning.py).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from portal.boards.access import system_access
from portal.comments import intake_services
from portal.comments import simulate as comment_simulation
from portal.comments.intake import IntakeMessage
from portal.core.errors import FormError
from portal.i18n import gettext as _

PLATFORMS = ("weibo", "wechat", "douyin", "website")
REPLY_OPENERS = ("同问，", "确实，", "+1 ", "我也遇到了：", "")
# The pieces surge comments are made of: "地铁停运" gives "地铁4号线今天早上停运了，……".
SURGE_TOPICS = {
    "地铁停运": (
        ["地铁{n}号线停运了", "地铁{n}号线突然停运", "暴雨地铁停运", "地铁{n}号线全线停运", "地铁站停运"],
        [
            "困在站里一个小时，没人通知",
            "上班全部迟到，谁负责",
            "什么时候恢复运营",
            "为什么不提前发布停运通知",
            "站里挤满了人，太危险了",
            "停运也不广播，太乱了",
            "公交接驳在哪里",
            "请尽快说明停运原因",
        ],
    ),
    "小区停水": (
        ["小区停水{n}天了", "我们小区突然停水", "停水没有通知"],
        ["老人孩子没法生活", "物业不管", "什么时候恢复供水", "水务部门给个说法"],
    ),
}


def surge_texts(topic: str, rng: random.Random) -> Iterator[str]:
    """Endless comments about ``topic``: the shipped pieces for a known one, otherwise the
    topic's words with a complaint around them."""
    heads, tails = SURGE_TOPICS.get(
        topic, ([topic + "的问题", "关于" + topic, topic], ["太不像话了", "谁来管管", "请尽快处理", "已经好几天了"])
    )
    while True:
        head = rng.choice(heads).format(n=rng.randint(1, 9))
        yield f"{head}，{rng.choice(tails)}"


def message(
    text: str, at: datetime, rng: random.Random, platform: str | None = None, author: str | None = None
) -> IntakeMessage:
    """One comment; by someone new unless ``author`` says who (a surge is many people: the
    warning's one-minute window counts people, portal.warning.detection.short_volume). The
    handle is not drawn from ``rng``, so a seeded run's texts and moments stay the same."""
    return IntakeMessage(
        platform=platform or rng.choice(PLATFORMS),
        external_id=f"sim-{uuid.uuid4().hex[:20]}",
        author=author or f"网友{uuid.uuid4().hex[:8]}",
        text=text,
        received_at=at,
    )


async def _comments_board(board_id: int):
    access = await system_access(board_id)
    if access.board_kind != "comments":
        raise FormError({"board": _("Choose a comments board.")})
    return access


async def run_live(
    board_id: int,
    *,
    rate: float,
    seconds: float,
    surge: str,
    surge_count: int,
    surge_seconds: float,
    surge_after: float,
    echo: Callable[[str], None] = print,
) -> tuple[int, int]:
    """Ordinary comments at ``rate`` a second (evenly spaced; ``portal simulate --per-hour 30``
    is 30 an hour, a quiet board's background) for ``seconds``, and ``surge_count`` comments
    about ``surge`` spread over ``surge_seconds`` from ``surge_after`` seconds on; real time,
    triaged by a running worker. Returns (ordinary, surge) comments sent."""
    access = await _comments_board(board_id)
    rng = random.Random()
    ordinary, about = comment_simulation.messages(rng), surge_texts(surge, rng)
    plan = [(index / rate, "ordinary") for index in range(int(rate * seconds))]
    plan += [(surge_after + index * surge_seconds / max(1, surge_count), "surge") for index in range(surge_count)]
    plan.sort()
    started = time.monotonic()
    sent = {"ordinary": 0, "surge": 0}
    for offset, what in plan:
        await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
        if what == "surge":
            await intake_services.receive(access, message(next(about), datetime.now(UTC), rng))
            if sent["surge"] == 0:
                echo(
                    _(
                        "The surge about “%(topic)s” starts now (%(time)s): one comment every %(every)s s.",
                        topic=surge,
                        time=datetime.now().astimezone().strftime("%H:%M:%S"),
                        every=f"{surge_seconds / max(1, surge_count):g}",
                    )
                )
        else:
            await intake_services.receive(access, next(ordinary))
        sent[what] += 1
    return sent["ordinary"], sent["surge"]


@dataclass
class Raised:
    at: datetime
    alert_id: int
    topic_id: int
    level: str
    new: bool


@dataclass
class Simulation:
    """Comments at simulated times, each through intake, triage and the warning step."""

    board_id: int
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    raised: list[Raised] = field(default_factory=list)
    topics: dict[int, int] = field(default_factory=dict)  # card id -> topic id

    async def send(self, text: str, at: datetime, platform: str | None = None, author: str | None = None) -> int:
        from portal.comments import triage
        from portal.warning import services

        access = await _comments_board(self.board_id)
        received = await intake_services.receive(access, message(text, at, self.rng, platform, author))
        await triage.triage_card(received.card_id)
        observed = await services.observe_comment(received.card_id, now=at)
        if observed is not None:
            self.topics[received.card_id] = observed.topic_id
            if observed.alert_id is not None:
                self.raised.append(
                    Raised(at, observed.alert_id, observed.topic_id, observed.level or "", observed.new_alert)
                )
        return received.card_id

    def replies(self, text: str, at: datetime, bursts: float) -> list[tuple[datetime, str]]:
        """Ordinary bursts: with chance ``bursts`` a comment draws one or two more on the
        same subject within two minutes (a popular post's replies), so up to three comments
        on one topic arrive close together without anything happening."""
        if bursts <= 0 or self.rng.random() >= bursts:
            return []
        return [
            (at + timedelta(seconds=self.rng.uniform(5, 120)), f"{self.rng.choice(REPLY_OPENERS)}{text}")
            for _ in range(self.rng.choice((1, 2)))
        ]

    async def ordinary(self, start: datetime, hours: float, per_hour: float, *, bursts: float = 0.0) -> None:
        """Ordinary traffic: the demo city's comments, arriving at random (a Poisson stream)
        at ``per_hour`` on average, busier by day than by night, some with a burst of
        replies (``replies``)."""
        stream = comment_simulation.messages(self.rng)
        at, end = start, start + timedelta(hours=hours)
        events: list[tuple[datetime, str]] = []
        while True:
            local_hour = (at + timedelta(hours=8)).hour
            busy = 1.5 if 8 <= local_hour < 22 else 0.3  # the day's rhythm, about the same mean
            at += timedelta(hours=self.rng.expovariate(per_hour * busy))
            if at >= end:
                break
            text = next(stream).text
            events += [(at, text), *self.replies(text, at, bursts)]
        for moment, text in sorted(e for e in events if e[0] < end):
            await self.send(text, moment)

    async def mixed(
        self,
        start: datetime,
        minutes: float,
        per_hour: float,
        surge: str,
        surge_count: int,
        surge_minutes: float,
        *,
        bursts: float = 0.0,
    ) -> datetime:
        """Ordinary traffic for ``minutes`` with a surge of ``surge_count`` comments about
        ``surge`` over ``surge_minutes`` starting at ``start``; returns the surge's start."""
        stream, about = comment_simulation.messages(self.rng), surge_texts(surge, self.rng)
        events = [(start + timedelta(minutes=surge_minutes * i / surge_count), "surge") for i in range(surge_count)]
        at = start
        while True:
            at += timedelta(hours=self.rng.expovariate(per_hour))
            if at >= start + timedelta(minutes=minutes):
                break
            text = next(stream).text
            events += [(at, text), *self.replies(text, at, bursts)]
        for at, text in sorted(events):
            await self.send(next(about) if text == "surge" else text, at)
        return start
