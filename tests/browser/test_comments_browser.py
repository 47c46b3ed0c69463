"""Replying to comments in real browsers: a member's reply to a negative comment waits for the
manager, who approves it from the approval queue (or returns it with a reason) while both
watch the board; one template answers several comments at once from the bulk bar; the
editor counts against the platform's limit and an over-long reply is refused."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from portal.boards.tables import Board
from portal.comments.tables import Reply, ReplyTemplate
from portal.sla.tables import CardClock
from tests import factories
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

PEOPLE = {
    "chenjing": ("manager", "publicity", "manager", "陈静"),
    "zhangwei": ("member", "publicity", "member", "张伟"),
}
TEMPLATE_BODY = "{称呼}您好，您反映的公交服务问题已转交{部门}核实处理，感谢监督。"


@pytest.fixture
async def world(clean_db):
    """A comments board of the publicity department, worked by 张伟 and managed by 陈静, with
    one approved reply template (口径)."""
    await factories.department("publicity", "宣传部")
    world = await factories.board("comments", people=PEOPLE)
    await Board.update({Board.department: world.departments["publicity"]}).where(Board.id == world.board_id)
    rows = await ReplyTemplate.insert(
        ReplyTemplate(title="公交服务投诉", category="交通", body=TEMPLATE_BODY, status="approved")
    ).returning(ReplyTemplate.id)
    world.template_id = rows[0]["id"]
    return world


async def comment(world, title: str, sentiment: str = "neutral", handle: str = "市民小李") -> int:
    return await world.card(
        "zhangwei",
        column="new",
        title=title,
        body=f"{title}，希望尽快处理。",
        platform="weibo",
        sentiment=sentiment,
        author_handle=handle,
    )


async def open_board(browser, base: str, world, username: str):
    """A new browser context (its own session) with the board open and live."""
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await browser_login(page, base, username, factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)  # members land on /boards, managers on /stats
    await page.goto(f"{base}/boards/{world.board_id}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=10000)
    return page


async def open_drawer(page, card_id: int):
    """Open the card's drawer from its tile; returns its replies section once loaded."""
    await page.locator(f"#card-{card_id} a.open-card").click()
    await expect(page.locator(f'#drawer[data-card-id="{card_id}"]')).to_be_visible()
    section = page.locator(f"#comment-replies-{card_id}")
    await expect(section.locator("h3")).to_be_visible()
    return section


def tile_in(page, world, column: str, card_id: int):
    return page.locator(f"#column-{world.columns[column]} #card-{card_id}")


async def first_reply_completed(card_id: int) -> bool:
    row = (
        await CardClock.select(CardClock.completed_at)
        .where((CardClock.card_id == card_id) & (CardClock.stage == "first_response"))
        .first()
    )
    return row is not None and row["completed_at"] is not None


async def submit_pending_reply(page, world, card_id: int) -> None:
    """The member answers a negative comment from the template library: it waits for approval."""
    section = await open_drawer(page, card_id)
    await expect(section.locator("button[type=submit].primary")).to_have_text("提交审核")
    await section.locator(f"#reply-template-q-{card_id}").fill("公交")
    choice = section.locator(f"#reply-template-choices-{card_id} button", has_text="公交服务投诉")
    await expect(choice).to_be_visible()
    await choice.click()
    editor = section.locator(f"#reply-body-{card_id}")
    filled = "市民小李您好，您反映的公交服务问题已转交宣传部核实处理，感谢监督。"
    await expect(editor).to_have_value(filled)  # placeholders filled for this comment
    await expect(section.locator(f"#reply-count-{card_id}")).to_have_text(str(len(filled)))
    await section.locator("button[type=submit].primary").click()
    await expect(section.locator(".alert-ok")).to_have_text("回复已提交，等待管理员审核。")
    await expect(section.locator(".reply .reply-status")).to_have_text("待审核")


async def test_a_negative_comments_reply_is_approved_in_the_queue_and_the_card_moves_live(world, live_server, browser):
    card_id = await comment(world, "公交司机态度恶劣", sentiment="negative")
    member = await open_board(browser, live_server, world, "zhangwei")
    manager = await open_board(browser, live_server, world, "chenjing")
    await expect(member.locator(f"#card-{card_id} time.due")).to_be_visible()  # the first-reply clock runs

    await submit_pending_reply(member, world, card_id)
    # Nothing is sent yet: the card stays in 新留言 on both pages, its clock running.
    await expect(tile_in(member, world, "new", card_id)).to_be_visible()
    await expect(tile_in(manager, world, "new", card_id)).to_be_visible()
    await expect(member.locator(f"#deadline-{card_id}")).to_be_visible()

    # The manager opens the approval queue from the menu, in another tab, and approves.
    queue = await manager.context.new_page()
    await queue.goto(f"{live_server}/boards")
    await queue.get_by_role("link", name="待审核回复").click()
    await expect(queue).to_have_url(f"{live_server}/replies/pending")
    item = queue.locator(".pending-reply", has_text="公交司机态度恶劣")
    await expect(item.locator(".reply-body")).to_contain_text("已转交宣传部核实处理")
    await item.get_by_role("button", name="审核通过并发送").click()
    await expect(item.locator(".alert-ok")).to_have_text("已审核通过并发送。")

    # Both board pages see the card move to 已回复 live, its deadline badge gone.
    for page in (member, manager):
        await expect(tile_in(page, world, "replied", card_id)).to_be_visible(timeout=5000)
        await expect(page.locator(f"#column-{world.columns['new']} #card-{card_id}")).to_have_count(0)
        await expect(page.locator(f"#card-{card_id} time.due")).to_have_count(0)
    # The member's open drawer shows the reply sent and the first-reply clock stopped.
    section = member.locator(f"#comment-replies-{card_id}")
    await expect(section.locator(".reply .reply-status")).to_have_text("已发送", timeout=5000)
    await expect(member.locator(f"#deadline-{card_id}")).to_have_count(0)
    assert await first_reply_completed(card_id)
    await member.context.close()
    await manager.context.close()


async def test_a_returned_reply_shows_its_reason_to_the_member(world, live_server, browser):
    card_id = await comment(world, "公交线路调整没有通知", sentiment="negative")
    member = await open_board(browser, live_server, world, "zhangwei")
    manager = await open_board(browser, live_server, world, "chenjing")
    await submit_pending_reply(member, world, card_id)

    queue = await manager.context.new_page()
    await queue.goto(f"{live_server}/replies/pending")
    item = queue.locator(".pending-reply", has_text="公交线路调整没有通知")
    await item.get_by_label("退回原因").fill("请写明新线路的站点和开通时间")
    await item.get_by_role("button", name="退回", exact=True).click()
    await expect(item.locator(".alert-ok")).to_contain_text("请写明新线路的站点和开通时间")

    # Returning changes nothing on the card: the member learns of it from her bell, live …
    await expect(member.locator("#bell .badge")).to_have_text("1", timeout=5000)
    await member.locator("#bell").click()
    notice = member.locator(".notification", has_text="您对“公交线路调整没有通知”的回复被退回")
    await expect(notice).to_contain_text("请写明新线路的站点和开通时间")
    # … which leads to the comment (opening it marks it read), where the drawer says who
    # returned it and why.
    await notice.locator("button.notification-title").click()
    section = member.locator(f"#comment-replies-{card_id}")
    await expect(section.locator(".reply .reply-status")).to_have_text("已退回")
    await expect(section.locator(".reply-note")).to_have_text("陈静退回：请写明新线路的站点和开通时间")
    await expect(section.locator("button[type=submit].primary")).to_have_text("提交审核")  # she may write again
    await expect(tile_in(member, world, "new", card_id)).to_be_visible()
    await expect(tile_in(manager, world, "new", card_id)).to_be_visible()
    assert not await first_reply_completed(card_id)
    assert (await Reply.select(Reply.status).where(Reply.card == card_id).first())["status"] == "returned"
    await member.context.close()
    await manager.context.close()


async def test_one_template_replies_to_several_selected_comments(world, live_server, browser):
    selected = [await comment(world, f"公交到站时间不准 {n}", handle=f"市民{n}") for n in range(3)]
    untouched = await comment(world, "公交卡充值点在哪")
    member = await open_board(browser, live_server, world, "zhangwei")
    manager = await open_board(browser, live_server, world, "chenjing")

    await member.get_by_role("button", name="批量选择").click()
    bar = member.locator("#bulk-bar .bulk-form")
    await expect(bar).to_be_visible()
    for card_id in selected:
        await member.locator(f"#card-{card_id} h3").click()  # in selection mode a click ticks the tile
        await expect(member.locator(f"#card-{card_id} input.bulk-check")).to_be_checked()
    await expect(bar.locator("[data-bulk-count]")).to_have_text("3")
    await expect(member.locator("#drawer[data-card-id]")).to_have_count(0)  # no drawer opened meanwhile
    await bar.locator("select[name=action]").select_option("reply")
    await bar.locator("select[name=template_id]").select_option(str(world.template_id))
    await bar.get_by_role("button", name="应用到所选卡片").click()
    await expect(member.locator("#bulk-result")).to_have_text("已处理 3 条，跳过 0 条。")

    # Neutral comments need no approval: all three are answered and move, on both pages.
    for page in (member, manager):
        for card_id in selected:
            await expect(tile_in(page, world, "replied", card_id)).to_be_visible(timeout=5000)
        await expect(tile_in(page, world, "new", untouched)).to_be_visible()
    rows = await Reply.select(Reply.card, Reply.status, Reply.body).where(Reply.card.is_in(selected))
    assert sorted(row["card"] for row in rows) == sorted(selected)
    assert {row["status"] for row in rows} == {"sent"}
    assert {row["body"][:3] for row in rows} == {"市民0", "市民1", "市民2"}  # each filled for its own author
    await member.context.close()
    await manager.context.close()


async def test_the_reply_editor_counts_against_the_platform_limit_and_refuses_a_long_reply(world, live_server, browser):
    card_id = await comment(world, "公交站牌信息过时")
    other = await comment(world, "公交站台没有遮阳棚")
    member = await open_board(browser, live_server, world, "zhangwei")
    section = await open_drawer(member, card_id)
    editor = section.locator(f"#reply-body-{card_id}")
    count = section.locator(f"#reply-count-{card_id}")
    await expect(section.locator(".reply-editor .help").first).to_contain_text("/ 140")  # Weibo's limit

    await editor.fill("站" * 140)
    await expect(count).to_have_text("140")
    await expect(count).not_to_have_class("reply-count over-limit")
    long = "站" * 141
    await editor.fill(long)
    await expect(count).to_have_text("141")
    await expect(count).to_have_class("reply-count over-limit")
    await section.get_by_role("button", name="发送回复").click()
    error = section.locator(".field-error")
    await expect(error).to_have_text("微博回复最多 140 字，当前 141 字。")
    await expect(section.locator(f"#reply-body-{card_id}")).to_have_value(long)  # nothing lost
    await expect(section.locator(f"#reply-count-{card_id}")).to_have_text("141")
    await expect(tile_in(member, world, "new", card_id)).to_be_visible()
    assert await Reply.count().where(Reply.card == card_id) == 0
    # Another card opens straight from its tile while this drawer is open (nothing asks first).
    member.on("dialog", lambda dialog: pytest.fail(f"unexpected dialog: {dialog.message}"))
    await open_drawer(member, other)
    await expect(member.locator("#drawer-title")).to_have_text("公交站台没有遮阳棚")
    await member.context.close()


async def test_the_board_stays_put_while_the_bulk_bar_arrives(world, live_server, browser):
    """The bulk bar comes after the page; a card about to be grabbed must not slip away."""
    await comment(world, "地铁站电梯停运")
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await browser_login(page, live_server, "zhangwei", factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)

    bar_held = asyncio.Event()

    async def slow_bar(route):
        await bar_held.wait()
        await route.continue_()

    await page.route("**/boards/*/batch", slow_bar)
    await page.goto(f"{live_server}/boards/{world.board_id}", wait_until="domcontentloaded")
    # Everything else first (the live connection, who is looking), the bar held back …
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=10000)
    await page.wait_for_selector(".presence .avatar")
    assert await page.locator("#bulk-bar").count() == 0
    before = await page.locator("article.card").first.bounding_box()
    bar_held.set()  # … then the bar arrives.
    await page.wait_for_selector("#bulk-bar [data-bulk-toggle]")
    after = await page.locator("article.card").first.bounding_box()
    assert after["y"] == before["y"]
    await context.close()
