"""Security headers, the CSP's promise (no inline script) and the navigation by role."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.conftest import login


async def test_security_headers_on_every_page(client, users):
    for url in ["/login", "/healthz"]:
        response = await client.get(url)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


async def test_session_cookie_flags(client, users):
    response = await login(client, "member")
    set_cookie = next(h for h in response.history[0].headers.get_list("set-cookie") if h.startswith("portal_session="))
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie.replace("Lax", "lax")
    assert "Secure" not in set_cookie  # plain http in tests; PORTAL_BASE_URL=https://… turns it on


@pytest.mark.parametrize("role", ["admin", "member"])
async def test_pages_have_no_inline_script(client, users, role):
    await login(client, role)
    for url in ["/boards", "/my-work", "/notifications", "/account"] + (
        ["/admin/users", "/admin/audit"] if role == "admin" else []
    ):
        html = (await client.get(url)).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script on {url}: {tag}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {url}"


async def test_navigation_shows_admin_only_to_admins(client, users):
    await login(client, "member")
    html = (await client.get("/boards")).text
    assert 'href="/admin/users"' not in html
    assert 'href="/my-work"' in html and 'href="/notifications"' in html
    await client.post("/logout", headers={"x-csrftoken": re.search(r'"x-csrftoken": "([^"]+)"', html).group(1)})
    await login(client, "admin")
    assert 'href="/admin/users"' in (await client.get("/boards")).text


async def test_boards_page_lists_every_board_for_admin(client):
    # Admins see every board without being a member of any.
    world = await factories.board("comments", people={"admin": ("admin", None, "")}, name="留言评论")
    await world.board("inquiries", name="问题解答")
    await world.board("campaigns", name="互动活动")
    response = await login(client, "admin", factories.PASSWORD)
    assert response.url.path == "/stats"  # administrators, managers and leaders land on the figures
    response = await client.get("/boards")
    for name in ["留言评论", "问题解答", "互动活动"]:
        assert name in response.text
    assert response.text.count('class="board-tile') == 3


async def test_board_page_shows_columns_and_cards_to_members(client):
    world = await factories.board("comments", people={"zhangwei": ("member", "publicity", "member")})
    cards = {key: await world.card("zhangwei", column=key, title=f"卡片 {key}") for key in world.columns}
    await login(client, "zhangwei", factories.PASSWORD)
    boards = (await client.get("/boards")).text
    board_id = re.search(r'href="/boards/(\d+)"', boards).group(1)
    html = (await client.get(f"/boards/{board_id}")).text
    assert html.count('<section class="column') == 5
    shown = re.findall(r'<article class="card[^"]*" id="card-(\d+)" data-card-id="\d+" data-version="\d+"', html)
    assert sorted(shown) == sorted(str(card_id) for card_id in cards.values())
    for key, card_id in cards.items():  # each card in its own column
        column = html.split(f'id="column-{world.columns[key]}"', 1)[1].split("<section", 1)[0]
        assert f'id="card-{card_id}"' in column


async def test_my_work_lists_only_my_open_cards(client):
    people = {"zhangwei": ("member", "publicity", "member"), "lina": ("member", "publicity", "member")}
    world = await factories.board("comments", people=people)
    zhang, lina = world.users["zhangwei"], world.users["lina"]
    mine = await world.card("zhangwei", column="pending", title="我的待处理", assignee=zhang)
    closed = await world.card("zhangwei", column="closed", title="我的已关闭", assignee=zhang)
    theirs = await world.card("zhangwei", column="pending", title="李娜的", assignee=lina)
    await login(client, "zhangwei", factories.PASSWORD)
    html = (await client.get("/my-work")).text
    assert f"my-card-{mine}" in html
    assert f"my-card-{closed}" not in html and f"my-card-{theirs}" not in html
    assert "已关闭" not in re.sub(r"<nav.*?</nav>", "", html, flags=re.S).split("<tbody>")[1]


async def test_my_work_lists_the_nearest_deadline_first_with_its_due_time(clean_db, client):
    from datetime import UTC, datetime, timedelta

    from portal.cards.tables import Card

    world = await factories.board("comments", people={"zhangwei": ("member", "publicity", "member", "张伟")})
    now = datetime.now(UTC)
    later = await world.card("zhangwei", "new", title="明天到期", priority="urgent", assignee=world.users["zhangwei"])
    sooner = await world.card("zhangwei", "new", title="一小时后到期", priority="low", assignee=world.users["zhangwei"])
    overdue = await world.card("zhangwei", "new", title="市民13812345678的留言", assignee=world.users["zhangwei"])
    for card_id, due in (
        (later, now + timedelta(days=1)),
        (sooner, now + timedelta(hours=1)),
        (overdue, now - timedelta(hours=2)),
    ):
        await Card.update({Card.due_at: due}).where(Card.id == card_id)
    await login(client, "zhangwei", factories.PASSWORD)
    page = (await client.get("/my-work")).text
    rows = re.findall(r'id="my-card-(\d+)"', page)
    assert rows == [str(overdue), str(sooner), str(later)]  # by deadline, not by priority
    assert "已超时" in page or "Overdue" in page
    assert "13812345678" not in page and "138****5678" in page


async def test_opening_a_notification_marks_it_read_and_goes_to_its_card(clean_db, client):
    from portal.notifications import services as notifications
    from portal.notifications.tables import Notification
    from tests.conftest import csrf_from

    world = await factories.board("comments", people={"zhangwei": ("member", "publicity", "member", "张伟")})
    card_id = await world.card("zhangwei", "new", title="地铁站电梯停运")
    link = f"/boards/{world.board_id}?card={card_id}"
    notice = await notifications.notify(world.users["zhangwei"], "mention", "李娜提到了你", "t:1", link=link)
    await login(client, "zhangwei", factories.PASSWORD)
    page = (await client.get("/notifications")).text
    assert f'action="/notifications/{notice}/read"' in page and 'name="open"' in page
    opened = await client.post(
        f"/notifications/{notice}/read", data={"open": "1", "_csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert opened.status_code == 303 and opened.headers["location"] == link
    assert (await Notification.select(Notification.read_at).where(Notification.id == notice).first())["read_at"]
