"""Defects found by trying the portal as a new user would (issue 8, item 9)."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.boards.tables import BoardColumn
from tests import factories
from tests.conftest import csrf_from, login


@pytest.fixture
async def world(clean_db):
    return await factories.board("comments")


@pytest.fixture
async def manager(world):
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        await login(client, "manager", factories.PASSWORD)
        yield client


async def test_the_settings_page_title_is_just_a_title(world, manager):
    page = (await manager.get(f"/boards/{world.board_id}/settings")).text
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<form" not in title and "_csrf_token" not in title and "测试看板" in title


async def test_a_column_archived_and_added_again_with_the_same_name(world, manager):
    token = csrf_from((await manager.get(f"/boards/{world.board_id}/settings")).text)
    url = f"/boards/{world.board_id}/settings/columns"
    assert (
        await manager.post(
            url, data={"name": "复核", "meaning": "working", "_csrf_token": token}, follow_redirects=False
        )
    ).status_code == 303
    column = await BoardColumn.select().where(BoardColumn.name == "复核").first()
    archived = await manager.post(f"{url}/{column['id']}/archive", data={"_csrf_token": token}, follow_redirects=False)
    assert archived.status_code == 303
    again = await manager.post(
        url, data={"name": "复核", "meaning": "working", "_csrf_token": token}, follow_redirects=False
    )
    assert again.status_code == 303
    keys = [row["key"] for row in await BoardColumn.select(BoardColumn.key).where(BoardColumn.board == world.board_id)]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("text", ["100%", "a_b", '说"明"'])
async def test_filter_text_is_matched_literally(world, manager, text):
    wanted = await world.card(column="new", title=f"标题 {text} 在这里")
    other = await world.card(column="new", title="标题 100 ab 说明")
    page = (await manager.get(f"/boards/{world.board_id}", params={"q": text})).text
    assert f'id="card-{wanted}"' in page and f'id="card-{other}"' not in page
    assert f'value="{text}"' in page.replace("&#34;", '"').replace("&quot;", '"')
