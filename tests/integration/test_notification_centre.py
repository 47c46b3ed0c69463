"""The notification centre for a manager after a busy day: reminders one line per kind and
board ("督办 ×30"), a card's mentions in one line, filters by kind and unread, pages, and
marking a line read marks what it stands for, nothing else."""

from __future__ import annotations

import re

from portal.notifications import services as notifications
from portal.notifications.tables import Notification
from tests import factories
from tests.conftest import csrf_from, login

PEOPLE = {
    "chenjing": ("manager", "publicity", "manager", "陈静"),
    "lina": ("member", "publicity", "member", "李娜"),
}


def lines(html: str) -> list[str]:
    return re.findall(r'<li id="notification-\d+" class="notification.*?</li>\n', html, re.S)


async def busy_day(world: factories.World) -> dict[str, list[int]]:
    """30 overdue comments escalated to 陈静 (督办), two mentions of her on one card, and one
    early-warning alert that is about no card."""
    manager = world.users["chenjing"]
    overdue = [await world.card("lina", column="pending", title=f"逾期留言{i}") for i in range(30)]
    escalations = [
        await notifications.notify(
            manager,
            "escalation",
            f"督办：“逾期留言{i}”已超时",
            f"reminder:{card}:pending:escalation:0:{manager}",
            link=f"/boards/{world.board_id}?card={card}",
            card_id=card,
        )
        for i, card in enumerate(overdue)
    ]
    mentioned = await world.card("lina", column="new", title="地铁站电梯停运")
    mentions = [
        await notifications.notify(
            manager,
            "mention",
            f"李娜在“地铁站电梯停运”中提到了你（{i}）",
            f"mention:{i}:{manager}",
            link=f"/boards/{world.board_id}?card={mentioned}",
            card_id=mentioned,
        )
        for i in range(2)
    ]
    alert = await notifications.notify(
        manager, "escalation", "舆情预警：地铁 停运 暴雨（橙）", "warning:1", link="/warning"
    )
    return {"escalations": escalations, "mentions": mentions, "alert": [alert]}


async def test_a_busy_day_fits_on_one_screen(client):
    world = await factories.board("comments", people=PEOPLE, name="网友留言")
    await busy_day(world)
    await login(client, "chenjing")
    page = (await client.get("/notifications")).text
    shown = lines(page)
    assert len(shown) == 3
    reminders = next(line for line in shown if "×30" in line)
    assert "督办" in reminders and "网友留言" in reminders and "显示全部 30 条" in reminders
    assert any("×2" in line and "提到了你" in line for line in shown)
    assert any("舆情预警" in line and "×" not in line for line in shown)


async def test_marking_a_line_read_marks_only_what_it_stands_for(client):
    world = await factories.board("comments", people=PEOPLE)
    ids = await busy_day(world)
    await login(client, "chenjing")
    page = (await client.get("/notifications?unread=1")).text
    response = await client.post(
        f"/notifications/{ids['escalations'][-1]}/read",
        data={"group": "1", "back": "/notifications?unread=1", "_csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/notifications?unread=1"
    unread = {row["id"] for row in await Notification.select(Notification.id).where(Notification.read_at.is_null())}
    assert unread == set(ids["mentions"] + ids["alert"])
    page = (await client.get("/notifications?unread=1")).text
    assert len(lines(page)) == 2 and "×30" not in page
    # Opening a mention line opens its card and marks both mentions read.
    opened = await client.post(
        f"/notifications/{ids['mentions'][-1]}/read",
        data={"open": "1", "group": "1", "_csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert opened.status_code == 303 and opened.headers["location"].startswith(f"/boards/{world.board_id}?card=")
    unread = {row["id"] for row in await Notification.select(Notification.id).where(Notification.read_at.is_null())}
    assert unread == set(ids["alert"])


async def test_filters_pages_and_someone_elses_notice(client):
    world = await factories.board("comments", people=PEOPLE)
    await busy_day(world)
    manager = world.users["chenjing"]
    for i in range(25):
        await notifications.notify(manager, "task", f"活动任务到期 {i}", f"task:{i}")
    await login(client, "chenjing")
    mentions = (await client.get("/notifications?kind=mention")).text
    assert len(lines(mentions)) == 1 and "提到了你" in lines(mentions)[0]
    assert '<option value="mention" selected>' in mentions
    first = (await client.get("/notifications")).text
    assert len(lines(first)) == 20 and "第 1 页，共 2 页" in first
    second = (await client.get("/notifications?page=2")).text
    assert len(lines(second)) == 8
    assert set(lines(first)).isdisjoint(lines(second))
    # Nonsense in the URL is the first page; a way back outside the centre is not followed.
    assert len(lines((await client.get("/notifications?page=abc")).text)) == 20
    notice = re.search(r'id="notification-(\d+)"', first).group(1)
    response = await client.post(
        f"/notifications/{notice}/read",
        data={"back": "//elsewhere.example/x", "_csrf_token": csrf_from(first)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/notifications"
    # 李娜 cannot mark 陈静's notices.
    await login(client, "lina")
    page = (await client.get("/notifications")).text
    refused = await client.post(f"/notifications/{notice}/read", data={"group": "1", "_csrf_token": csrf_from(page)})
    assert refused.status_code == 404
