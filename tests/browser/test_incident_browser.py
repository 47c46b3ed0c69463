"""An incident's course in a real browser: a manager assesses it, drafts the response
statement, approves and publishes it, and closes the incident with a review — each from the
drawer's buttons, the board following live."""

from __future__ import annotations

import pytest

from portal.accounts.services import get_active_user
from portal.cards.tables import Card
from portal.incidents import services
from portal.incidents.tables import IncidentStatement
from tests import factories
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

PEOPLE = {"chief": ("manager", "cac", "manager", "刘洋")}


@pytest.fixture
async def incident(clean_db):
    world = await factories.board("incidents", people=PEOPLE)
    card_id = await services.open_incident(
        await get_active_user(world.users["chief"]),
        title="暴雨后地铁2号线停运传言",
        level="orange",
        topic_id=None,
        comment_card_ids=[],
        alert_id=None,
    )
    return world, card_id


def section(page, card_id):
    return page.locator(f"#incident-workflow-{card_id}")


async def take(page, card_id, action, fill=None):
    """Open the action's form (or press its button), fill it, submit; wait for the section."""
    area = section(page, card_id)
    await area.locator(f'button[data-action="{action}"], summary[data-action="{action}"]').first.wait_for(timeout=5000)
    button = area.locator(f'button[data-action="{action}"]')
    async with page.expect_response(lambda r: r.url.endswith(f"/incidents/{card_id}/{action}")) as answered:
        if await button.count():
            await button.click()
        else:
            await area.locator(f'summary[data-action="{action}"]').click()
            form = area.locator(f'form[hx-post="/incidents/{card_id}/{action}"]')
            if fill:
                await fill(form)
            await form.locator("button[type=submit]").click()
    assert (await answered.value).status == 200, await (await answered.value).text()


async def in_column(page, world, card_id, key):
    await page.wait_for_selector(f"#column-{world.columns[key]} #card-{card_id}", timeout=5000)


async def test_a_manager_takes_an_incident_from_assessment_to_review(incident, live_server, page):
    world, card_id = incident
    await browser_login(page, live_server, "chief", factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"{live_server}/boards/{world.board_id}")
    await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)
    await page.locator(f"#card-{card_id} a.open-card").click()
    await page.wait_for_selector(f'#drawer[data-card-id="{card_id}"] #incident-workflow-{card_id} h3', timeout=5000)

    async def assess(form):
        await form.locator("select[name=level]").select_option("red")
        await form.locator("textarea[name=assessment]").fill("传言扩散快，涉及出行安全")

    await take(page, card_id, "assess", assess)
    await in_column(page, world, card_id, "assessing")

    async def plan(form):
        await form.locator("textarea[name=plan]").fill("联系地铁集团核实，准备辟谣口径")

    await take(page, card_id, "respond-plan", plan)
    await in_column(page, world, card_id, "handling")

    async def draft(form):
        await form.locator("textarea[name=text]").fill("经核实，地铁2号线运营正常，请以官方发布为准。")

    await take(page, card_id, "submit-statement", draft)
    # Not publishable before it is approved: the button is not offered.
    assert await section(page, card_id).locator('button[data-action="publish-statement"]').count() == 0
    await take(page, card_id, "approve-statement")
    await take(page, card_id, "publish-statement")
    await in_column(page, world, card_id, "responding")
    await take(page, card_id, "calm")
    await in_column(page, world, card_id, "calmed")
    assert await section(page, card_id).locator('button[data-action="close"]').count() == 0  # review first

    async def review(form):
        await form.locator("textarea[name=text]").fill("口径发布及时；核实环节可提前。")

    await take(page, card_id, "review", review)
    await section(page, card_id).locator(".incident-review").wait_for(timeout=5000)
    await take(page, card_id, "close")
    await page.wait_for_selector(f"#card-{card_id}", state="detached", timeout=5000)

    statement = await IncidentStatement.select().where(IncidentStatement.card == card_id).first()
    assert statement["status"] == "approved" and statement["published_at"] is not None
    assert (await Card.select(Card.archived).where(Card.id == card_id).first())["archived"] is True
    assert page.console_errors == []
