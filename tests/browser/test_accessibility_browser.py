"""Accessibility, measured: axe-core (pinned in tests/browser/vendor, never served) runs on
every main page as each role would see it, in Chinese, at desktop width (a member's and a
liaison's at phone width too), and finds no serious or critical violation; no page logs a
console error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import factories
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PEOPLE = {
    "admin": ("admin", None, ""),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
    "zhangwei": ("member", "publicity", "member", "张伟"),
    "hejianguo": ("viewer", "publicity", "viewer", "何建国"),
    "wangfang": ("liaison", "health", "member", "王芳"),
}


@pytest.fixture
async def city(clean_db):
    """One board of each kind with a card or two, as the pages need something to show."""
    comments = await factories.board("comments", people=PEOPLE, name="网友留言")
    health = comments.departments["health"]
    await comments.card("zhangwei", column="new", title="地铁站电梯停运", platform="weibo", labels=["交通"])
    await comments.card("zhangwei", column="closed", title="公交线路调整的建议")
    inquiries = await comments.board("inquiries", name="12345 工单")
    await inquiries.card("chenjing", column="pending_accept", title="医保报销比例咨询", department=health)
    campaigns = await comments.board("campaigns", name="互动活动")
    await campaigns.card("chenjing", column="planning", title="医保知识挑战赛")
    incidents = await comments.board("incidents", name="舆情事件")
    return {"comments": comments, "inquiries": inquiries, "campaigns": campaigns, "incidents": incidents}


def pages_for(city, role: str) -> list[str]:
    boards = [f"/boards/{world.board_id}" for world in city.values()]
    common = ["/boards", "/my-work", "/notifications", "/account", "/search?q=地铁", *boards]
    common.append(f"/boards/{city['comments'].board_id}?view=list")
    if role in ("admin", "chenjing", "hejianguo"):
        common += ["/stats"]
    if role == "admin":
        common += ["/admin/users", "/admin/audit", f"/boards/{city['comments'].board_id}/settings"]
    if role == "chenjing":
        common += [f"/boards/{city['comments'].board_id}/settings", "/warning"]
    return common


async def violations(page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now."""
    await page.evaluate(AXE)
    result = json.loads(
        await page.evaluate(
            "async () => JSON.stringify((await axe.run(document, {resultTypes: ['violations']})).violations)"
        )
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5], "help": v["help"]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("role", ["admin", "chenjing", "zhangwei", "hejianguo", "wangfang"])
async def test_no_serious_accessibility_violation_on_any_page(city, live_server, browser, role):
    # axe is injected by the test: the page's strict CSP would (rightly) refuse it.
    found = {}
    errors = []
    # Phones are what members and liaisons reply from: their pages at phone width too.
    sizes = ((1440, 900), (390, 844)) if role in ("zhangwei", "wangfang") else ((1440, 900),)
    for width, height in sizes:
        context = await browser.new_context(
            locale="zh-CN",
            viewport={"width": width, "height": height},
            bypass_csp=True,
            # Without motion, so axe measures colours as they stay, not halfway through the
            # drawer's fade-in (a contrast check mid-animation failed now and then).
            reduced_motion="reduce",
        )
        page = await context.new_page()
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        await browser_login(page, live_server, role, factories.PASSWORD)
        await page.wait_for_url(lambda url: "/login" not in url)
        # Every page at desktop width; at phone width the pages whose layout changes most.
        paths = pages_for(city, role) if width > 400 else [f"/boards/{city['comments'].board_id}", "/notifications"]
        for path in paths:
            await page.goto(live_server + path)
            await page.wait_for_load_state("networkidle")
            problems = await violations(page)
            if problems:
                found[f"{width} {path}"] = problems
            opener = page.locator("article.card a.open-card")
            if path == f"/boards/{city['comments'].board_id}" and await opener.count():
                # The drawer, open on a card (what every role works in most).
                await opener.first.click()
                await page.wait_for_selector("#drawer:not([hidden]) h2, #drawer:not([hidden]) form", timeout=10000)
                problems = await violations(page)
                if problems:
                    found[f"{width} {path} drawer"] = problems
        await context.close()
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
    assert errors == []
