"""The board in real browsers: drag and drop, live changes between two users, catching up
after a server restart, and the stale-edit message."""

from __future__ import annotations

import pytest

from portal.cards.tables import Card
from tests import factories
from tests.browser.conftest import browser_login
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.browser


@pytest.fixture
async def demo(clean_db):
    """A comments board worked by 张伟 and 李娜, with a card in 新留言 and one in 已回复."""
    people = {"zhangwei": ("member", "publicity", "member", "张伟"), "lina": ("member", "publicity", "member", "李娜")}
    world = await factories.board("comments", people=people)
    await world.card("zhangwei", column="replied", title="已经回复的留言")
    await world.card("zhangwei", column="new", title="地铁站电梯停运")
    return {"board": world.board_id, "columns": world.columns}


async def open_board(page, base, demo, username):
    await browser_login(page, base, username, factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)  # members land on /boards, managers on /stats
    await page.goto(f"{base}/boards/{demo['board']}")
    await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)


async def second_page(browser):
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    return await context.new_page()


async def drag(page, source, target):
    """Drag with real mouse movements (SortableJS listens to pointer events)."""
    box = await source.bounding_box()
    goal = await target.bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    for step in range(1, 11):
        await page.mouse.move(
            box["x"] + box["width"] / 2 + (goal["x"] + 20 - box["x"] - box["width"] / 2) * step / 10,
            box["y"] + box["height"] / 2 + (goal["y"] + 10 - box["y"] - box["height"] / 2) * step / 10,
        )
        await page.wait_for_timeout(30)
    await page.mouse.up()


async def test_drag_and_drop_persists_after_reload(demo, live_server, page):
    await open_board(page, live_server, demo, "zhangwei")
    card = page.locator(f"#column-{demo['columns']['new']} article.card").first
    card_id = await card.get_attribute("data-card-id")
    target = page.locator(f"#column-{demo['columns']['replied']} .cards")
    async with page.expect_response(lambda r: f"/cards/{card_id}/move" in r.url) as moved:
        await drag(page, card, target)
    assert (await moved.value).status == 200
    await page.reload()
    await page.wait_for_selector(f"#column-{demo['columns']['replied']} #card-{card_id}")
    row = await Card.select(Card.column).where(Card.id == int(card_id)).first()
    assert row["column"] == demo["columns"]["replied"]


async def test_a_card_drags_by_its_title_and_a_click_on_it_still_opens_the_drawer(demo, live_server, page):
    await open_board(page, live_server, demo, "zhangwei")
    card = page.locator(f"#column-{demo['columns']['new']} article.card").first
    card_id = await card.get_attribute("data-card-id")
    title = card.locator("h3 a.open-card")
    target = page.locator(f"#column-{demo['columns']['pending']} .cards")
    async with page.expect_response(lambda r: f"/cards/{card_id}/move" in r.url) as moved:
        await drag(page, title, target)
    assert (await moved.value).status == 200
    await page.wait_for_selector(f"#column-{demo['columns']['pending']} #card-{card_id}")
    assert await page.locator("#drawer").is_hidden()  # a drag is not a click
    await page.locator(f"#card-{card_id} h3 a.open-card").click()
    await page.wait_for_selector(f"#drawer[data-card-id='{card_id}']")


async def test_move_edit_and_new_card_appear_for_the_other_user(demo, live_server, page, browser):
    other = await second_page(browser)
    await open_board(page, live_server, demo, "zhangwei")
    await open_board(other, live_server, demo, "lina")
    # A move through the keyboard/phone-friendly drawer menu …
    card = page.locator(f"#column-{demo['columns']['new']} article.card").first
    card_id = await card.get_attribute("data-card-id")
    await card.locator("a.open-card").click()
    await page.wait_for_selector(f'#drawer[data-card-id="{card_id}"]')
    await page.select_option("#move-column", str(demo["columns"]["pending"]))
    await page.click(".move-form button[type=submit]")
    await other.wait_for_selector(f"#column-{demo['columns']['pending']} #card-{card_id}", timeout=3000)
    # … an edit …
    await page.wait_for_selector(f'#card-{card_id}[data-column-id="{demo["columns"]["pending"]}"]', timeout=3000)
    await page.wait_for_selector("#drawer .alert-ok")  # the drawer re-rendered: "已移动。"
    await page.fill("#drawer #f-title", "浏览器里改的标题")
    await page.click("#drawer .card-form button[type=submit]")
    await other.wait_for_selector(f"#card-{card_id} >> text=浏览器里改的标题", timeout=3000)
    # … and a new card, all without reloading the other page.
    await page.fill(f"#column-{demo['columns']['new']} .quick-add input", "实时新增：暴雨积水求助")
    await page.press(f"#column-{demo['columns']['new']} .quick-add input", "Enter")
    await other.wait_for_selector(f"#column-{demo['columns']['new']} >> text=实时新增：暴雨积水求助", timeout=3000)
    # The other user sees who is looking at the board, and who has this card open.
    assert await other.locator(".presence .avatar").count() >= 2
    await other.wait_for_selector(f"#editing-{card_id} >> text=张伟 正在编辑", timeout=3000)
    # … but 张伟 himself is not told that he is editing.
    assert not await page.locator(f"#editing-{card_id}").is_visible()
    assert "正在编辑" not in await page.locator(f"#editing-{card_id}").text_content()
    await other.context.close()


async def test_editing_names_are_shown_as_written(demo, live_server, page, browser):
    from portal.accounts.tables import User

    name = "张伟 & <b>小组</b>"
    await User.update({User.display_name: name}).where(User.username == "zhangwei")
    other = await second_page(browser)
    await open_board(page, live_server, demo, "zhangwei")
    await open_board(other, live_server, demo, "lina")
    card = page.locator(f"#column-{demo['columns']['new']} article.card").first
    card_id = await card.get_attribute("data-card-id")
    await card.locator("a.open-card").click()
    await page.wait_for_selector(f'#drawer[data-card-id="{card_id}"]')
    marker = other.locator(f"#editing-{card_id}")
    await other.wait_for_selector(f"#editing-{card_id}.active", timeout=5000)
    assert await marker.text_content() == f"{name} 正在编辑"
    # The card is re-rendered (its title changes): the marker is put back, still as written.
    await page.fill("#drawer #f-title", "改个标题")
    await page.click("#drawer .card-form button[type=submit]")
    await other.wait_for_selector(f"#card-{card_id} >> text=改个标题", timeout=5000)
    await other.wait_for_selector(f"#editing-{card_id}.active", timeout=5000)
    assert await marker.text_content() == f"{name} 正在编辑"
    await other.context.close()


async def test_a_lost_session_asks_to_log_in_again(demo, page, tmp_path, redis_client):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "first.log"):
        await open_board(page, base, demo, "lina")
        # Redis loses every session (FLUSHALL, a restart without persistence) …
        await redis_client.flushdb()
    # … and the web process restarts: the page reconnects and is told why it may not.
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "second.log"):
        link = page.locator(f'#live-notice a[href="/login?next=%2Fboards%2F{demo["board"]}"]')
        await link.wait_for(timeout=60000)
        assert await link.text_content() == "登录已失效，请重新登录"
        assert await page.locator("#live-status").get_attribute("data-state") == "offline"
        assert "正在重新连接" not in await page.locator("#live-status").text_content()
        # Logging in again leads back to the board, live.
        await link.click()
        await page.fill("#f-username", "lina")
        await page.fill("#f-password", factories.PASSWORD)
        await page.click("button[type=submit].primary")
        await page.wait_for_url(f"{base}/boards/{demo['board']}")
        await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)


async def test_board_catches_up_after_the_server_restarts(demo, page, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "first.log"):
        await open_board(page, base, demo, "lina")
    # While the server is down the socket drops …
    await page.wait_for_selector('#live-status:not([data-state="connected"])', timeout=10000)
    card = (
        await Card.select(Card.id, Card.version)
        .where(Card.column == demo["columns"]["new"])
        .order_by(Card.position)
        .first()
    )
    with portal_process("web", "--port", str(port + 0), port=port, log=tmp_path / "second.log"):
        # … a colleague changes a card through the restarted server …
        from tests.live_helpers import csrf, htmx_post, http_login

        colleague = await http_login(base, "zhangwei", factories.PASSWORD)
        token = await csrf(colleague)
        await htmx_post(
            colleague, f"/cards/{card['id']}", {"title": "重启期间的修改", "version": card["version"]}, token
        )
        # … and the open page reconnects and shows it without a reload.
        await page.wait_for_selector('#live-status[data-state="connected"]', timeout=20000)
        await page.wait_for_selector(f"#card-{card['id']} >> text=重启期间的修改", timeout=10000)


async def test_stale_edit_shows_the_409_message(demo, live_server, page, browser):
    other = await second_page(browser)
    await open_board(page, live_server, demo, "zhangwei")
    await open_board(other, live_server, demo, "lina")
    card = page.locator(f"#column-{demo['columns']['new']} article.card").first
    card_id = await card.get_attribute("data-card-id")
    await card.locator("a.open-card").click()
    await page.wait_for_selector(f'#drawer[data-card-id="{card_id}"]')
    # 李娜 moves it while 张伟 has the drawer open.
    await other.locator(f"#card-{card_id} a.open-card").click()
    await other.wait_for_selector(f'#drawer[data-card-id="{card_id}"]')
    await other.select_option("#move-column", str(demo["columns"]["replied"]))
    await other.click(".move-form button[type=submit]")
    await page.wait_for_selector(f"#column-{demo['columns']['replied']} #card-{card_id}", timeout=3000)
    await page.fill("#drawer #f-title", "张伟没看到移动")
    await page.click("#drawer .card-form button[type=submit]")
    alert = page.locator("#drawer > .alert-error")
    await alert.wait_for(timeout=3000)
    text = await alert.inner_text()
    assert "李娜 刚刚移动了这张卡片" in text
    assert await page.input_value("#drawer #f-title") == "张伟没看到移动"  # nothing lost
    await other.context.close()
