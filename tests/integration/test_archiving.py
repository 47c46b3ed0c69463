"""A board after a year of work: done columns show their most recent cards with a "more"
link, the worker archives what has been closed longer than the board's setting (in batches,
through the write path), and an archived card can be found, read and restored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from portal.boards import services as boards
from portal.boards.services import DONE_PAGE
from portal.boards.tables import Board
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.events.tables import Event, Outbox
from tests import factories
from tests.conftest import csrf_from, login

NOW = datetime.now(UTC)


def tile_ids(html: str, column_id: int | None = None) -> list[int]:
    """The card tiles in the page (or in one column's section), in order."""
    if column_id is not None:
        section = re.search(rf'<section class="column[^"]*" id="column-{column_id}".*?</section>', html, re.S)
        html = section.group(0) if section else ""
    return [int(i) for i in re.findall(r'<article class="card[^"]*" id="card-(\d+)"', html)]


def count_badge(html: str, column_id: int) -> str:
    section = re.search(rf'id="column-{column_id}".*?<span class="count[^"]*"[^>]*>([^<]*)</span>', html, re.S)
    return section.group(1)


def more_link(html: str) -> str | None:
    found = re.search(r'<div class="column-more"[^>]*>\s*<a class="button subtle" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


async def closed_cards(world: factories.World, count: int, **fields) -> list[int]:
    """``count`` cards closed one after another: the last closed is at the column's top."""
    return [await world.card("member", column="closed", title=f"已关闭{index}", **fields) for index in range(count)]


async def age(card_ids: list[int], days: float) -> None:
    """As if these cards had reached their column ``days`` ago."""
    await Card.update({Card.column_entered_at: NOW - timedelta(days=days)}).where(Card.id.is_in(card_ids))


async def test_a_done_column_shows_its_most_recent_cards_and_loads_the_rest_in_place(client):
    world = await factories.board("comments")
    closed = await closed_cards(world, DONE_PAGE + 20)
    open_card = await world.card("member", column="new", title="待处理的留言")
    await login(client, "member")
    column = world.columns["closed"]
    page = (await client.get(f"/boards/{world.board_id}")).text
    first = tile_ids(page, column)
    # The most recently closed first, a page of them; the count is the column's total.
    assert first == list(reversed(closed))[:DONE_PAGE]
    assert count_badge(page, column) == str(DONE_PAGE + 20)
    assert open_card in tile_ids(page, world.columns["new"])
    link = more_link(page)
    assert link and f"/columns/{column}/earlier?" in link

    rest = await client.get(link, headers={"HX-Request": "true"})
    assert rest.status_code == 200
    assert tile_ids(rest.text) == list(reversed(closed))[DONE_PAGE:]
    # The last page: the "more" link goes away (swapped out of band, empty).
    assert f'id="more-{column}" hx-swap-oob="true"' in rest.text and more_link(rest.text) is None


async def test_paging_keeps_the_filters_and_a_liaisons_view(client):
    world = await factories.board("comments")
    health = world.departments["health"]
    publicity = world.departments["publicity"]
    theirs = await closed_cards(world, DONE_PAGE + 5, department=publicity)
    ours = await closed_cards(world, 3, department=health, labels=["医保"])
    await login(client, "liaison")
    column = world.columns["closed"]
    page = (await client.get(f"/boards/{world.board_id}")).text
    # Only her department's cards, with the count of those alone, and nothing more to load.
    assert sorted(tile_ids(page, column)) == sorted(ours)
    assert count_badge(page, column) == "3"
    assert more_link(page) is None

    await login(client, "manager")
    filtered = (await client.get(f"/boards/{world.board_id}?label=医保")).text
    assert sorted(tile_ids(filtered, column)) == sorted(ours)
    page = (await client.get(f"/boards/{world.board_id}?priority=normal")).text
    link = more_link(page)
    assert link and "priority=normal" in link
    rest = await client.get(link, headers={"HX-Request": "true"})
    shown = tile_ids(page, column) + tile_ids(rest.text)
    assert sorted(shown) == sorted(theirs + ours)


async def test_the_next_page_refuses_what_is_not_a_done_column_or_a_position(client):
    world = await factories.board("comments")
    await login(client, "member")
    board = world.board_id
    assert (await client.get(f"/boards/{board}/columns/{world.columns['new']}/earlier?after=1")).status_code == 404
    bad = await client.get(f"/boards/{board}/columns/{world.columns['closed']}/earlier?after=abc")
    assert bad.status_code == 422
    other = await world.board("comments")
    assert (await client.get(f"/boards/{board}/columns/{other.columns['closed']}/earlier?after=1")).status_code == 404
    await login(client, "outsider")
    assert (await client.get(f"/boards/{board}/columns/{world.columns['closed']}/earlier?after=1")).status_code == 404


async def test_the_worker_archives_cards_closed_longer_than_the_setting_in_batches(clean_db):
    world = await factories.board("comments")
    old = await closed_cards(world, 5)
    recent = await closed_cards(world, 2)
    working = await world.card("member", column="pending", title="还在处理")
    await age(old, 31)
    await age(recent, 29)
    await age([working], 90)  # open work is never archived, however old
    seq = (await Board.select(Board.seq).where(Board.id == world.board_id).first())["seq"]

    # Two at a time: three units of work for five cards, each with its own sequence number.
    assert await cards.archive_closed_cards(world.board_id, batch=2) == 2
    assert await cards.archive_closed_everywhere() == 3
    rows = await Card.select(Card.id, Card.archived, Card.archived_from, Card.archived_at).where(
        Card.board == world.board_id
    )
    archived = {row["id"] for row in rows if row["archived"]}
    assert archived == set(old)
    assert {row["archived_from"] for row in rows if row["archived"]} == {"done"}
    assert all(row["archived_at"] is not None for row in rows if row["archived"])
    events = await Event.select(Event.seq, Event.actor, Event.object_id).where(
        (Event.board_id == world.board_id) & (Event.verb == "card.archived")
    )
    assert sorted(event["object_id"] for event in events) == sorted(old)
    assert all(event["actor"] is None and event["seq"] > seq for event in events)
    # Nothing left to do: a second pass archives nothing.
    assert await cards.archive_closed_everywhere() == 0


async def test_the_boards_setting_decides_and_zero_means_never(client):
    world = await factories.board("comments")
    old = await closed_cards(world, 2)
    await age(old, 8)
    await login(client, "manager")
    settings = (await client.get(f"/boards/{world.board_id}/settings")).text
    assert 'name="archive_after_days" value="30"' in settings
    token = csrf_from(settings)
    for bad in ("abc", "-1", "99999", ""):
        response = await client.post(
            f"/boards/{world.board_id}/settings/archiving", data={"archive_after_days": bad, "_csrf_token": token}
        )
        assert response.status_code == 422, bad
        assert "0 到 3650" in response.text or "0 to 3650" in response.text
    assert await cards.archive_closed_everywhere() == 0  # 8 days < 30: nothing yet

    response = await client.post(
        f"/boards/{world.board_id}/settings/archiving",
        data={"archive_after_days": "7", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await cards.archive_closed_everywhere() == 2

    await Board.update({Board.archive_after_days: 0}).where(Board.id == world.board_id)
    more = await closed_cards(world, 1)
    await age(more, 400)
    assert await cards.archive_closed_everywhere() == 0
    # Only a board manager changes it.
    await login(client, "member")
    page = (await client.get(f"/boards/{world.board_id}")).text
    response = await client.post(
        f"/boards/{world.board_id}/settings/archiving",
        data={"archive_after_days": "1", "_csrf_token": csrf_from(page)},
    )
    assert response.status_code == 403
    assert (await Board.select(Board.archive_after_days).where(Board.id == world.board_id).first())[
        "archive_after_days"
    ] == 0


async def test_incidents_and_campaigns_are_never_archived_by_the_clock(clean_db):
    incidents = await factories.board("incidents")
    incident = await incidents.card("manager", column="calmed", title="地铁停运舆情")
    campaigns = await incidents.board("campaigns")
    campaign = await campaigns.card("manager", column="archived", title="医保知识挑战赛")
    await age([incident, campaign], 100)
    assert await cards.archive_closed_everywhere() == 0
    rows = await Card.select(Card.archived).where(Card.id.is_in([incident, campaign]))
    assert rows == [{"archived": False}] * 2


async def test_an_archived_card_can_be_read_and_restored_to_the_top_of_its_column(client):
    world = await factories.board("comments")
    archived, *others = await closed_cards(world, 3, body="市民反映地铁临时停运")
    await age([archived], 60)
    assert await cards.archive_closed_everywhere() == 1
    await login(client, "member")
    board_page = (await client.get(f"/boards/{world.board_id}")).text
    assert archived not in tile_ids(board_page)

    page = await client.get(f"/cards/{archived}")
    assert page.status_code == 200
    assert "已归档" in page.text and "已关闭" in page.text and "市民反映地铁临时停运" in page.text
    token = csrf_from(page.text)
    restored = await client.post(f"/cards/{archived}/restore", data={"_csrf_token": token}, follow_redirects=False)
    assert restored.status_code == 303 and restored.headers["location"] == f"/boards/{world.board_id}?card={archived}"
    board_page = (await client.get(f"/boards/{world.board_id}")).text
    assert tile_ids(board_page, world.columns["closed"])[0] == archived
    row = await Card.select(Card.archived, Card.archived_from).where(Card.id == archived).first()
    assert row == {"archived": False, "archived_from": ""}
    mine = (Event.object_type == "card") & (Event.object_id == archived)
    verbs = [e["verb"] for e in await Event.select(Event.verb).where(mine).order_by(Event.id)]
    assert verbs[-2:] == ["card.archived", "card.restored"]
    # It stays for the board's setting before the worker archives it again.
    assert await cards.archive_closed_everywhere() == 0
    # Restoring again (someone else was quicker) just opens it on the board.
    again = await client.post(f"/cards/{archived}/restore", data={"_csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303


async def test_only_editors_restore_and_the_unseen_stay_unseen(client):
    world = await factories.board("comments")
    health = world.departments["health"]
    publicity = world.departments["publicity"]
    theirs = (await closed_cards(world, 1, department=publicity))[0]
    ours = (await closed_cards(world, 1, department=health))[0]
    await age([theirs, ours], 60)
    assert await cards.archive_closed_everywhere() == 2
    await login(client, "viewer")
    page = await client.get(f"/cards/{theirs}")
    assert page.status_code == 200 and "恢复到看板" not in page.text
    response = await client.post(f"/cards/{theirs}/restore", data={"_csrf_token": csrf_from(page.text)})
    assert response.status_code == 403
    await login(client, "liaison")
    assert (await client.get(f"/cards/{theirs}")).status_code == 404
    page = await client.get(f"/cards/{ours}")
    assert page.status_code == 200
    assert (
        await client.post(f"/cards/{theirs}/restore", data={"_csrf_token": csrf_from(page.text)})
    ).status_code == 404
    await login(client, "outsider")
    assert (await client.get(f"/cards/{ours}")).status_code == 404
    assert (await Card.select(Card.archived).where(Card.id.is_in([theirs, ours]))) == [{"archived": True}] * 2


async def test_a_move_into_a_long_done_column_lands_on_top_and_reads_only_its_neighbours(clean_db):
    world = await factories.board("comments")
    closed = await closed_cards(world, 30)
    card_id = await world.card("member", column="pending", title="刚办完")
    access = await world.access("member")
    await cards.move_card(access, card_id, MoveForm(column_id=world.columns["closed"], after_id=None, version=1))
    top = await Card.select(Card.id).where(Card.column == world.columns["closed"]).order_by(Card.position).first()
    assert top["id"] == card_id
    # Dropped after the fifth card shown: directly below it.
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    fifth = list(reversed(closed))[4]
    await cards.move_card(access, card_id, MoveForm(column_id=world.columns["closed"], after_id=fifth, version=version))
    order = [
        row["id"]
        for row in await Card.select(Card.id)
        .where((Card.column == world.columns["closed"]) & (Card.archived == False))  # noqa: E712
        .order_by(Card.position)
    ]
    assert order[5] == card_id and order[4] == fifth


async def test_a_long_column_is_counted_up_to_a_cap(client, monkeypatch):
    monkeypatch.setattr(boards, "COUNT_CAP", 5)
    world = await factories.board("comments")
    await closed_cards(world, DONE_PAGE + 8)
    await login(client, "member")
    page = (await client.get(f"/boards/{world.board_id}")).text
    column = world.columns["closed"]
    assert count_badge(page, column) == f"{DONE_PAGE + 5}+"
    assert 'data-remaining="5" data-capped="1"' in page


async def test_the_workers_batch_has_viewers_refetch_the_board_once(clean_db):
    world = await factories.board("comments")
    old = await closed_cards(world, 4)
    await age(old, 40)
    published_before = await Outbox.count().where(Outbox.effect == "publish_cards")
    assert await cards.archive_closed_everywhere() == 4
    effects = [row["effect"] for row in await Outbox.select(Outbox.effect).order_by(Outbox.id)]
    assert effects.count("publish_refresh") == 1
    assert await Outbox.count().where(Outbox.effect == "publish_cards") == published_before


async def test_an_old_link_to_an_archived_card_leaves_the_board_for_its_page(client):
    world = await factories.board("comments")
    (card_id,) = await closed_cards(world, 1)
    await age([card_id], 60)
    await cards.archive_closed_everywhere()
    await login(client, "member")
    # The board's drawer asks for it (htmx): the browser goes to the card's own page instead.
    response = await client.get(f"/cards/{card_id}", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"/cards/{card_id}"
    assert "<!doctype html>" not in response.text.lower()


async def test_an_attachment_or_a_restore_since_a_form_was_loaded_changes_none_of_its_fields(clean_db):
    """A save refused as stale keeps what the person typed in every field others did not
    change: attachments and restores raised the version but changed no field."""
    from portal.attachments import services as attachments
    from portal.attachments.services import Incoming
    from portal.cards.forms import CardForm

    world = await factories.board("comments")
    card_id = await world.card("member", column="closed", title="原标题")
    member = await world.access("member")
    await cards.update_card(member, card_id, CardForm(version=1, fields={"title": "成员改过的标题"}))
    loaded = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a5"
        "ee0000000049454e44ae426082"
    )
    await attachments.add_attachments(member, card_id, [Incoming.from_bytes("截图.png", png)])
    await age([card_id], 60)
    await cards.archive_closed_everywhere()
    await cards.restore_card(member, card_id)
    assert (await Card.select(Card.version).where(Card.id == card_id).first())["version"] == loaded + 3
    assert await cards.fields_changed_since(card_id, loaded) == set()
    assert "title" in await cards.fields_changed_since(card_id, 1)
