"""The JSON API, /api/v1: the same services, permissions and input models as the pages.

Authentication: the session cookie (then the CSRF header is required on writes, as for
htmx) or a personal access token, ``Authorization: Bearer pt_…``. Errors are JSON
``{status, message, errors}``: 400 malformed, 401 not logged in, 403 not allowed, 404 not
visible, 409 stale or not allowed now (with the card as it is), 422 bad fields.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from portal.accounts.services import department_choices
from portal.api.auth import api_csrf
from portal.api.schemas import (
    BoardDetailOut,
    BoardOut,
    CardCreateBody,
    CardOut,
    CardPatchBody,
    DepartmentOut,
    MoveBody,
    NotificationOut,
    StageOut,
)
from portal.boards import services as boards
from portal.boards.access import BoardAccess, access_for
from portal.boards.services import BoardFilters
from portal.cards import services as cards
from portal.cards import stages
from portal.cards.forms import CardForm, MoveForm
from portal.cards.kinds import kind_of
from portal.cards.services import StaleCard
from portal.core.forms import FormError
from portal.core.schemas import parse
from portal.core.templating import department_name
from portal.notifications import services as notifications


def kind_fields(kind: str) -> list[str]:
    return list(kind_of(kind).fields)


def card_out(access: BoardAccess, card: dict[str, Any], column: dict[str, Any]) -> dict[str, Any]:
    """One card as the API shows it (a citizen's phone masked for those who may not see it)."""
    out: dict[str, Any] = {
        "id": card["id"],
        "kind": access.board_kind,
        "board_id": card["board"],
        "title": card["title"],
        "body": card["body"],
        "priority": card["priority"],
        "labels": card["labels"] or [],
        "column": {"id": column["id"], "key": column["key"], "name": column["name"]},
        "version": card["version"],
        "stage": card["due_stage"],
        "due_at": card["due_at"],
        "paused": card["paused_at"] is not None,
        "assignee": {"id": card["assignee"], "name": card.get("assignee_name") or ""} if card["assignee"] else None,
        "created_at": card.get("created_at"),
        "updated_at": card.get("updated_at"),
    }
    for name in kind_fields(access.board_kind):
        out[name] = card.get(name)
    return out


async def _one_card(access: BoardAccess, card_id: int) -> dict[str, Any]:
    card = await cards.get_card(access, card_id)  # masks the phone for this viewer already
    columns = {column["id"]: column for column in await boards.list_columns(access.board_id)}
    if card["assignee"]:
        people = {person["id"]: person["display_name"] for person in await boards.board_people(access.board_id)}
        card["assignee_name"] = people.get(card["assignee"], "")
    column = columns.get(card["column"]) or {"id": card["column"], "key": "", "name": ""}
    return card_out(access, card, column)


async def _access_for_card(request: Request, card_id: int) -> BoardAccess:
    return await access_for(request.user, await cards.find_board_of(card_id))


async def _column_id(access: BoardAccess, column_id: int | None, column_key: str | None) -> int:
    columns = await boards.list_columns(access.board_id)
    for column in columns:
        if column_id is not None and column["id"] == column_id:
            return column["id"]
        if column_id is None and column_key and column["key"] == column_key:
            return column["id"]
    raise FormError({"column_key" if column_id is None else "column_id": "no such column on this board"})


def _stale(access: BoardAccess, error: StaleCard, card: dict[str, Any]) -> Response:
    from portal.cards.controllers import stale_message

    return Response(
        {"status": 409, "message": stale_message(error), "errors": {}, "card": card},
        status_code=409,
    )


class ApiV1(Controller):
    path = "/api/v1"
    tags = ["api v1"]
    # Litestar's CSRF middleware would refuse token-authenticated scripts (they have no
    # cookie); ``api_csrf`` checks the header whenever the session cookie is what authenticates.
    opt = {"exclude_from_csrf": True}
    guards = [api_csrf]

    @get("/boards", summary="The boards you may see")
    async def list_boards(self, request: Request) -> list[BoardOut]:
        return [BoardOut(id=b["id"], name=b["name"], kind=b["kind"]) for b in await boards.list_boards(request.user)]

    @get("/boards/{board_id:int}", summary="A board and its columns")
    async def board(self, request: Request, board_id: FromPath[int]) -> BoardDetailOut:
        access = await access_for(request.user, board_id)
        header = await boards.board_header(access)
        columns = await boards.list_columns(board_id)
        return BoardDetailOut(
            id=header["id"],
            name=header["name"],
            kind=header["kind"],
            description=header["description"],
            columns=[
                {
                    "id": c["id"],
                    "key": c["key"],
                    "name": c["name"],
                    "meaning": c["meaning"],
                    "wip_limit": c["wip_limit"],
                }
                for c in columns
            ],
        )

    @get("/departments", summary="Departments (for routing inquiries)")
    async def departments(self) -> list[DepartmentOut]:
        return [
            DepartmentOut(
                id=d["id"], name=department_name(d["name_zh"], d["name_en"]), name_zh=d["name_zh"], name_en=d["name_en"]
            )
            for d in await department_choices()
        ]

    @get(
        "/boards/{board_id:int}/cards",
        summary="The board's open cards, with the page's filters",
        description="Besides these, the card kind's own fields filter by equality: "
        "platform and sentiment (comments), category (inquiries).",
    )
    async def list_cards(
        self,
        request: Request,
        board_id: FromPath[int],
        assignee: Annotated[str, QueryParameter(description="me, none or a user id")] = "",
        label: Annotated[str, QueryParameter()] = "",
        priority: Annotated[str, QueryParameter()] = "",
        q: Annotated[str, QueryParameter(description="text in the title, body or author")] = "",
        due: Annotated[str, QueryParameter(description="overdue or today")] = "",
        ids: Annotated[
            str, QueryParameter(description="only these cards, comma-separated (at most 200)", max_length=2000)
        ] = "",
    ) -> list[CardOut]:
        access = await access_for(request.user, board_id)
        only = _id_list(ids)
        # The kind's own filters (platform, sentiment, category …) by name, from the query.
        filters = BoardFilters.from_query(
            assignee=assignee, label=label, priority=priority, q=q, due=due, query=request.query_params
        )
        rows = await boards.list_cards(access, filters, only)
        return [
            card_out(access, row, {"id": row["column"], "key": row["column_key"], "name": row["column_name"]})
            for row in rows
        ]

    @post("/boards/{board_id:int}/cards", summary="Create a card", status_code=201)
    async def create_card(self, request: Request, board_id: FromPath[int], data: JSONBody[CardCreateBody]) -> CardOut:
        access = await access_for(request.user, board_id)
        access.require_edit()
        payload = data.model_dump(exclude_unset=True)
        column_id = await _column_id(access, payload.pop("column_id", None), payload.pop("column_key", None))
        model = kind_of(access.board_kind).input_model
        card_input = parse(
            model,
            {key: value for key, value in payload.items() if key in model.model_fields},
            form=False,
            context={"people": await cards.assignable_people(access), "departments": await cards.department_ids()},
        )
        change = await cards.create_card(access, column_id, card_input.to_fields(creating=True))
        return await _one_card(access, change.card_id)

    @get("/cards/{card_id:int}", summary="A card")
    async def card(self, request: Request, card_id: FromPath[int]) -> CardOut:
        access = await _access_for_card(request, card_id)
        return await _one_card(access, card_id)

    @patch("/cards/{card_id:int}", summary="Change a card (send the version you saw)")
    async def update_card(
        self, request: Request, card_id: FromPath[int], data: JSONBody[CardPatchBody]
    ) -> Response[CardOut]:
        access = await _access_for_card(request, card_id)
        access.require_edit()
        current = await _one_card(access, card_id)
        changes = {key: value for key, value in (data.model_extra or {}).items()}
        model = kind_of(access.board_kind).input_model
        unknown = sorted(set(changes) - set(model.model_fields))
        if unknown:
            raise FormError({name: "not a field of this kind of card" for name in unknown})
        merged = {name: current.get(name) for name in model.model_fields if name in current}
        merged["assignee"] = current["assignee"]["id"] if current["assignee"] else None
        merged.update(changes)
        card_input = parse(
            model,
            merged,
            form=False,
            context={"people": await cards.assignable_people(access), "departments": await cards.department_ids()},
        )
        fields = {name: value for name, value in card_input.to_fields().items() if name in changes}
        try:
            await cards.update_card(access, card_id, CardForm(version=data.version, fields=fields))
        except StaleCard as error:
            return _stale(access, error, await _one_card(access, card_id))
        return Response(await _one_card(access, card_id))

    @post("/cards/{card_id:int}/move", summary="Move a card to a column (send the version you saw)", status_code=200)
    async def move_card(self, request: Request, card_id: FromPath[int], data: JSONBody[MoveBody]) -> Response[CardOut]:
        access = await _access_for_card(request, card_id)
        await cards.require_visible(access, card_id)
        column_id = await _column_id(access, data.column_id, data.column_key)
        try:
            await cards.move_card(
                access, card_id, MoveForm(column_id=column_id, after_id=data.after_id, version=data.version)
            )
        except StaleCard as error:
            return _stale(access, error, await _one_card(access, card_id))
        return Response(await _one_card(access, card_id))

    @get("/cards/{card_id:int}/history", summary="The card's stage history")
    async def history(self, request: Request, card_id: FromPath[int]) -> list[StageOut]:
        access = await _access_for_card(request, card_id)
        await cards.require_visible(access, card_id)
        return [StageOut(**row) for row in await stages.history(card_id)]

    @get("/notifications", summary="Your notifications, unread first")
    async def notifications(self, request: Request) -> list[NotificationOut]:
        return [NotificationOut(**row) for row in await notifications.list_for(request.user)]


def _id_list(ids: str) -> list[int] | None:
    """ "1,2,3" as ids (None: no such filter); anything else is a 422 with a message."""
    if not ids:
        return None
    parts = [part.strip() for part in ids.split(",") if part.strip()]
    if len(parts) > 200 or not all(part.isascii() and part.isdigit() and len(part) < 10 for part in parts):
        raise FormError({"ids": "up to 200 card ids, separated by commas"})
    return [int(part) for part in parts]
