"""An inquiry's whole loop in real browsers, across the centre and two departments' liaisons:
each works the case from the drawer's buttons, and everyone's board follows live."""

from __future__ import annotations

import pytest

from portal.inquiries.tables import InquiryStep
from tests import factories
from tests.browser.conftest import browser_login
from tests.browser.test_board_browser import drag, second_page

pytestmark = pytest.mark.browser

PEOPLE = {
    "centre": ("member", "centre", "member", "王敏"),
    "yb": ("liaison", "medins", "member", "医保局联络员"),
    "rs": ("liaison", "hrss", "member", "人社局联络员"),
}


@pytest.fixture
async def case(clean_db):
    world = await factories.board("inquiries", people=PEOPLE)
    card_id = await world.card(
        "centre", "pending_accept", title="异地就医住院怎么报销", body="在外地住院，医保报销需要什么手续？"
    )
    return world, card_id


async def open_board(page, base, world, username):
    await browser_login(page, base, username, factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)  # members land on /boards, managers on /stats
    await page.goto(f"{base}/boards/{world.board_id}")
    await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)


async def open_case(page, card_id):
    await page.locator(f"#card-{card_id} a.open-card").click()
    await page.wait_for_selector(f'#drawer[data-card-id="{card_id}"] #inquiry-workflow-{card_id} h3', timeout=5000)


def section(page, card_id):
    return page.locator(f"#inquiry-workflow-{card_id}")


async def take(page, card_id, action, fill=None):
    """Open the action's form (or press its button), fill it, submit; wait for the section."""
    area = section(page, card_id)
    await area.locator(f'button[data-action="{action}"], summary[data-action="{action}"]').first.wait_for(timeout=5000)
    button = area.locator(f'button[data-action="{action}"]')
    async with page.expect_response(lambda r: r.url.endswith(f"/inquiries/{card_id}/{action}")) as answered:
        if await button.count():
            await button.click()
        else:
            await area.locator(f'summary[data-action="{action}"]').click()
            form = area.locator(f'form[hx-post="/inquiries/{card_id}/{action}"]')
            if fill:
                await fill(form)
            await form.locator("button[type=submit]").click()
    assert (await answered.value).status == 200, await (await answered.value).text()


async def in_column(page, world, card_id, key):
    await page.wait_for_selector(f"#column-{world.columns[key]} #card-{card_id}", timeout=5000)


async def test_a_case_goes_round_the_loop_across_two_departments(case, live_server, page, browser):
    world, card_id = case
    yb, rs = await second_page(browser), await second_page(browser)
    await open_board(page, live_server, world, "centre")
    await open_case(page, card_id)

    async def accept(form):
        await form.locator("select[name=category]").select_option("policy")
        await form.locator("select[name=urgency]").select_option("urgent")

    await take(page, card_id, "accept", accept)

    async def dispatch(form):
        await form.locator("select[name=lead_department]").select_option(str(world.departments["medins"]))
        await form.locator(f'input[name=assisting_departments][value="{world.departments["hrss"]}"]').check()
        await form.locator("textarea[name=instructions]").fill("请医保局牵头，人社局协办")

    await take(page, card_id, "dispatch", dispatch)
    await in_column(page, world, card_id, "dispatched")

    # 医保局's liaison now sees the case (routed to her department) and signs for it.
    await open_board(yb, live_server, world, "yb")
    await in_column(yb, world, card_id, "dispatched")
    await open_case(yb, card_id)
    await take(yb, card_id, "sign")
    await in_column(page, world, card_id, "handling")  # live on the centre's board

    await open_board(rs, live_server, world, "rs")
    await open_case(rs, card_id)

    async def opinion(form):
        await form.locator("textarea[name=text]").fill("人社局无异议")

    await take(rs, card_id, "opinion", opinion)

    async def answer(form):
        await form.locator("textarea[name=answer]").fill("办理异地就医备案后，住院费用可直接结算。")

    await take(yb, card_id, "submit_answer", answer)
    await in_column(page, world, card_id, "review")

    # The centre's open drawer follows live: its section now offers the approval.
    await take(page, card_id, "approve")
    await in_column(yb, world, card_id, "answered")

    async def satisfied(form):
        # force: the drawer's live countdown may shift the form by a pixel between frames.
        await form.locator('input[name=verdict][value="satisfied"]').check(force=True)

    await take(page, card_id, "follow_up", satisfied)
    await in_column(yb, world, card_id, "closed")
    await in_column(rs, world, card_id, "closed")
    await section(page, card_id).locator('[data-state="closed"]').wait_for()
    timeline = section(page, card_id).locator("li.case-step")
    assert await timeline.count() == 7
    actions = [row["action"] for row in await InquiryStep.select(InquiryStep.action).where(InquiryStep.card == card_id)]
    assert actions == ["accept", "dispatch", "sign", "opinion", "submit_answer", "approve", "follow_up"]


async def test_a_liaison_cannot_drag_a_case_to_closed(case, live_server, page):
    world, card_id = case
    from portal.inquiries import workflow

    await workflow.act(await world.access("centre"), card_id, "accept", {"category": "policy", "urgency": "normal"})
    await workflow.act(
        await world.access("centre"), card_id, "dispatch", {"lead_department": world.departments["medins"]}
    )
    await page.set_viewport_size({"width": 2200, "height": 900})  # every column on screen
    await open_board(page, live_server, world, "yb")
    card = page.locator(f"#card-{card_id}")
    async with page.expect_response(lambda r: f"/cards/{card_id}/move" in r.url) as moved:
        await drag(page, card, page.locator(f"#column-{world.columns['closed']} .cards"))
    assert (await moved.value).status == 409
    # The card goes back where it was, and the person is told why.
    await in_column(page, world, card_id, "dispatched")
    flash = page.locator("#flash.flash-error")
    await flash.wait_for(timeout=5000)
    assert "办结" in await flash.inner_text()  # names the state it may not reach
