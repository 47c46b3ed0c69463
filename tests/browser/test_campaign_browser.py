"""A campaign from plan to review in real browsers: a member plans a Douyin 知识挑战 from its
format's template, the manager returns it once and then approves it, three snapshots come in
from a spreadsheet, the tile shows participants at 112 % of the goal on the manager's board
live, and the review page shows goals against results and exports them."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook

from portal.campaigns.tables import CampaignMetric, CampaignTask
from portal.cards.tables import Card
from portal.settings import get_settings
from tests import factories
from tests.browser.conftest import browser_login
from tests.browser.test_board_browser import second_page

pytestmark = pytest.mark.browser

PEOPLE = {
    "lina": ("member", "publicity", "member", "李娜"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
}


@pytest.fixture
async def world(clean_db):
    return await factories.board("campaigns", people=PEOPLE, name="互动活动")


async def open_board(page, base, world, username):
    await browser_login(page, base, username, factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)  # managers land on their figures
    await page.goto(f"{base}/boards/{world.board_id}")
    await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)


async def take(page, card_id, action, reason=None):
    """Press a plan button (or open its form, fill the reason, submit); wait for the answer."""
    area = page.locator(f"#campaign-plan-{card_id}")
    await area.locator(f'[data-action="{action}"]').first.wait_for(timeout=5000)
    async with page.expect_response(lambda r: r.url.endswith(f"/campaigns/{card_id}/plan/{action}")) as answered:
        button = area.locator(f'button[data-action="{action}"]')
        if await button.count():
            await button.click()
        else:
            await area.locator(f'summary[data-action="{action}"]').click()
            form = area.locator(f'form[hx-post="/campaigns/{card_id}/plan/{action}"]')
            if reason:
                await form.locator("textarea[name=reason]").fill(reason)
            await form.locator("button[type=submit]").click()
    assert (await answered.value).status == 200, await (await answered.value).text()


def spreadsheet(start: datetime) -> bytes:
    """Three snapshots as a team's sheet has them: a title line, Chinese headers, local times."""
    book = Workbook()
    sheet = book.active
    sheet.append(["医保知识挑战赛 抖音数据"])
    sheet.append(["平台", "时间", "参与人数", "评论数", "新增粉丝"])
    local = start.astimezone(get_settings().tz)
    for day, (participants, comments, followers) in enumerate([(1800, 300, 260), (4100, 700, 610), (5600, 980, 850)]):
        at = local + timedelta(days=day, hours=8)
        sheet.append(["抖音", at.strftime("%Y-%m-%d %H:%M"), participants, comments, followers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_a_campaign_is_planned_approved_measured_and_reviewed(world, live_server, page, browser):
    manager = await second_page(browser)
    await open_board(page, live_server, world, "lina")
    await open_board(manager, live_server, world, "chenjing")
    tz = get_settings().tz
    start = (datetime.now(UTC) - timedelta(days=3)).astimezone(tz).replace(hour=9, minute=0, second=0, microsecond=0)

    # 李娜 plans a Douyin 知识挑战 with goals of 5,000 participants and 800 new followers.
    await page.click("a.button[href$='/cards/new']")
    await page.wait_for_selector("#drawer form.card-form")
    await page.fill("#drawer #f-title", "医保知识我来答·抖音挑战赛")
    await page.fill("#drawer #f-theme", "医保新政知识普及")
    await page.select_option("#drawer #f-campaign_format", "quiz")
    await page.check("#drawer input[name=platforms][value=douyin]")
    await page.fill("#drawer #f-starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#drawer #f-ends_at", (start + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#drawer input[name='targets.douyin.participants']", "5000")
    await page.fill("#drawer input[name='targets.douyin.new_followers']", "800")
    await page.select_option("#drawer #f-assignee", str(world.users["lina"]))
    await page.click("#drawer form.card-form button[type=submit]")
    await page.wait_for_selector("#drawer[data-card-id]")
    card_id = int(await page.locator("#drawer").get_attribute("data-card-id"))
    # The template's checklist is there, with 发布活动预告.
    await page.wait_for_selector(f"#campaign-tasks-{card_id} li.task >> text=发布活动预告", timeout=5000)
    assert await CampaignTask.count().where(CampaignTask.card == card_id) >= 8
    # The manager sees the new plan arrive live.
    await manager.wait_for_selector(f"#column-{world.columns['planning']} #card-{card_id}", timeout=5000)

    await page.wait_for_selector(f"#campaign-plan-{card_id} h3", timeout=5000)
    await take(page, card_id, "submit")
    await manager.wait_for_selector(f"#column-{world.columns['approval']} #card-{card_id}", timeout=5000)

    # The manager returns it once, with reasons; 李娜's board follows.
    await manager.locator(f"#card-{card_id} a.open-card").click()
    await manager.wait_for_selector(f"#campaign-plan-{card_id} [data-action=return]", timeout=5000)
    await take(manager, card_id, "return", reason="奖励规则写清楚：每日前 100 名答对者赠送文创")
    await page.wait_for_selector(f"#column-{world.columns['planning']} #card-{card_id}", timeout=5000)
    await page.wait_for_selector(f"#campaign-plan-{card_id} [data-returned] >> text=每日前 100 名", timeout=5000)

    # 李娜 opens the plan again, writes the reward rules and submits again; the manager approves.
    await page.locator(f"#card-{card_id} a.open-card").click()
    # The drawer fetched again, at the card's version (a deadline refresh also GETs /cards/{id}).
    await page.wait_for_function(
        """id => { const form = document.querySelector("#drawer form.card-form input[name=version]");
                   const tile = document.getElementById("card-" + id);
                   return form && tile && form.value === tile.dataset.version; }""",
        arg=card_id,
        timeout=5000,
    )
    await page.wait_for_selector(f"#drawer[data-card-id='{card_id}'] #f-reward_rules")
    await page.fill("#drawer #f-reward_rules", "每日前 100 名答对者赠送临江文创帆布袋")
    await page.click("#drawer form.card-form button[type=submit]")
    await page.wait_for_selector("#drawer .alert-ok", timeout=5000)
    await take(page, card_id, "submit")
    await manager.wait_for_selector(f"#column-{world.columns['approval']} #card-{card_id}", timeout=5000)
    await take(manager, card_id, "approve")
    await page.wait_for_selector(f"#column-{world.columns['running']} #card-{card_id}", timeout=5000)

    # Three snapshots from a spreadsheet: 5,600 of 5,000 participants is 112 %.
    section = page.locator(f"#campaign-metrics-{card_id}")
    await section.locator("details.metric-import summary").click()
    await section.locator("input[type=file]").set_input_files(
        files=[{"name": "抖音数据.xlsx", "mimeType": "application/octet-stream", "buffer": spreadsheet(start)}]
    )
    async with page.expect_response(lambda r: r.url.endswith(f"/campaigns/{card_id}/metrics/import")) as imported:
        await section.locator("form[hx-post$='/metrics/import'] button[type=submit]").click()
    assert (await imported.value).status == 200, await (await imported.value).text()
    await page.wait_for_selector(f"#campaign-metrics-{card_id} [data-total=participants] [data-pct='112']")
    assert await CampaignMetric.count().where(CampaignMetric.card == card_id) == 3
    # The manager's tile shows it without a reload.
    await manager.wait_for_selector(f"#card-{card_id} [data-participants-pct='112']", timeout=5000)

    # The campaign ends; its review page shows goals against results and exports them.
    await take(page, card_id, "finish")
    await manager.wait_for_selector(f"#column-{world.columns['review']} #card-{card_id}", timeout=5000)
    review = await page.context.new_page()
    await review.goto(f"{live_server}/campaigns/{card_id}/review")
    text = await review.locator("main").inner_text()
    assert "112%" in text and "5,000" in text and "5,600" in text
    assert "奖励规则写清楚" in text  # the returned version's reasons are on the timeline
    export = await review.request.get(f"{live_server}/campaigns/{card_id}/review.xlsx")
    assert export.status == 200
    book = load_workbook(io.BytesIO(await export.body()))
    values = [cell for row in book.worksheets[1].iter_rows(values_only=True) for cell in row]
    assert 5000 in values and 5600 in values
    title = (await Card.select(Card.title).where(Card.id == card_id).first())["title"]
    assert title == "医保知识我来答·抖音挑战赛"
    assert not [error for error in page.console_errors if "Content Security Policy" in error]
    await manager.context.close()
