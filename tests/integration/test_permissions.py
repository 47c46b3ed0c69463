"""Who may do what: one declarative table with a row for every HTTP route of the app (the
JSON API included), and for each row what every kind of person gets.

The people, the same on the comments, inquiries and campaigns boards of a small world
(tests/factories.py):

- admin: the administrator (a member of no board; sees every board);
- manager: a manager, managing the three boards;
- member: a member of the three boards;
- viewer: the global viewer role, a viewer on the three boards;
- liaison: the health department's liaison, a member of the three boards — she sees only
  the cards routed to health (a comment or a campaign has no department of its own);
- outsider: a member of no board;
- anonymous: not logged in.

The expected answer follows four rules: 404 for what the person may not see (another board,
another department's card, an id that does not exist), 403 for what she may see but not do
(a viewer writing, a member managing), "ok" (any 2xx or 3xx) for what she may do, and
"login" (401, or a redirect to /login) for anonymous. An inquiry's loop adds a fifth: 409 for
a step of the loop that is not this person's part (the centre's, the lead department's;
portal.inquiries.workflow), as its API documents. A row whose route answers differently
keeps the rule's answer and is marked xfail(strict=True) with the reason — a bug to fix,
not an expectation to bend.

HTML rows use the person's session and the page's CSRF token (as htmx sends it); API rows
use the person's personal access token and no cookie. The world is built once per module;
a write that would change it for the rows after gets its own target (``fresh``: a new card
or column per person) or puts things back (``after``). The websockets have their own
matrix (tests/security/test_ws_*.py); a test below fails when a route has no row here.

The other tests at the end are about what a page shows, not whether it answers.
"""

from __future__ import annotations

import functools
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from portal.accounts.services import get_active_user, hash_password
from portal.accounts.sessions import SESSION_COOKIE
from portal.accounts.tables import User
from portal.accounts.tokens import create_token, list_tokens
from portal.app import create_app
from portal.boards.access import access_for
from portal.boards.tables import Board, BoardColumn, BoardMember
from portal.campaigns import questions as campaign_questions
from portal.campaigns import review as campaign_review
from portal.campaigns import tasks as campaign_tasks
from portal.campaigns import workflow as campaign_workflow
from portal.campaigns.tables import CampaignQuestion, CampaignTask
from portal.cards import services as cards
from portal.cards.tables import Card
from portal.comments import groups, similar
from portal.comments.tables import CommentDetail
from portal.core.redis import async_client
from portal.inquiries import knowledge, merging, workflow
from portal.inquiries.knowledge import EntryInput
from portal.notifications import services as notifications
from portal.piccolo_app import APP_CONFIG
from portal.settings import get_settings
from portal.sla import services as sla
from tests import factories
from tests.conftest import ON_POSTGRES, PASSWORD, csrf_from, effects_configured, login

PEOPLE = ("admin", "manager", "member", "viewer", "liaison", "outsider", "anonymous")
BOARD_ROLES = {"manager": "manager", "member": "member", "viewer": "viewer", "liaison": "member"}
OK, LOGIN = "ok", "login"  # any 2xx/3xx; 401 or a redirect to /login
MISSING = 987654  # an id nothing has
NEW_PASSWORD = "quiet-river-lantern-42"
PHONE = "13812345678"
ROBOT = "https://93.184.216.34/robot/send?key="  # a public address: no name to resolve


# The table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: str  # placeholders: World.values, plus person, login_as, notification and the fresh target
    expect: tuple[Any, ...]  # one per person, in PEOPLE order
    data: dict[str, Any] | None = None  # a form (HTML) or a JSON body (API)
    fresh: str | None = None  # a new target per person: see _fresh
    after: str | None = None  # put back what the row changed: relogin, password, anonymous_session
    files: tuple[tuple[str, bytes, str], ...] | None = None  # a multipart upload: (name, bytes, type)

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def row(name: str, method: str, path: str, expect: str, data: dict | None = None, **options: Any) -> Row:
    """``expect``: seven words, one per person in PEOPLE order: ok, login or a status."""
    words = expect.split()
    assert len(words) == len(PEOPLE), name
    values = tuple(word if word in (OK, LOGIN) else int(word) for word in words)
    return Row(name, method, path, values, data, **options)


def xfail(item: Row, reason: str):
    return pytest.param(item, id=item.name, marks=pytest.mark.xfail(strict=True, reason=reason))


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


UPLOAD = (("原帖截图.png", _tiny_png(), "image/png"),)


def card_form(title: str) -> dict[str, str]:
    return {"title": title, "version": "{version}"}


#                                                        admin mgr member viewer liaison outsider anon
TABLE: list[Row | Any] = [
    # Logging in and out, the language, the account page
    row("login page", "GET", "/login", "ok ok ok ok ok ok ok"),
    row(
        "log in",
        "POST",
        "/login",
        "ok ok ok ok ok ok ok",
        {"username": "{login_as}", "password": PASSWORD},
        after="anonymous_session",
    ),
    row("switch language", "POST", "/language", "ok ok ok ok ok ok ok", {"language": "zh_Hans"}),
    row("log out", "POST", "/logout", "ok ok ok ok ok ok login", after="relogin"),
    row("account page", "GET", "/account", "ok ok ok ok ok ok login"),
    row(
        "change own password",
        "POST",
        "/account/password",
        "ok ok ok ok ok ok login",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        after="password",
    ),
    row("make an API token", "POST", "/account/tokens", "ok ok ok ok ok ok login", {"name": "脚本 {person}"}),
    row("revoke own API token", "POST", "/account/tokens/{token}/revoke", "ok ok ok ok ok ok login", fresh="token"),
    row(
        "revoke someone else's API token",
        "POST",
        "/account/tokens/{other_token}/revoke",
        "404 404 404 404 404 404 login",
    ),
    row("e-mail preferences", "POST", "/account/notifications", "ok ok ok ok ok ok login", {"email": ""}),
    # Administration
    row("users", "GET", "/admin/users", "ok 403 403 403 403 403 login"),
    row("new user form", "GET", "/admin/users/new", "ok 403 403 403 403 403 login"),
    row(
        "create a user",
        "POST",
        "/admin/users",
        "ok 403 403 403 403 403 login",
        {
            "username": "new_{person}",
            "display_name": "新同事",
            "role": "member",
            "department_id": "{department}",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    ),
    row("a user", "GET", "/admin/users/{user}", "ok 403 403 403 403 403 login"),
    row("a user that does not exist", "GET", f"/admin/users/{MISSING}", "404 403 403 403 403 403 login"),
    row(
        "edit a user",
        "POST",
        "/admin/users/{user}",
        "ok 403 403 403 403 403 login",
        {"display_name": "目标", "role": "member", "department_id": "{department}"},
    ),
    row(
        "reset a user's password",
        "POST",
        "/admin/users/{user}/password",
        "ok 403 403 403 403 403 login",
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    ),
    row("enable a user", "POST", "/admin/users/{user}/active", "ok 403 403 403 403 403 login", {"active": "1"}),
    row("departments", "GET", "/admin/departments", "ok 403 403 403 403 403 login"),
    row(
        "create a department",
        "POST",
        "/admin/departments",
        "ok 403 403 403 403 403 login",
        {"code": "dept-{person}", "name_zh": "新部门", "name_en": "New"},
    ),
    row(
        "edit a department",
        "POST",
        "/admin/departments/{department}",
        "ok 403 403 403 403 403 login",
        {"name_zh": "宣传部", "name_en": "Publicity", "active": "1"},
    ),
    row("audit log", "GET", "/admin/audit", "ok 403 403 403 403 403 login"),
    # Boards
    row("home", "GET", "/", "ok ok ok ok ok ok login"),
    row("board list", "GET", "/boards", "ok ok ok ok ok ok login"),
    row(
        "create a board",
        "POST",
        "/boards",
        "ok ok 403 403 403 403 login",
        {"name": "新看板 {person}", "kind": "comments", "description": ""},
    ),
    row("my work", "GET", "/my-work", "ok ok ok ok ok ok login"),
    row("comments board", "GET", "/boards/{board}", "ok ok ok ok ok 404 login"),
    row("inquiries board", "GET", "/boards/{inquiries}", "ok ok ok ok ok 404 login"),
    row("another board", "GET", "/boards/{private}", "ok 404 404 404 404 404 login"),
    row("a board that does not exist", "GET", f"/boards/{MISSING}", "404 404 404 404 404 404 login"),
    # Board settings
    row("board settings", "GET", "/boards/{board}/settings", "ok ok 403 403 403 404 login"),
    row("another board's settings", "GET", "/boards/{private}/settings", "ok 404 404 404 404 404 login"),
    row(
        "add a column",
        "POST",
        "/boards/{board}/settings/columns",
        "ok ok 403 403 403 404 login",
        {"name": "新列 {person}", "meaning": "working"},
    ),
    row(
        "edit a column",
        "POST",
        "/boards/{board}/settings/columns/{column}",
        "ok ok 403 403 403 404 login",
        {"name": "改名 {person}", "meaning": "working"},
        fresh="column",
    ),
    row(
        "edit another board's column",
        "POST",
        "/boards/{board}/settings/columns/{private_column}",
        "404 404 403 403 403 404 login",
        {"name": "越界 {person}", "meaning": "working"},
    ),
    row(
        "move a column",
        "POST",
        "/boards/{board}/settings/columns/{column}/move",
        "ok ok 403 403 403 404 login",
        {"direction": "left"},
        fresh="column",
    ),
    row(
        "archive a column",
        "POST",
        "/boards/{board}/settings/columns/{column}/archive",
        "ok ok 403 403 403 404 login",
        fresh="column",
    ),
    row(
        "add a member",
        "POST",
        "/boards/{board}/settings/members",
        "ok ok 403 403 403 404 login",
        {"user_id": "{user}", "role": "member"},
    ),
    row(
        "remove a member",
        "POST",
        "/boards/{board}/settings/members/{member}/remove",
        "ok ok 403 403 403 404 login",
    ),
    row(
        "set when closed cards are archived",
        "POST",
        "/boards/{board}/settings/archiving",
        "ok ok 403 403 403 404 login",
        {"archive_after_days": "30"},
    ),
    row(
        "a done column's earlier cards",
        "GET",
        "/boards/{board}/columns/{closed_column}/earlier?after=0",
        "ok ok ok ok ok 404 login",
    ),
    row(
        "add a group robot",
        "POST",
        "/boards/{board}/settings/webhooks",
        "ok ok 403 403 403 404 login",
        {"kind": "wecom", "url": ROBOT + "{person}"},
    ),
    row(
        "remove a group robot",
        "POST",
        "/boards/{board}/settings/webhooks/{index}/remove",
        "ok ok 403 403 403 404 login",
    ),
    # Cards (HTML)
    row("open a comment", "GET", "/cards/{card}", "ok ok ok ok 404 404 login"),
    row("open a health inquiry", "GET", "/cards/{health_card}", "ok ok ok ok ok 404 login"),
    row("open another department's inquiry", "GET", "/cards/{other_card}", "ok ok ok ok 404 404 login"),
    row("open a card that does not exist", "GET", f"/cards/{MISSING}", "404 404 404 404 404 404 login"),
    row("new card form", "GET", "/boards/{board}/cards/new", "ok ok ok 403 ok 404 login"),
    row(
        "create a card",
        "POST",
        "/boards/{board}/cards",
        "ok ok ok 403 ok 404 login",
        {"title": "新卡片 {person}", "column_id": "{column}"},
    ),
    row(
        "quick-add a comment",
        "POST",
        "/boards/{board}/columns/{column}/cards",
        "ok ok ok 403 ok 404 login",
        {"title": "快速添加 {person}"},
    ),
    row(
        "quick-add an inquiry",
        "POST",
        "/boards/{inquiries}/columns/{inquiry_column}/cards",
        "ok ok ok 403 ok 404 login",
        {"title": "快速添加 {person}"},
    ),
    row(
        "quick-add into another board's column",
        "POST",
        "/boards/{board}/columns/{private_column}/cards",
        "404 404 404 403 404 404 login",
        {"title": "越界 {person}"},
    ),
    row(
        "edit a comment",
        "POST",
        "/cards/{card}",
        "ok ok ok 403 404 404 login",
        card_form("改 {person}"),
        fresh="comment",
    ),
    row(
        "edit a health inquiry",
        "POST",
        "/cards/{card}",
        "ok ok ok 403 ok 404 login",
        card_form("改 {person}"),
        fresh="health",
    ),
    row(
        "edit another department's inquiry",
        "POST",
        "/cards/{card}",
        "ok ok ok 403 404 404 login",
        card_form("改 {person}"),
        fresh="other",
    ),
    row(
        "move a comment",
        "POST",
        "/cards/{card}/move",
        "ok ok ok 403 404 404 login",
        {"column_id": "{to_column}", "after_id": "", "version": "{version}"},
        fresh="comment",
    ),
    # A drag between an inquiry's states is a step of its loop: 已派单 → 办理中 is signing for
    # it, the lead department's (its liaison, or a board manager for it) — not the centre's.
    row(
        "move a health inquiry",
        "POST",
        "/cards/{card}/move",
        "ok ok 409 403 ok 404 login",
        {"column_id": "{to_column}", "after_id": "", "version": "{version}"},
        fresh="dispatched",
    ),
    row("note on a comment", "POST", "/cards/{card}/notes", "ok ok ok 403 404 404 login", {"body": "看一下"}),
    row("note on a health inquiry", "POST", "/cards/{health_card}/notes", "ok ok ok 403 ok 404 login", {"body": "看"}),
    row(
        "note on another department's inquiry",
        "POST",
        "/cards/{other_card}/notes",
        "ok ok ok 403 404 404 login",
        {"body": "看"},
    ),
    row(
        "archive a comment",
        "POST",
        "/cards/{card}/archive",
        "ok ok ok 403 404 404 login",
        {"version": "{version}"},
        fresh="comment",
    ),
    row(
        "restore an archived comment",
        "POST",
        "/cards/{card}/restore",
        "ok ok ok 403 404 404 login",
        fresh="archived",
    ),
    row(
        "archive another department's inquiry",
        "POST",
        "/cards/{card}/archive",
        "ok ok ok 403 404 404 login",
        {"version": "{version}"},
        fresh="other",
    ),
    row(
        "pause a comment's clock",
        "POST",
        "/cards/{card}/deadline",
        "ok ok ok 403 404 404 login",
        {"action": "pause", "pause_reason": "等待材料", "version": "{version}"},
        fresh="comment",
    ),
    row(
        "pause a health inquiry's clock",
        "POST",
        "/cards/{card}/deadline",
        "ok ok ok 403 ok 404 login",
        {"action": "pause", "pause_reason": "等待材料", "version": "{version}"},
        fresh="health",
    ),
    row(
        "approve an extension of a health inquiry",
        "POST",
        "/cards/{card}/deadline",
        "ok ok 403 403 403 404 login",
        {"action": "approve_extension", "version": "{version}"},
        fresh="extension",
    ),
    # Deadlines: calendar and policies
    row("calendar", "GET", "/calendar", "ok ok ok ok ok ok login"),
    row(
        "deadline preview",
        "GET",
        "/calendar/preview?start=2026-03-02T09:00&duration=8&mode=working_hours",
        "ok ok ok ok ok ok login",
    ),
    row(
        "set a calendar day",
        "POST",
        "/calendar/days",
        "ok 403 403 403 403 403 login",
        {"day": "2099-10-08", "kind": "workday"},
    ),
    row(
        "import a calendar year",
        "POST",
        "/calendar/import",
        "ok 403 403 403 403 403 login",
        {"year": "2099", "days": "2099-10-01,holiday,国庆"},
    ),
    row("deadline policies", "GET", "/sla/policies", "ok ok 403 403 403 403 login"),
    row(
        "save a deadline policy",
        "POST",
        "/sla/policies",
        "ok ok 403 403 403 403 login",
        {"board_kind": "comments", "stage": "first_response", "amount": "24", "mode": "natural_hours"},
    ),
    row(
        "deadline preview (API)",
        "GET",
        "/api/sla/preview?start=2026-03-02T09:00:00%2B08:00&duration=8&mode=working_hours",
        "ok ok ok ok ok ok login",
    ),
    # Notifications
    row("notifications", "GET", "/notifications", "ok ok ok ok ok ok login"),
    row("mark all read", "POST", "/notifications/read", "ok ok ok ok ok ok login"),
    row("mark own notification read", "POST", "/notifications/{notification}/read", "ok ok ok ok ok ok login"),
    row(
        "mark someone else's notification read",
        "POST",
        "/notifications/{other_notification}/read",
        "404 404 404 404 404 404 login",
    ),
    row(
        "mark a notification that does not exist read",
        "POST",
        f"/notifications/{MISSING}/read",
        "404 404 404 404 404 404 login",
    ),
    # The JSON API (personal access tokens)
    row("API: boards", "GET", "/api/v1/boards", "ok ok ok ok ok ok login"),
    row("API: comments board", "GET", "/api/v1/boards/{board}", "ok ok ok ok ok 404 login"),
    row("API: another board", "GET", "/api/v1/boards/{private}", "ok 404 404 404 404 404 login"),
    row("API: a board that does not exist", "GET", f"/api/v1/boards/{MISSING}", "404 404 404 404 404 404 login"),
    row("API: departments", "GET", "/api/v1/departments", "ok ok ok ok ok ok login"),
    row("API: a board's cards", "GET", "/api/v1/boards/{board}/cards", "ok ok ok ok ok 404 login"),
    row("API: another board's cards", "GET", "/api/v1/boards/{private}/cards", "ok 404 404 404 404 404 login"),
    row(
        "API: create a comment",
        "POST",
        "/api/v1/boards/{board}/cards",
        "ok ok ok 403 ok 404 login",
        {"title": "接口 {person}", "column_key": "new"},
    ),
    row(
        "API: create an inquiry",
        "POST",
        "/api/v1/boards/{inquiries}/cards",
        "ok ok ok 403 ok 404 login",
        {"title": "接口 {person}", "column_key": "pending_accept"},
    ),
    row("API: a comment", "GET", "/api/v1/cards/{card}", "ok ok ok ok 404 404 login"),
    row("API: a health inquiry", "GET", "/api/v1/cards/{health_card}", "ok ok ok ok ok 404 login"),
    row("API: another department's inquiry", "GET", "/api/v1/cards/{other_card}", "ok ok ok ok 404 404 login"),
    row("API: a card that does not exist", "GET", f"/api/v1/cards/{MISSING}", "404 404 404 404 404 404 login"),
    row(
        "API: change a comment",
        "PATCH",
        "/api/v1/cards/{card}",
        "ok ok ok 403 404 404 login",
        {"version": "{version}", "title": "接口改 {person}"},
        fresh="comment",
    ),
    row(
        "API: change a health inquiry",
        "PATCH",
        "/api/v1/cards/{card}",
        "ok ok ok 403 ok 404 login",
        {"version": "{version}", "title": "接口改 {person}"},
        fresh="health",
    ),
    row(
        "API: change another department's inquiry",
        "PATCH",
        "/api/v1/cards/{card}",
        "ok ok ok 403 404 404 login",
        {"version": "{version}", "title": "接口改 {person}"},
        fresh="other",
    ),
    row(
        "API: move a comment",
        "POST",
        "/api/v1/cards/{card}/move",
        "ok ok ok 403 404 404 login",
        {"column_key": "pending", "version": "{version}"},
        fresh="comment",
    ),
    row(
        "API: move a health inquiry",
        "POST",
        "/api/v1/cards/{card}/move",
        "ok ok 409 403 ok 404 login",
        {"column_key": "handling", "version": "{version}"},
        fresh="dispatched",
    ),
    row("API: a comment's history", "GET", "/api/v1/cards/{card}/history", "ok ok ok ok 404 404 login"),
    row("API: a health inquiry's history", "GET", "/api/v1/cards/{health_card}/history", "ok ok ok ok ok 404 login"),
    row("API: notifications", "GET", "/api/v1/notifications", "ok ok ok ok ok ok login"),
    # Attachments (portal/attachments): as the card for the section, the files and uploads; an
    # inquiry's materials only for those who may see the citizen's details (403 for the masked:
    # they see the card); removing: the uploader (here the manager) or a board manager.
    row("attachments of a comment", "GET", "/cards/{card}/attachments", "ok ok ok ok 404 404 login"),
    row("attachments of a health inquiry", "GET", "/cards/{health_card}/attachments", "ok ok ok ok ok 404 login"),
    row("attach a file to a comment", "POST", "/cards/{card}/attachments", "ok ok ok 403 404 404 login", files=UPLOAD),
    row(
        "attach a file to a health inquiry",
        "POST",
        "/cards/{health_card}/attachments",
        "ok ok ok 403 ok 404 login",
        files=UPLOAD,
    ),
    row("download a comment's attachment", "GET", "/attachments/{attachment}", "ok ok ok ok 404 404 login"),
    row("preview a comment's image", "GET", "/attachments/{attachment}/preview", "ok ok ok ok 404 404 login"),
    row("thumbnail of a comment's image", "GET", "/attachments/{attachment}/thumbnail", "ok ok ok ok 404 404 login"),
    row(
        "download a health inquiry's material", "GET", "/attachments/{health_attachment}", "ok ok 403 403 ok 404 login"
    ),
    row(
        "download another department's material",
        "GET",
        "/attachments/{other_attachment}",
        "ok ok 403 403 404 404 login",
    ),
    row(
        "download an attachment that does not exist", "GET", f"/attachments/{MISSING}", "404 404 404 404 404 404 login"
    ),
    row(
        "remove an attachment",
        "POST",
        "/attachments/{attachment}/delete",
        "ok ok 403 403 404 404 login",
        fresh="attachment",
    ),
    row("API: a comment's attachments", "GET", "/api/v1/cards/{card}/attachments", "ok ok ok ok 404 404 login"),
    row("API: download a comment's attachment", "GET", "/api/v1/attachments/{attachment}", "ok ok ok ok 404 404 login"),
    row(
        "API: download a health inquiry's material",
        "GET",
        "/api/v1/attachments/{health_attachment}",
        "ok ok 403 403 ok 404 login",
    ),
    row(
        "API: attach a file to a comment",
        "POST",
        "/api/v1/cards/{card}/attachments",
        "ok ok ok 403 404 404 login",
        files=UPLOAD,
    ),
    # Intake sources (admin) and the signed intake API: signed, not logged in, so without a
    # signature everyone gets the same 401 (the matrix's tokens and cookies count for nothing).
    row("intake sources", "GET", "/admin/intake", "ok 403 403 403 403 403 login"),
    row(
        "create an intake source",
        "POST",
        "/admin/intake",
        "ok 403 403 403 403 403 login",
        {"name": "src-{person}", "board": "{board}"},
    ),
    row("rotate an intake secret", "POST", f"/admin/intake/{MISSING}/rotate", "404 403 403 403 403 403 login"),
    row("deactivate an intake source", "POST", f"/admin/intake/{MISSING}/deactivate", "404 403 403 403 403 403 login"),
    row("API: signed intake, unsigned", "POST", f"/api/intake/{MISSING}", "401 401 401 401 401 401 401", {}),
    # Spreadsheet import: whoever may edit the board except liaisons (it is about the whole
    # board). The row sends no file: 422 is the form's answer once the person is let in.
    row("import page", "GET", "/boards/{board}/import", "ok ok ok 403 404 404 login"),
    row("upload an import", "POST", "/boards/{board}/import", "422 422 422 403 404 404 login", {"platform": ""}),
    row("an import's preview", "GET", f"/boards/{{board}}/import/{MISSING}", "404 404 404 403 404 404 login"),
    row("confirm an import", "POST", f"/boards/{{board}}/import/{MISSING}/confirm", "404 404 404 403 404 404 login"),
    row("an import's next batch", "POST", f"/boards/{{board}}/import/{MISSING}/batch", "404 404 404 403 404 404 login"),
    # -- comments: intake and import rows above this line --
    # Comments: triage (sensitive words, category rules, sentiment, duty)
    row("a comment's triage", "GET", "/comments/{card}/triage", "ok ok ok ok 404 404 login"),
    row("an inquiry's triage", "GET", "/comments/{health_card}/triage", "404 404 404 404 404 404 login"),
    row(
        "correct a comment's sentiment",
        "POST",
        "/comments/{card}/sentiment",
        "ok ok ok 403 404 404 login",
        {"sentiment": "negative", "version": "{version}"},
        fresh="comment",
    ),
    row("sensitive words", "GET", "/admin/sensitive-words", "ok 403 403 403 403 403 login"),
    row(
        "add a sensitive word",
        "POST",
        "/admin/sensitive-words",
        "ok 403 403 403 403 403 login",
        {"word": "矩阵词{person}", "tier": "serious"},
    ),
    row(
        "import sensitive words",
        "POST",
        "/admin/sensitive-words/import",
        "ok 403 403 403 403 403 login",
        {"text": "矩阵导入{person},一般"},
    ),
    row(
        "remove a sensitive word",
        "POST",
        f"/admin/sensitive-words/{MISSING}/delete",
        "ok 403 403 403 403 403 login",
    ),
    row("category rules", "GET", "/admin/category-rules", "ok 403 403 403 403 403 login"),
    row(
        "add a category rule",
        "POST",
        "/admin/category-rules",
        "ok 403 403 403 403 403 login",
        {"category": "矩阵{person}", "keywords": "矩阵关键词", "priority": "0"},
    ),
    row("remove a category rule", "POST", f"/admin/category-rules/{MISSING}/delete", "ok 403 403 403 403 403 login"),
    row("API: sensitive words", "GET", "/api/v1/sensitive-words", "ok 403 403 403 403 403 login"),
    row(
        "API: add a sensitive word",
        "POST",
        "/api/v1/sensitive-words",
        "ok 403 403 403 403 403 login",
        {"word": "接口词{person}", "tier": "general"},
    ),
    row("duty rota", "GET", "/boards/{board}/duty", "ok ok 403 403 403 404 login"),
    row("another board's duty rota", "GET", "/boards/{private}/duty", "ok 404 404 404 404 404 login"),
    row(
        "switch a member's duty",
        "POST",
        "/boards/{board}/duty/{duty_member}",
        "ok ok 403 403 403 404 login",
        {"on_duty": "1"},
    ),
    row(
        "set the assignment cap",
        "POST",
        "/boards/{board}/assign-cap",
        "ok ok 403 403 403 404 login",
        {"assign_cap": ""},
    ),
    # -- comments: triage rows above this line --
    row("reply templates", "GET", "/reply-templates", "ok ok ok 403 403 403 login"),
    row("new reply template form", "GET", "/reply-templates/new", "ok ok ok 403 403 403 login"),
    row(
        "create a reply template",
        "POST",
        "/reply-templates",
        "ok ok ok 403 403 403 login",
        {"title": "口径 {person}", "body": "{{称呼}}您好"},
    ),
    # No template in the world: the checks on a real one are in test_comments_replies.py.
    row("a reply template that does not exist", "GET", f"/reply-templates/{MISSING}", "404 404 404 403 403 403 login"),
    row(
        "save a reply template that does not exist",
        "POST",
        f"/reply-templates/{MISSING}",
        "404 404 404 403 403 403 login",
        {"title": "口径", "body": "正文"},
    ),
    row(
        "approve a reply template that does not exist",
        "POST",
        f"/reply-templates/{MISSING}/approve",
        "404 404 403 403 403 403 login",
    ),
    row(
        "history of a reply template that does not exist",
        "GET",
        f"/reply-templates/{MISSING}/history",
        "404 404 404 403 403 403 login",
    ),
    row("a comment's replies", "GET", "/comments/{card}/replies", "ok ok ok ok 404 404 login"),
    row("templates for a comment", "GET", "/comments/{card}/reply-templates?q=地铁", "ok ok ok 403 404 404 login"),
    row(
        "reply to a comment",
        "POST",
        "/comments/{card}/replies",
        "ok ok ok 403 404 404 login",
        {"body": "您好 {person}"},
        fresh="comment",
    ),
    row("replies waiting for approval", "GET", "/replies/pending", "ok ok 403 403 403 403 login"),
    # No pending reply in the world: approving and returning a real one (403 for a member,
    # 404 for an outsider) are in test_comments_replies.py.
    row("approve a reply that does not exist", "POST", f"/replies/{MISSING}/approve", "404 404 404 404 404 404 login"),
    row(
        "return a reply that does not exist",
        "POST",
        f"/replies/{MISSING}/return",
        "404 404 404 404 404 404 login",
        {"reason": "请修改"},
    ),
    # -- comments: replies rows above this line --
    row("a comment's escalations", "GET", "/comments/{card}/escalations", "ok ok ok ok 404 404 login"),
    row(
        "report a comment upward",
        "POST",
        "/comments/{card}/escalations",
        "ok ok ok 403 404 404 login",
        {"target": "cac", "risk": "general", "reason": "矩阵 {person}"},
        fresh="comment",
    ),
    row("reports list", "GET", "/escalations", "ok ok ok ok ok ok login"),
    # The viewer is the leader it was reported to; the member sees the card but may not answer.
    row(
        "instruct on a report",
        "POST",
        "/escalations/{escalation}/instruct",
        "ok ok 403 ok 404 404 login",
        {"instruction": "批示 {person}"},
    ),
    row("close a report", "POST", "/escalations/{escalation_to_close}/close", "ok ok 403 ok 404 404 login"),
    row("bulk bar", "GET", "/boards/{board}/batch", "ok ok ok 403 ok 404 login"),
    row(
        "many cards at once",
        "POST",
        "/boards/{board}/batch",
        "ok ok ok 403 ok 404 login",
        {"action": "label", "label": "批量", "card_ids": "{card}"},
        fresh="comment",
    ),
    row("FAQ candidates", "GET", "/boards/{board}/faq", "ok ok ok ok ok 404 login"),
    row(
        "FAQ reply to a draft template (no such reply)",
        "POST",
        "/boards/{board}/faq/template",
        "404 404 404 403 404 404 login",
        {"reply_id": str(MISSING), "title": "常见问题"},
    ),
    # -- comments: escalations and batch rows above this line --
    # Comments: similar comments grouped (合并为一组). A comment has no department: the
    # health liaison sees none of them (404), as for every comment row above.
    row("a comment's similar comments", "GET", "/comments/{card}/similar", "ok ok ok ok 404 404 login"),
    row("an inquiry's similar comments", "GET", "/comments/{health_card}/similar", "404 404 404 404 404 404 login"),
    row(
        "group similar comments",
        "POST",
        "/comments/{card}/group",
        "ok ok ok 403 404 404 login",
        {"card_ids": "{member}"},
        fresh="similar",
    ),
    row(
        "take a comment out of its group",
        "POST",
        "/comments/{card}/group/remove",
        "ok ok ok 403 404 404 login",
        {"member_id": "{member}"},
        fresh="grouped",
    ),
    row(
        "a comment leaves its group",
        "POST",
        "/comments/{member}/group/leave",
        "ok ok ok 403 404 404 login",
        fresh="grouped",
    ),
    row("dissolve a group", "POST", "/comments/{card}/group/dissolve", "ok ok ok 403 404 404 login", fresh="grouped"),
    # -- comments: groups rows above this line --
    # Inquiries: the loop (portal.inquiries.workflow). An action that is not this person's part
    # of the loop (the centre's, the lead department's) is a 409 with the button's reason —
    # the loop's documented answer for "not allowed now or for you", a viewer's included (see
    # the generic move above, which refuses a viewer with 403 before the loop is asked).
    row("a health inquiry's loop", "GET", "/inquiries/{health_card}/workflow", "ok ok ok ok ok 404 login"),
    row(
        "another department's inquiry's loop",
        "GET",
        "/inquiries/{other_card}/workflow",
        "ok ok ok ok 404 404 login",
    ),
    row("a comment's loop", "GET", "/inquiries/{card}/workflow", "404 404 404 404 404 404 login"),
    row(
        "accept a health inquiry (the centre's)",
        "POST",
        "/inquiries/{card}/{accept}",
        "ok ok ok 403 409 404 login",
        {"category": "policy", "urgency": "normal"},
        fresh="health",
    ),
    row(
        "sign for a dispatched health inquiry (the department's)",
        "POST",
        "/inquiries/{card}/{sign}",
        "ok ok 409 403 ok 404 login",
        fresh="dispatched",
    ),
    row(
        "accept another department's inquiry",
        "POST",
        "/inquiries/{card}/{accept}",
        "ok ok ok 403 404 404 login",
        {"category": "policy", "urgency": "normal"},
        fresh="other",
    ),
    row(
        "an action the loop does not have",
        "POST",
        "/inquiries/{health_card}/{no_such_action}",
        "404 404 404 404 404 404 login",
    ),
    row("API: a health inquiry's loop", "GET", "/api/v1/inquiries/{health_card}", "ok ok ok ok ok 404 login"),
    row(
        "API: another department's inquiry's loop",
        "GET",
        "/api/v1/inquiries/{other_card}",
        "ok ok ok ok 404 404 login",
    ),
    row(
        "API: accept a health inquiry (the centre's)",
        "POST",
        "/api/v1/inquiries/{card}/{accept}",
        "ok ok ok 403 409 404 login",
        {"category": "policy", "urgency": "normal"},
        fresh="health",
    ),
    row(
        "API: sign for a dispatched health inquiry (the department's)",
        "POST",
        "/api/v1/inquiries/{card}/{sign}",
        "ok ok 409 403 ok 404 login",
        {},
        fresh="dispatched",
    ),
    # Incidents (portal.incidents.workflow): everyone on the board reads an incident; editors
    # act; approving a statement is a manager's (409 for a member, as the API documents); a
    # liaison sees no incident (none is routed to a department), an outsider not the board.
    row("an incident's course", "GET", "/incidents/{incident}/workflow", "ok ok ok ok 404 404 login"),
    row("a comment as an incident", "GET", "/incidents/{card}/workflow", "404 404 404 404 404 404 login"),
    row(
        "assess an incident",
        "POST",
        "/incidents/{card}/{incident_assess}",
        "ok ok ok 403 404 404 login",
        {"level": "red"},
        fresh="incident",
    ),
    row(
        "approve an incident's statement (a manager's)",
        "POST",
        "/incidents/{card}/{incident_approve}",
        "ok ok 409 403 404 404 login",
        {"version": "1"},
        fresh="incident_pending",
    ),
    # 批示: a manager, an administrator or a leader (the global viewer role on the board); a
    # member works the incident but gives no instruction (409, as the API documents).
    row(
        "give an incident an instruction (批示)",
        "POST",
        "/incidents/{card}/{incident_instruct}",
        "ok ok 409 ok 404 404 login",
        {"text": "请及时发布权威信息"},
        fresh="incident",
    ),
    row(
        "an action an incident does not have",
        "POST",
        "/incidents/{incident}/{no_such_action}",
        "404 404 404 404 404 404 login",
    ),
    row("API: an incident", "GET", "/api/v1/incidents/{incident}", "ok ok ok ok 404 404 login"),
    row(
        "API: assess an incident",
        "POST",
        "/api/v1/incidents/{card}/{incident_assess}",
        "ok ok ok 403 404 404 login",
        {"level": "red"},
        fresh="incident",
    ),
    row(
        "API: give an incident an instruction (批示)",
        "POST",
        "/api/v1/incidents/{card}/{incident_instruct}",
        "ok ok 409 ok 404 404 login",
        {"text": "请及时发布权威信息"},
        fresh="incident",
    ),
    row(
        "API: approve an incident's statement (a manager's)",
        "POST",
        "/api/v1/incidents/{card}/{incident_approve}",
        "ok ok 409 403 404 404 login",
        {"version": "{pending}"},
        fresh="incident_pending",
    ),
    # 部门待办: every signed-in person has a queue (empty when she works no inquiry board).
    row("department queue", "GET", "/inquiries/queue", "ok ok ok ok ok ok login"),
    # 督办: the board's managers (an administrator manages every board).
    row("overdue cases", "GET", "/inquiries/overdue", "ok ok 403 403 403 403 login"),
    row(
        "supervise a case from the overdue list",
        "POST",
        "/inquiries/overdue/{health_card}/supervise",
        "ok ok 403 403 403 403 login",
        {"note": "请尽快办理 {person}"},
    ),
    row(
        "supervise a department's overdue cases",
        "POST",
        "/inquiries/overdue/departments/{health}/supervise",
        "ok ok 403 403 403 403 login",
        {"note": "请尽快办理 {person}"},
    ),
    row("a health inquiry's supervision", "GET", "/inquiries/{health_card}/supervision", "ok ok ok ok ok 404 login"),
    row(
        "supervise a health inquiry",
        "POST",
        "/inquiries/{health_card}/supervise",
        "ok ok 403 403 403 404 login",
        {"note": "请尽快办理 {person}"},
    ),
    row(
        "supervise another department's inquiry",
        "POST",
        "/inquiries/{other_card}/supervise",
        "ok ok 403 403 404 404 login",
        {"note": "请尽快办理 {person}"},
    ),
    row(
        "API: supervise a health inquiry",
        "POST",
        "/api/v1/inquiries/{health_card}/supervise",
        "ok ok 403 403 403 404 login",
        {"note": "请尽快办理 {person}"},
    ),
    # 重复件 and 并案: the centre merges (a liaison gets the loop's 409, a viewer 403 as for any write).
    row("a health inquiry's duplicates", "GET", "/inquiries/{health_card}/duplicates", "ok ok ok ok ok 404 login"),
    row(
        "another department's inquiry's duplicates",
        "GET",
        "/inquiries/{other_card}/duplicates",
        "ok ok ok ok 404 404 login",
    ),
    row(
        "merge a health inquiry",
        "POST",
        "/inquiries/{card}/merge",
        "ok ok ok 403 409 404 login",
        {"master": "{health_card}"},
        fresh="health",
    ),
    row("unmerge a health inquiry", "POST", "/inquiries/{card}/unmerge", "ok ok ok 403 409 404 login", fresh="merged"),
    row(
        "API: merge a health inquiry",
        "POST",
        "/api/v1/inquiries/{card}/merge",
        "ok ok ok 403 409 404 login",
        {"master": "{health_card}"},
        fresh="health",
    ),
    row(
        "API: unmerge a health inquiry",
        "POST",
        "/api/v1/inquiries/{card}/unmerge",
        "ok ok ok 403 409 404 login",
        {},
        fresh="merged",
    ),
    # A citizen's numbers: masked for all; board managers and the lead department's liaison
    # may reveal them (audited).
    row(
        "reveal a citizen's phone",
        "POST",
        "/inquiries/{health_card}/reveal",
        "ok ok 403 403 ok 404 login",
        {"which": "phone"},
    ),
    row(
        "reveal another department's citizen's phone",
        "POST",
        "/inquiries/{other_card}/reveal",
        "ok ok 403 403 404 404 login",
        {"which": "phone"},
    ),
    row("a health inquiry's work order", "GET", "/inquiries/{health_card}/workorder", "ok ok ok ok ok 404 login"),
    row(
        "another department's inquiry's work order",
        "GET",
        "/inquiries/{other_card}/workorder",
        "ok ok ok ok 404 404 login",
    ),
    # The knowledge base: every signed-in person reads it; editors (the inquiry boards'
    # managers and members, a liaison for her own department's entries) write; managers and
    # administrators approve and retire. /faq is the citizens' page: approved entries only.
    row("knowledge base", "GET", "/knowledge", "ok ok ok ok ok ok login"),
    row("new knowledge entry form", "GET", "/knowledge/new", "ok ok ok 403 ok 403 login"),
    row(
        "write a knowledge entry",
        "POST",
        "/knowledge",
        "ok ok ok 403 ok 403 login",
        {"question": "矩阵问题 {person}", "answer": "矩阵答复", "department": "{health}"},
    ),
    row("a knowledge entry", "GET", "/knowledge/{health_entry}", "ok ok ok ok ok ok login"),
    row("a knowledge entry that does not exist", "GET", f"/knowledge/{MISSING}", "404 404 404 404 404 404 login"),
    row(
        "edit a health knowledge entry",
        "POST",
        "/knowledge/{health_entry}",
        "ok ok ok 403 ok 403 login",
        {"question": "卫健委的问题 {person}", "answer": "卫健委的答复", "department": "{health}"},
    ),
    row(
        "edit another department's knowledge entry",
        "POST",
        "/knowledge/{other_entry}",
        "ok ok ok 403 403 403 login",
        {"question": "宣传部的问题 {person}", "answer": "宣传部的答复", "department": "{department}"},
    ),
    row("approve a knowledge entry", "POST", "/knowledge/{entry_to_approve}/approve", "ok ok 403 403 403 403 login"),
    row("retire a knowledge entry", "POST", "/knowledge/{entry_to_retire}/retire", "ok ok 403 403 403 403 login"),
    row("an inquiry's knowledge", "GET", "/inquiries/{health_card}/knowledge", "ok ok ok ok ok 404 login"),
    row(
        "another department's inquiry's knowledge",
        "GET",
        "/inquiries/{other_card}/knowledge",
        "ok ok ok ok 404 404 login",
    ),
    # Asked twice, the entry made the first time is the answer: one answered case serves all.
    row(
        "an entry from an answered inquiry",
        "POST",
        "/inquiries/{answered_card}/knowledge",
        "ok ok ok 403 ok 404 login",
    ),
    row(
        "an entry from an unanswered inquiry",
        "POST",
        "/inquiries/{health_card}/knowledge",
        "409 409 409 403 409 404 login",
    ),
    row(
        "search the knowledge from an inquiry",
        "GET",
        "/inquiries/{health_card}/knowledge/search?q=社保",
        "ok ok ok ok ok 404 login",
    ),
    row("public FAQ", "GET", "/faq", "ok ok ok ok ok ok ok"),
    row("a public FAQ entry", "GET", "/faq/{public_entry}", "ok ok ok ok ok ok ok"),
    row("a draft is not in the public FAQ", "GET", "/faq/{health_entry}", "404 404 404 404 404 404 404"),
    # Campaigns (portal.campaigns): a campaign has no department, so the health liaison sees
    # none of them (404), as for the comments; the one routed to health (Card.department) she
    # sees and works. The plan's steps (策划 → 待审批 → 执行中 → 复盘 → 归档) are an editor's but
    # approving and returning, a manager's: a member sees the plan but may not decide (403).
    row("a campaign's plan", "GET", "/campaigns/{campaign}/plan", "ok ok ok ok 404 404 login"),
    row("a health campaign's plan", "GET", "/campaigns/{health_campaign}/plan", "ok ok ok ok ok 404 login"),
    row(
        "another board's campaign's plan",
        "GET",
        "/campaigns/{private_campaign}/plan",
        "ok 404 404 404 404 404 login",
    ),
    row("a comment's plan", "GET", "/campaigns/{card}/plan", "404 404 404 404 404 404 login"),
    row(
        "the plan of a campaign that does not exist",
        "GET",
        f"/campaigns/{MISSING}/plan",
        "404 404 404 404 404 404 login",
    ),
    row(
        "submit a plan",
        "POST",
        "/campaigns/{card}/plan/{submit}",
        "ok ok ok 403 404 404 login",
        {"note": "请审批 {person}"},
        fresh="campaign_plan",
    ),
    row(
        "submit a health campaign's plan",
        "POST",
        "/campaigns/{card}/plan/{submit}",
        "ok ok ok 403 ok 404 login",
        {"note": "请审批 {person}"},
        fresh="health_campaign_plan",
    ),
    row(
        "approve a plan",
        "POST",
        "/campaigns/{card}/plan/{approve}",
        "ok ok 403 403 404 404 login",
        {"note": "同意 {person}", "version": "{pending}"},
        fresh="campaign_pending",
    ),
    row(
        "return a plan",
        "POST",
        "/campaigns/{card}/plan/{return}",
        "ok ok 403 403 404 404 login",
        {"reason": "预算偏高 {person}", "version": "{pending}"},
        fresh="campaign_pending",
    ),
    row(
        "withdraw a plan",
        "POST",
        "/campaigns/{card}/plan/{withdraw}",
        "ok ok ok 403 404 404 login",
        fresh="campaign_pending",
    ),
    row(
        "end a campaign for its review",
        "POST",
        "/campaigns/{card}/plan/{finish}",
        "ok ok ok 403 404 404 login",
        fresh="campaign_running",
    ),
    row(
        "archive a reviewed campaign",
        "POST",
        "/campaigns/{card}/plan/{archive}",
        "ok ok ok 403 404 404 login",
        fresh="campaign_review",
    ),
    row(
        "a step the plan does not have",
        "POST",
        "/campaigns/{campaign}/plan/{no_such_action}",
        "404 404 404 404 404 404 login",
    ),
    row("API: a campaign's plan", "GET", "/api/v1/campaigns/{campaign}/plan", "ok ok ok ok 404 404 login"),
    row(
        "API: a health campaign's plan",
        "GET",
        "/api/v1/campaigns/{health_campaign}/plan",
        "ok ok ok ok ok 404 login",
    ),
    row(
        "API: another board's campaign's plan",
        "GET",
        "/api/v1/campaigns/{private_campaign}/plan",
        "ok 404 404 404 404 404 login",
    ),
    row("API: a comment's plan", "GET", "/api/v1/campaigns/{card}/plan", "404 404 404 404 404 404 login"),
    row(
        "API: submit a plan",
        "POST",
        "/api/v1/campaigns/{card}/plan/{submit}",
        "ok ok ok 403 404 404 login",
        {"note": "请审批 {person}"},
        fresh="campaign_plan",
    ),
    row(
        "API: approve a plan",
        "POST",
        "/api/v1/campaigns/{card}/plan/{approve}",
        "ok ok 403 403 404 404 login",
        {"version": "{pending}"},
        fresh="campaign_pending",
    ),
    # The task checklist (任务清单): read by all who see the campaign, kept by its editors.
    row("a campaign's tasks", "GET", "/campaigns/{campaign}/tasks", "ok ok ok ok 404 404 login"),
    row(
        "add a task",
        "POST",
        "/campaigns/{campaign}/tasks",
        "ok ok ok 403 404 404 login",
        {"title": "任务 {person}"},
    ),
    row("the format's template tasks", "POST", "/campaigns/{campaign}/tasks/template", "ok ok ok 403 404 404 login"),
    row(
        "tick a task off",
        "POST",
        "/campaigns/{campaign}/tasks/{task}/{task_done}",
        "ok ok ok 403 404 404 login",
        fresh="campaign_task",
    ),
    row(
        "tick a health campaign's task off",
        "POST",
        "/campaigns/{health_campaign}/tasks/{task}/{task_done}",
        "ok ok ok 403 ok 404 login",
        fresh="health_campaign_task",
    ),
    row(
        "tick another campaign's task off",
        "POST",
        "/campaigns/{campaign}/tasks/{health_task}/{task_done}",
        "404 404 404 403 404 404 login",
    ),
    row(
        "a task action the checklist does not have",
        "POST",
        "/campaigns/{campaign}/tasks/{task}/{no_such_action}",
        "404 404 404 404 404 404 login",
    ),
    row("API: a campaign's tasks", "GET", "/api/v1/campaigns/{campaign}/tasks", "ok ok ok ok 404 404 login"),
    row(
        "API: add a task",
        "POST",
        "/api/v1/campaigns/{campaign}/tasks",
        "ok ok ok 403 404 404 login",
        {"title": "接口任务 {person}"},
    ),
    row(
        "API: the format's template tasks",
        "POST",
        "/api/v1/campaigns/{campaign}/tasks/template",
        "ok ok ok 403 404 404 login",
        {},
    ),
    row(
        "API: change a task",
        "PATCH",
        "/api/v1/campaigns/{campaign}/tasks/{task}",
        "ok ok ok 403 404 404 login",
        {"title": "改 {person}", "done": True},
        fresh="campaign_task",
    ),
    row(
        "API: remove a task",
        "DELETE",
        "/api/v1/campaigns/{campaign}/tasks/{task}",
        "ok ok ok 403 404 404 login",
        fresh="campaign_task",
    ),
    # The figures against the goals (数据与目标): recorded by editors while the campaign runs.
    row("a campaign's figures", "GET", "/campaigns/{campaign}/metrics", "ok ok ok ok 404 404 login"),
    row(
        "record a campaign's figures",
        "POST",
        "/campaigns/{campaign}/metrics",
        "ok ok ok 403 404 404 login",
        {"platform": "douyin", "at": "{metric_at}", "participants": "1200"},
    ),
    row(
        "record a health campaign's figures",
        "POST",
        "/campaigns/{health_campaign}/metrics",
        "ok ok ok 403 ok 404 login",
        {"platform": "douyin", "at": "{metric_at}", "participants": "1200"},
    ),
    # No file: 422 is the form's answer once the person is let in.
    row(
        "import a campaign's figures",
        "POST",
        "/campaigns/{campaign}/metrics/import",
        "422 422 422 403 404 404 login",
        {},
    ),
    row("API: a campaign's figures", "GET", "/api/v1/campaigns/{campaign}/metrics", "ok ok ok ok 404 404 login"),
    row(
        "API: record a campaign's figures",
        "POST",
        "/api/v1/campaigns/{campaign}/metrics",
        "ok ok ok 403 404 404 login",
        {"platform": "douyin", "at": "{metric_at}", "participants": 1300},
    ),
    # The questions asked during the campaign (网友提问). Made into a reply template: only by
    # those who work on reply templates (not a liaison: 403 on the health campaign).
    row("a campaign's questions", "GET", "/campaigns/{campaign}/questions", "ok ok ok ok 404 404 login"),
    row(
        "collect a question",
        "POST",
        "/campaigns/{campaign}/questions",
        "ok ok ok 403 404 404 login",
        {"text": "怎么参加 {person}", "platform": "douyin"},
    ),
    row(
        "paste questions",
        "POST",
        "/campaigns/{campaign}/questions/paste",
        "ok ok ok 403 404 404 login",
        {"lines": "奖品何时发 {person}\n可以重复参加吗 {person}"},
    ),
    row(
        "remove a question",
        "POST",
        "/campaigns/{campaign}/questions/{question}/remove",
        "ok ok ok 403 404 404 login",
        fresh="campaign_question",
    ),
    row(
        "send a question to the comments board",
        "POST",
        "/campaigns/{campaign}/questions/{question}/send",
        "ok ok ok 403 404 404 login",
        {"board": "{board}"},
        fresh="campaign_question",
    ),
    row(
        "send a health campaign's question to the comments board",
        "POST",
        "/campaigns/{health_campaign}/questions/{question}/send",
        "ok ok ok 403 ok 404 login",
        {"board": "{board}"},
        fresh="health_campaign_question",
    ),
    row(
        "send another campaign's question",
        "POST",
        "/campaigns/{campaign}/questions/{health_question}/send",
        "404 404 404 403 404 404 login",
        {"board": "{board}"},
    ),
    row(
        "make a reply template from a question",
        "POST",
        "/campaigns/{campaign}/questions/{question}/template",
        "ok ok ok 403 404 404 login",
        {"answer": "您好，关注公众号即可参加。"},
        fresh="campaign_question",
    ),
    row(
        "make a reply template from a health campaign's question",
        "POST",
        "/campaigns/{health_campaign}/questions/{question}/template",
        "ok ok ok 403 403 404 login",
        {"answer": "您好，关注公众号即可参加。"},
        fresh="health_campaign_question",
    ),
    row(
        "make a reply template from a question on the review page",
        "POST",
        "/campaigns/{campaign}/review/questions/{question}/template",
        "ok ok ok 403 404 404 login",
        {"answer": "您好，关注公众号即可参加。"},
        fresh="campaign_question",
    ),
    row(
        "make a reply template from a health campaign's question on the review page",
        "POST",
        "/campaigns/{health_campaign}/review/questions/{question}/template",
        "ok ok ok 403 403 404 login",
        {"answer": "您好，关注公众号即可参加。"},
        fresh="health_campaign_question",
    ),
    row("API: a campaign's questions", "GET", "/api/v1/campaigns/{campaign}/questions", "ok ok ok ok 404 404 login"),
    row(
        "API: collect a question",
        "POST",
        "/api/v1/campaigns/{campaign}/questions",
        "ok ok ok 403 404 404 login",
        {"text": "接口提问 {person}"},
    ),
    row(
        "API: send a question to the comments board",
        "POST",
        "/api/v1/campaigns/{campaign}/questions/{question}/send",
        "ok ok ok 403 404 404 login",
        {"board": "{board}"},
        fresh="campaign_question",
    ),
    row(
        "API: make a reply template from a question",
        "POST",
        "/api/v1/campaigns/{campaign}/questions/{question}/template",
        "ok ok ok 403 404 404 login",
        {"answer": "您好，关注公众号即可参加。"},
        fresh="campaign_question",
    ),
    row(
        "API: remove a question",
        "DELETE",
        "/api/v1/campaigns/{campaign}/questions/{question}",
        "ok ok ok 403 404 404 login",
        fresh="campaign_question",
    ),
    # The review (复盘): read by all who see the campaign, written by its editors.
    row("a campaign's review", "GET", "/campaigns/{campaign}/review", "ok ok ok ok 404 404 login"),
    row(
        "another board's campaign's review",
        "GET",
        "/campaigns/{private_campaign}/review",
        "ok 404 404 404 404 404 login",
    ),
    row(
        "write a campaign's review",
        "POST",
        "/campaigns/{campaign}/review",
        "ok ok ok 403 404 404 login",
        {"went_well": "互动踊跃 {person}", "to_change": "提前预热"},
    ),
    row(
        "write a health campaign's review",
        "POST",
        "/campaigns/{health_campaign}/review",
        "ok ok ok 403 ok 404 login",
        {"went_well": "互动踊跃 {person}", "to_change": "提前预热"},
    ),
    row(
        "a campaign's review as a spreadsheet", "GET", "/campaigns/{campaign}/review.xlsx", "ok ok ok ok 404 404 login"
    ),
    row(
        "another board's campaign's review as a spreadsheet",
        "GET",
        "/campaigns/{private_campaign}/review.xlsx",
        "ok 404 404 404 404 404 login",
    ),
    # The campaigns' calendar: every signed-in person has one (empty without a campaigns board).
    row("campaign calendar", "GET", "/campaigns/calendar", "ok ok ok ok ok ok login"),
    row("API: campaign calendar", "GET", "/api/v1/campaigns/calendar", "ok ok ok ok ok ok login"),
    row("a campaign's clashes", "GET", "/campaigns/{campaign}/clashes", "ok ok ok ok 404 404 login"),
    row(
        "another board's campaign's clashes",
        "GET",
        "/campaigns/{private_campaign}/clashes",
        "ok 404 404 404 404 404 login",
    ),
    # Figures (portal.stats): everyone signed in may look; the figures cover what each may see.
    row("figures dashboard", "GET", "/stats", "ok ok ok ok ok ok login"),
    row("the cards behind a figure", "GET", "/stats/cards?figure=received", "ok ok ok ok ok ok login"),
    row("weekly report", "GET", "/stats/report?period=week", "ok ok ok ok ok ok login"),
    row("figures as CSV", "GET", "/stats/export.csv?table=members", "ok ok ok ok ok ok login"),
    row("figures as a spreadsheet", "GET", "/stats/export.xlsx?table=members", "ok ok ok ok ok ok login"),
    row("API: figures", "GET", "/api/v1/stats?period=month", "ok ok ok ok ok ok login"),
    row("API: the cards behind a figure", "GET", "/api/v1/stats/cards?figure=received", "ok ok ok ok ok ok login"),
    # Search (portal.search): everyone signed in may search; the results cover what each may see
    # (tests/security/test_search_permissions.py). A board one is not on is no choice: 422.
    row("search page", "GET", "/search?q=metro", "ok ok ok ok ok ok login"),
    row("search one board", "GET", "/search?q=metro&board={board}", "ok ok ok ok ok 422 login"),
    row("API: search", "GET", "/api/v1/search?q=metro", "ok ok ok ok ok ok login"),
    row("API: search one board", "GET", "/api/v1/search?q=metro&board={board}", "ok ok ok ok ok 422 login"),
    # Account figures (portal.stats.accounts): everyone signed in reads; managers and admins write.
    row("account figures", "GET", "/stats/accounts", "ok ok ok ok ok ok login"),
    row("account figures as CSV", "GET", "/stats/accounts/export.csv", "ok ok ok ok ok ok login"),
    row("account figures as a spreadsheet", "GET", "/stats/accounts/export.xlsx", "ok ok ok ok ok ok login"),
    row(
        "record an account's figures",
        "POST",
        "/stats/accounts/figures",
        "ok ok 403 403 403 403 login",
        {"account": "{media_account}", "date": "2025-06-01", "followers": "1000"},
    ),
    # No file: the permission is checked first, then the missing file is bad input.
    row("import account figures", "POST", "/stats/accounts/import", "422 422 403 403 403 403 login"),
    row(
        "add a media account",
        "POST",
        "/stats/accounts/new",
        "ok ok 403 403 403 403 login",
        {"name": "账号 {person}", "platform": "weibo"},
    ),
    row(
        "change a media account",
        "POST",
        "/stats/accounts/{media_account}",
        "ok ok 403 403 403 403 login",
        {"name": "临江发布", "platform": "wechat", "active": "1"},
    ),
    row("API: media accounts", "GET", "/api/v1/accounts", "ok ok ok ok ok ok login"),
    row(
        "API: add a media account",
        "POST",
        "/api/v1/accounts",
        "ok ok 403 403 403 403 login",
        {"name": "接口账号 {person}", "platform": "douyin"},
    ),
    row("API: account figures summary", "GET", "/api/v1/accounts/summary", "ok ok ok ok ok ok login"),
    row("API: a media account", "GET", "/api/v1/accounts/{media_account}", "ok ok ok ok ok ok login"),
    row(
        "API: a media account that does not exist",
        "GET",
        f"/api/v1/accounts/{MISSING}/figures",
        "404 404 404 404 404 404 login",
    ),
    row(
        "API: change a media account",
        "PATCH",
        "/api/v1/accounts/{media_account}",
        "ok ok 403 403 403 403 login",
        {"active": True},
    ),
    row("API: an account's figures", "GET", "/api/v1/accounts/{media_account}/figures", "ok ok ok ok ok ok login"),
    row(
        "API: record an account's figures",
        "POST",
        "/api/v1/accounts/{media_account}/figures",
        "ok ok 403 403 403 403 login",
        {"date": "2025-06-01", "reads": 500},
    ),
    # Early warning (舆情预警): everyone may open the page (a liaison or an outsider sees no
    # board's topics there); managers act on alerts of their boards, and its members on duty
    # (the default) acknowledge them; others' alerts are 404.
    row("warning monitor", "GET", "/warning", "ok ok ok ok ok ok login"),
    row("warning monitor live section", "GET", "/warning/live", "ok ok ok ok ok ok login"),
    row(
        "acknowledge a warning alert",
        "POST",
        "/warning/alerts/{warning_alert}/acknowledge",
        "ok ok ok 403 404 404 login",
        fresh="warning_alert",
    ),
    row(
        "make a warning alert an incident",
        "POST",
        "/warning/alerts/{warning_alert}/incident",
        "ok ok 403 403 404 404 login",
        fresh="warning_alert",
    ),
    row("watch rules page", "GET", "/admin/warning-rules", "ok 403 403 403 403 403 login"),
    row(
        "add a watch rule",
        "POST",
        "/admin/warning-rules",
        "ok 403 403 403 403 403 login",
        {"name": "规则 {person}", "keywords": "地铁", "window_minutes": "30", "min_count": "5", "level": "blue"},
    ),
    row("remove a watch rule", "POST", f"/admin/warning-rules/{MISSING}/delete", "404 403 403 403 403 403 login"),
    row(
        "set the escalation time",
        "POST",
        "/admin/warning-rules/settings",
        "ok 403 403 403 403 403 login",
        {"escalate_minutes": "15"},
    ),
    row("API: warning topics", "GET", "/api/v1/warning/topics", "ok ok ok ok ok ok login"),
    row("API: warning alerts", "GET", "/api/v1/warning/alerts", "ok ok ok ok ok ok login"),
    row(
        "API: acknowledge a warning alert",
        "POST",
        "/api/v1/warning/alerts/{warning_alert}/acknowledge",
        "ok ok ok 403 404 404 login",
        fresh="warning_alert",
    ),
    row(
        "API: make a warning alert an incident",
        "POST",
        "/api/v1/warning/alerts/{warning_alert}/incident",
        "ok ok 403 403 404 404 login",
        fresh="warning_alert",
    ),
]


def _params():
    for item in TABLE:
        yield pytest.param(item, id=item.name) if isinstance(item, Row) else item


# The world -----------------------------------------------------------------------------


@dataclass
class World:
    """The boards, cards and people the rows name, and one logged-in client per person."""

    values: dict[str, Any] = field(default_factory=dict)  # the placeholders every row may use
    users: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    columns: dict[tuple[str, str], int] = field(default_factory=dict)  # (board, key) -> id
    client: AsyncTestClient | None = None  # one app, so that its effects run on one event loop
    jars: dict[str, httpx.Cookies] = field(default_factory=dict)  # each person's session cookies
    csrf: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    boards: dict[str, factories.World] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)
    fresh_number: int = 0


async def _empty_database_and_redis() -> None:
    """What the clean_db fixture does (the world outlives one test, so it cannot use it)."""
    tables = list(reversed(APP_CONFIG.table_classes))
    if ON_POSTGRES:
        from portal import db

        names = ", ".join(table._meta.tablename for table in tables)
        await db.engine().run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        for table in tables:
            await table.delete(force=True)
    redis = async_client(get_settings())
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    sla.invalidate()


MARKER = "portal:test:permission-matrix"


async def _still_standing(world: World) -> bool:
    """False when a test elsewhere emptied the database or Redis since the world was built."""
    if not world.values:
        return False
    redis = async_client(get_settings())
    try:
        marked = await redis.exists(MARKER)
    finally:
        await redis.aclose()
    return bool(marked) and await Board.exists().where(Board.id == world.values["board"])


async def _build(world: World) -> None:
    await _empty_database_and_redis()
    # Writes made here rather than through the client run their effects with the test's Redis.
    async with effects_configured():
        await _build_world(world)
    for person in PEOPLE:
        await _log_in(world, person)


async def _build_world(world: World) -> None:
    comments = await factories.board("comments")  # the six people, on this board in their roles
    inquiries = await factories.board("inquiries", {"target": ("member", "publicity", "member")})
    private = await factories.board("campaigns", {"stranger": ("member", "publicity", "manager")})
    users = {**comments.users, **inquiries.users, **private.users}
    await BoardMember.insert(
        *[BoardMember(board=inquiries.board_id, user=users[name], role=role) for name, role in BOARD_ROLES.items()],
        BoardMember(board=comments.board_id, user=users["target"], role="member"),
    )
    inquiries.users = users
    health, publicity = await factories.department("health"), await factories.department("publicity")
    await Board.update({Board.webhooks: [{"kind": "wecom", "url": f"{ROBOT}seed{n}"} for n in range(3)]}).where(
        Board.id == comments.board_id
    )
    world.users = users
    world.columns = {
        **{("comments", key): column for key, column in comments.columns.items()},
        **{("inquiries", key): column for key, column in inquiries.columns.items()},
        **{("private", key): column for key, column in private.columns.items()},
    }
    world.boards = {"comments": comments, "inquiries": inquiries, "private": private}
    world.departments = {"health": health, "publicity": publicity}
    world.notifications = {
        name: await notifications.notify(users[name], "due", f"提醒 {name}", f"matrix-{name}")
        for name in ("admin", "manager", "member", "viewer", "liaison", "outsider", "target")
    }
    world.values = {
        "board": comments.board_id,
        "inquiries": inquiries.board_id,
        "private": private.board_id,
        "column": comments.columns["new"],
        "closed_column": comments.columns["closed"],
        "inquiry_column": inquiries.columns["pending_accept"],
        "private_column": private.columns["planning"],
        "card": await comments.card("manager", column="new", title="一条留言"),
        "health_card": await inquiries.card(
            "manager", column="pending_accept", title="卫健委的咨询", department=health, citizen_phone=PHONE
        ),
        "other_card": await inquiries.card(
            "manager", column="pending_accept", title="宣传部的咨询", department=publicity
        ),
        "user": users["target"],
        "member": users["target"],
        "duty_member": users["member"],  # stays a member of the comments board ("remove a member" takes target)
        "department": publicity,
        "health": health,
        "other_notification": world.notifications["target"],
        "index": 0,
    }
    # comments: escalations and batch — two reports of the comment to the viewer as a leader
    # (one to instruct on, one to close).
    from portal.comments.tables import Escalation

    for name in ("escalation", "escalation_to_close"):
        report = Escalation(
            card=world.values["card"], board=comments.board_id, target="leader", target_user=users["viewer"]
        )
        report.risk, report.reason = "general", "矩阵"
        world.values[name] = (await Escalation.insert(report).returning(Escalation.id))[0]["id"]
    await _inquiry_world(world, inquiries, health, publicity)
    await _campaign_world(world, health)
    await _incident_world(world)
    world.values["warning_alert"] = await _warning_alert(world)
    for name, card in (
        ("attachment", "card"),
        ("health_attachment", "health_card"),
        ("other_attachment", "other_card"),
    ):
        world.values[name] = await _attachment(world, card, f"附件 {name}")
    # Account figures: a media account to record figures on and change.
    from portal.stats import accounts as media_accounts

    world.values["media_account"] = await media_accounts.create_account(
        await get_active_user(users["manager"]), {"name": "临江发布", "platform": "wechat"}
    )
    redis = async_client(get_settings())
    try:
        await redis.set(MARKER, "1")
    finally:
        await redis.aclose()
    for person in PEOPLE[:-1]:
        world.tokens[person] = await create_token(await get_active_user(users[person]), "matrix")
    target = await get_active_user(users["target"])
    await create_token(target, "目标的脚本")
    world.values["other_token"] = (await list_tokens(target))[0]["id"]


async def _attachment(world: World, card: str, name: str) -> int:
    """An image on a card of the world, uploaded by the manager, its thumbnail made."""
    from portal.attachments import services as attachments

    board = world.boards["comments" if card == "card" else "inquiries"]
    access = await board.access("manager")
    change = await attachments.add_attachments(
        access, world.values[card], [attachments.Incoming.from_bytes(f"{name}.png", UPLOAD[0][1])]
    )
    await attachments.make_thumbnail(change.attachment_ids[0])
    return change.attachment_ids[0]


async def _warning_alert(world: World) -> int:
    """An unacknowledged 橙 alert on a topic of the comments board (portal.warning)."""
    from portal.warning.tables import WarningAlert, WarningTopic

    board = world.values["board"]
    topic = (await WarningTopic.insert(WarningTopic(board=board, name="地铁 停运")).returning(WarningTopic.id))[0]["id"]
    alert = WarningAlert(board=board, topic=topic, level="orange", reason="surge", volume=40, expected=0.3)
    return (await WarningAlert.insert(alert).returning(WarningAlert.id))[0]["id"]


async def _dispatch(access, card_id: int, department: int) -> None:
    await workflow.act(access, card_id, "accept", {"category": "policy", "urgency": "normal"})
    await workflow.act(access, card_id, "dispatch", {"lead_department": department})


async def _incident_world(world: World) -> None:
    """The incidents' targets: an incidents board with the people in their roles and one
    incident on it."""
    incidents = await factories.board("incidents", {"target": ("member", "publicity", "member")})
    members = [BoardMember(board=incidents.board_id, user=world.users[n], role=r) for n, r in BOARD_ROLES.items()]
    await BoardMember.insert(*members)
    incidents.users = world.users
    world.boards["incidents"] = incidents
    world.values.update(
        incident_assess="assess",
        incident_approve="approve-statement",
        incident_instruct="instruct",
        incident=await incidents.card("manager", column="monitoring", title="地铁停运传言"),
    )


async def _fresh_incident(world: World, kind: str, title: str) -> dict[str, Any]:
    """incident: a new incident at 监测; incident_pending: one whose statement (version 1)
    awaits a manager's approval."""
    from portal.incidents import workflow as incidents

    board = world.boards["incidents"]
    card_id = await board.card("manager", column="monitoring", title=title)
    if kind == "incident_pending":
        access = await board.access("manager")
        await incidents.act(access, card_id, "assess", {"level": "orange"})
        await incidents.act(access, card_id, "respond-plan", {"plan": "核实"})
        await incidents.act(access, card_id, "submit-statement", {"text": "口径"})
    return {"card": card_id, "pending": 1}


async def _inquiry_world(world: World, inquiries: factories.World, health: int, publicity: int) -> None:
    """The loop's, 督办's and the knowledge base's targets: an answered health case (an entry
    may be made of it), a health case dispatched and overdue (a department to 督办), and
    knowledge entries — approved (public), drafts of health and of publicity."""
    access = await inquiries.access("manager")
    answered = await inquiries.card("manager", column="pending_accept", title="社保卡补办", department=health)
    await workflow.act(access, answered, "accept", {"category": "policy", "urgency": "normal"})
    await workflow.act(access, answered, "answer_directly", {"answer": "携带身份证到任一网点补办。"})
    late = await inquiries.card("manager", column="pending_accept", title="逾期的咨询", department=health)
    await _dispatch(access, late, health)
    await Card.update({Card.due_at: datetime.now(UTC) - timedelta(days=1)}).where(Card.id == late)
    manager = await get_active_user(world.users["manager"])

    async def entry(question: str, department: int, approved: bool) -> int:
        entry_id = await knowledge.create_entry(
            manager, EntryInput(question=question, answer=f"{question}的答复", category="policy", department=department)
        )
        if approved:
            await knowledge.approve(manager, entry_id)
        return entry_id

    world.values.update(
        # The loop's actions are a path parameter (POST /inquiries/{id}/{action}): "{sign}" is "sign".
        **{name: name for name in workflow.ACTIONS},
        no_such_action="fly",
        answered_card=answered,
        public_entry=await entry("社保卡怎么补办", health, True),
        health_entry=await entry("医保怎么报销", health, False),
        other_entry=await entry("政务号怎么投稿", publicity, False),
        entry_to_approve=await entry("待审核的问题", health, False),
        entry_to_retire=await entry("要下线的问题", health, True),
    )


# The steps that bring a new plan to a state (a manager takes them; a review written for 归档).
CAMPAIGN_STEPS = {
    "planning": (),
    "approval": ("submit",),
    "running": ("submit", "approve"),
    "review": ("submit", "approve", "finish"),
}


async def _campaign(
    world: World, title: str, state: str, department: int | None = None, board: str = "campaigns"
) -> int:
    """A Douyin 知识挑战 (its template's tasks with it) begun three days ago, with a goal of
    5,000 participants, brought to ``state``; ``department``: routed there (a campaign has none
    of its own: only its Card.department makes it a liaison's)."""
    campaigns = world.boards[board]
    person = "manager" if board == "campaigns" else "stranger"
    now = datetime.now(UTC).replace(microsecond=0)
    card_id = await campaigns.card(
        person,
        column="planning",
        title=title,
        theme="医保新政知识普及",
        campaign_format="quiz",
        platforms=["douyin"],
        starts_at=now - timedelta(days=3),
        ends_at=now + timedelta(days=10),
        targets={"douyin": {"participants": 5000}},
        assignee=world.users[person],
    )
    if department is not None:
        await Card.update({Card.department: department}).where(Card.id == card_id)
    access = await campaigns.access(person)
    for action in CAMPAIGN_STEPS[state]:
        await campaign_workflow.act(access, card_id, action, {"version": 1})  # the first version submitted
    if state == "review":
        await campaign_review.save_review(access, card_id, {"went_well": "互动踊跃", "to_change": "提前预热"})
    return card_id


async def _campaign_world(world: World, health: int) -> None:
    """The campaigns' targets: a campaigns board with the people in the inquiries board's
    roles; a running campaign (its tasks, a question collected), one like it routed to health
    (the liaison's), and a plan on the private campaigns board."""
    campaigns = await factories.board("campaigns", {"target": ("member", "publicity", "member")})
    await BoardMember.insert(
        *[
            BoardMember(board=campaigns.board_id, user=world.users[name], role=role)
            for name, role in BOARD_ROLES.items()
        ]
    )
    campaigns.users = world.users
    world.boards["campaigns"] = campaigns
    campaign = await _campaign(world, "医保知识挑战赛", "running")
    health_campaign = await _campaign(world, "健康知识挑战赛", "running", department=health)
    access = await campaigns.access("manager")
    health_question = await campaign_questions.add_question(access, health_campaign, {"text": "奖品怎么领取？"})
    world.values.update(
        # The steps are path parameters (POST /campaigns/{id}/plan/{action}): "{submit}" is "submit".
        **{name: name for name in campaign_workflow.ACTIONS},
        **{f"task_{name}": name for name in campaign_tasks.ACTIONS},
        campaigns=campaigns.board_id,
        campaign=campaign,
        health_campaign=health_campaign,
        private_campaign=await _campaign(world, "别的看板的活动", "planning", board="private"),
        task=await campaign_tasks.add_task(access, campaign, {"title": "准备奖品"}),
        health_task=await campaign_tasks.add_task(access, health_campaign, {"title": "准备奖品"}),
        health_question=health_question["id"],
        # A time the running campaigns' figures may be recorded at (after the start, not ahead).
        metric_at=(datetime.now(get_settings().tz) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
    )


async def _fresh_campaign(world: World, kind: str, title: str) -> dict[str, Any]:
    """campaign_plan, _pending, _running, _review: a new campaign in that state (health_…:
    routed to health); campaign_task, _question: a new one on the running campaign (health_…:
    on the health one), written straight to its table (what is asked of it is only that it
    is there: many are made, and the services' effects would cost the suite time)."""
    health = kind.startswith("health_")
    what = kind.removeprefix("health_").removeprefix("campaign_")
    campaign = world.values["health_campaign" if health else "campaign"]
    if what == "task":
        task = CampaignTask(card=campaign, title=title, position=world.fresh_number, created_by=world.users["manager"])
        return {"task": (await CampaignTask.insert(task).returning(CampaignTask.id))[0]["id"]}
    if what == "question":
        question = CampaignQuestion(
            card=campaign, text=f"提问 {title}", asked_at=datetime.now(UTC), created_by=world.users["manager"]
        )
        return {"question": (await CampaignQuestion.insert(question).returning(CampaignQuestion.id))[0]["id"]}
    state = {"plan": "planning", "pending": "approval", "running": "running", "review": "review"}[what]
    card_id = await _campaign(world, title, state, department=world.departments["health"] if health else None)
    return {"card": card_id, "pending": 1}  # the version awaiting a decision (campaign_pending)


@asynccontextmanager
async def _as(world: World, person: str | None):
    """The one client, carrying ``person``'s cookies (None: no cookies at all)."""
    client = world.client
    client.cookies = world.jars.get(person) or httpx.Cookies() if person else httpx.Cookies()
    try:
        yield client
    finally:
        if person:
            world.jars[person] = client.cookies


async def _log_in(world: World, person: str) -> None:
    world.jars.pop(person, None)
    async with _as(world, person) as client:
        if person != "anonymous":
            await login(client, person)
            assert client.cookies.get(SESSION_COOKIE), f"{person} could not log in"
        page = await client.get("/boards" if person != "anonymous" else "/login")
        world.csrf[person] = csrf_from(page.text)


async def _fresh(world: World, kind: str, person: str) -> dict[str, Any]:
    """A new target for one person's request, so that one person's write leaves the next
    person the same situation: a comment; an inquiry of health, of publicity ("other"), a
    health one with an extension requested, dispatched to health, or merged under the health
    inquiry; two similar comments ("similar"), or grouped; a column; an API token; a campaign
    in a state, or a task or question of one (_fresh_campaign)."""
    world.fresh_number += 1
    title = f"目标 {world.fresh_number}"
    if kind.startswith("incident"):
        return await _fresh_incident(world, kind, title)
    if kind == "warning_alert":
        return {"warning_alert": await _warning_alert(world)}
    if "campaign_" in kind:
        return await _fresh_campaign(world, kind, title)
    if kind == "attachment":
        return {"attachment": await _attachment(world, "card", title)}
    if kind == "token":
        owner = await get_active_user(world.users[person if person != "anonymous" else "target"])
        await create_token(owner, title)
        return {"token": (await list_tokens(owner))[0]["id"]}
    if kind == "column":
        rows = await BoardColumn.insert(
            BoardColumn(
                board=world.values["board"],
                key=f"m{world.fresh_number}",
                name=title,
                meaning="working",
                position=100 + world.fresh_number,
            )
        )
        return {"column": rows[0]["id"]}
    if kind in ("similar", "grouped"):
        # Two comments as triage leaves them (signatures stored, counted as similar); "grouped":
        # the first already leads the second.
        board = world.boards["comments"]
        lead, member = [
            await board.card("manager", column="new", title=text, body=text)
            for text in (f"请问异地就医备案在哪里办理 {title}", f"异地就医备案在哪里办理呢 {title}")
        ]
        for card_id in (lead, member):
            text = (await Card.select(Card.title).where(Card.id == card_id).first())["title"]
            await CommentDetail.update(
                {CommentDetail.signature: similar.signature(text).hex(), CommentDetail.similar_count: 1}
            ).where(CommentDetail.card == card_id)
        if kind == "grouped":
            await groups.group(await board.access("manager"), lead, groups.GroupInput(card_ids=[member]))
        return {"card": lead, "member": member}
    if kind == "archived":
        board = world.boards["comments"]
        card_id = await board.card("manager", column="closed", title=title)
        await cards.archive_card(await board.access("manager"), card_id, None)
        return {"card": card_id}
    if kind == "comment":
        board, card_id = world.boards["comments"], None
        card_id = await board.card("manager", column="new", title=title)
        to_column = world.columns[("comments", "pending")]
    elif kind in ("dispatched", "merged"):
        # "dispatched": accepted and dispatched to health (a drag to 办理中 signs for it);
        # "merged": a new case merged under the health inquiry by the centre.
        board = world.boards["inquiries"]
        card_id = await board.card(
            "manager", column="pending_accept", title=title, department=world.departments["health"]
        )
        access = await board.access("manager")
        if kind == "dispatched":
            await _dispatch(access, card_id, world.departments["health"])
        else:
            await merging.merge(access, card_id, world.values["health_card"])
        to_column = world.columns[("inquiries", "handling")]
    else:
        board = world.boards["inquiries"]
        department = world.departments["publicity" if kind == "other" else "health"]
        card_id = await board.card("manager", column="pending_accept", title=title, department=department)
        to_column = world.columns[("inquiries", "dispatched")]
    if kind == "extension":
        access = await access_for(await get_active_user(world.users["member"]), board.board_id)
        card = await Card.select(Card.version, Card.due_at).where(Card.id == card_id).first()
        assert card["due_at"], "the comment has no deadline to extend"
        await cards.request_extension(access, card_id, card["version"], card["due_at"] + timedelta(days=2), "需要时间")
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    return {"card": card_id, "version": version, "to_column": to_column}


async def _after(world: World, what: str, person: str) -> None:
    if what == "relogin" and person != "anonymous":
        await _log_in(world, person)
    elif what == "password" and person != "anonymous":
        await User.update({User.password_hash: await hash_password(PASSWORD)}).where(User.id == world.users[person])
    elif what == "anonymous_session" and person == "anonymous":
        world.jars[person].delete(SESSION_COOKIE)


@pytest.fixture(scope="module")
async def matrix_world(database):
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        yield World(client=client)


@pytest.fixture
async def world(matrix_world: World) -> World:
    if not await _still_standing(matrix_world):
        await _build(matrix_world)
    return matrix_world


# Asking and judging ----------------------------------------------------------------------


def _fill(template: Any, values: dict[str, Any]) -> Any:
    """ "{version}" alone keeps its type (an int in JSON); anything else is formatted."""
    if isinstance(template, str):
        whole = re.fullmatch(r"\{(\w+)\}", template)
        return values[whole.group(1)] if whole else template.format(**values)
    return template


async def _ask(world: World, item: Row, person: str, values: dict[str, Any]):
    url = item.path.format(**values)
    if item.api:
        headers = {"Authorization": f"Bearer {world.tokens[person]}"} if person != "anonymous" else {}
        body = {key: _fill(value, values) for key, value in (item.data or {}).items()}
        options = {"json": body} if item.method != "GET" else {}
        if item.files:
            options = {"files": [("files", upload) for upload in item.files]}
        async with _as(world, None) as client:  # the token alone, no session cookie
            return await client.request(item.method, url, headers=headers, follow_redirects=False, **options)
    headers = {"x-csrftoken": world.csrf[person]}
    options = {}
    if item.method != "GET":
        headers["HX-Request"] = "true"
        options["data"] = {key: str(_fill(value, values)) for key, value in (item.data or {}).items()}
        if item.files:
            options["files"] = [("files", upload) for upload in item.files]
    async with _as(world, person) as client:
        return await client.request(item.method, url, headers=headers, follow_redirects=False, **options)


def _to_login(response) -> bool:
    target = response.headers.get("hx-redirect") or response.headers.get("location") or ""
    return target.startswith("/login")


def _judge(item: Row, expected: Any, response) -> bool:
    status = response.status_code
    if expected == LOGIN:
        return status == 401 or (300 <= status < 400 and _to_login(response))
    if expected == OK:
        # A logged-in person sent to the login page has lost her session: not a success.
        return 200 <= status < 400 and (item.path == "/logout" or not _to_login(response))
    return status == expected


@pytest.mark.parametrize("item", list(_params()))
async def test_permission_matrix(world: World, item: Row):
    # A target of its own for everyone who may write; one shared by those who are refused
    # (a refusal changes nothing — and if it does, the row fails for that person anyway).
    targets: dict[str, dict[str, Any]] = {}
    if item.fresh:
        async with effects_configured():  # written here, not through the client
            refused = None
            for person, expected in zip(PEOPLE, item.expect, strict=True):
                if expected == OK:
                    targets[person] = await _fresh(world, item.fresh, person)
                else:
                    refused = refused or await _fresh(world, item.fresh, person)
                    targets[person] = refused
    wrong = []
    for person, expected in zip(PEOPLE, item.expect, strict=True):
        values = {
            **world.values,
            "person": person,
            "login_as": person if person != "anonymous" else "target",
            "notification": world.notifications.get(person, world.notifications["target"]),
        }
        values.update(targets.get(person, {}))
        response = await _ask(world, item, person, values)
        if not _judge(item, expected, response):
            wrong.append(f"{person}: got {response.status_code}, expected {expected}")
        if item.after:
            await _after(world, item.after, person)
    assert not wrong, f"{item.method} {item.path}: " + "; ".join(wrong)


# Every route has a row -----------------------------------------------------------------

NOT_IN_THE_MATRIX = ("/static", "/healthz", "/schema")  # public files, liveness, the API's description


def _shape(path: str) -> str:
    """/boards/{board_id:int}/cards and /boards/{board}/cards?x=1 are the same route."""
    return re.sub(r"\{[^}]*\}|\d+", "{}", path.split("?")[0])


@functools.cache
def app_routes() -> frozenset[tuple[str, str]]:
    from litestar.routes import HTTPRoute

    routes = set()
    for route in create_app().routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_IN_THE_MATRIX):
            continue  # websockets: tests/security/test_ws_*.py
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method not in ("OPTIONS", "HEAD"):
                    routes.add((method, _shape(route.path)))
    return frozenset(routes)


def table_routes() -> set[tuple[str, str]]:
    rows = [item if isinstance(item, Row) else item.values[0] for item in TABLE]
    return {(item.method, _shape(item.path)) for item in rows}


def test_every_route_has_a_row():
    missing = sorted(app_routes() - table_routes())
    assert not missing, f"routes without a row in the permission matrix: {missing}"


def test_every_row_names_a_route():
    stale = sorted(table_routes() - app_routes())
    assert not stale, f"rows for routes the app does not have: {stale}"


def test_rows_have_unique_names():
    names = [item.name if isinstance(item, Row) else item.values[0].name for item in TABLE]
    assert len(names) == len(set(names))


# What the pages show ---------------------------------------------------------------------


async def test_liaison_board_shows_only_her_departments_inquiries(world):
    async with _as(world, "liaison") as client:
        html = (await client.get(f"/boards/{world.values['inquiries']}")).text
    shown = {int(card_id) for card_id in re.findall(r'<article class="card[^"]*" id="card-(\d+)"', html)}
    assert world.values["health_card"] in shown
    assert world.values["other_card"] not in shown
    routed = (
        await Card.select(Card.id, Card.department, Card.assisting_departments)
        .where(Card.id.is_in(list(shown)))
        .output(load_json=True)
    )
    health = world.departments["health"]
    assert len(routed) == len(shown)
    assert all(card["department"] == health or health in (card["assisting_departments"] or []) for card in routed)


@pytest.mark.parametrize(
    ("person", "may_reveal"), [("member", False), ("viewer", False), ("manager", True), ("liaison", True)]
)
async def test_citizen_phone_is_masked_and_only_roles_with_the_right_may_reveal_it(world, person, may_reveal):
    async with _as(world, person) as client:
        html = (await client.get(f"/cards/{world.values['health_card']}", headers={"HX-Request": "true"})).text
    # Masked for everybody (portal.inquiries.privacy); the right is the right to reveal it, audited.
    assert PHONE not in html and f"{PHONE[:3]}****{PHONE[-4:]}" in html
    assert ('data-reveal="phone"' in html) is may_reveal


async def test_liaison_probing_another_departments_card_learns_nothing(world):
    async with _as(world, "liaison") as client:
        response = await client.post(
            f"/cards/{world.values['other_card']}/move",
            data={},
            headers={"HX-Request": "true", "x-csrftoken": world.csrf["liaison"]},
        )
    assert response.status_code == 404
    title = (await Card.select(Card.title).where(Card.id == world.values["other_card"]).first())["title"]
    assert title not in response.text


async def test_liaison_saving_a_card_cannot_reroute_it(world):
    async with effects_configured():
        card_id = (await _fresh(world, "health", "liaison"))["card"]
    await Card.update({Card.assisting_departments: [world.departments["health"], 99]}).where(Card.id == card_id)
    before = (
        await Card.select(Card.department, Card.assisting_departments, Card.version)
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )
    async with _as(world, "liaison") as client:
        response = await client.post(
            f"/cards/{card_id}",
            headers={"HX-Request": "true", "x-csrftoken": world.csrf["liaison"]},
            data={
                "title": "卫健委已受理",
                "version": before["version"],
                "department": str(world.departments["publicity"]),
                "assisting_departments": str(world.departments["publicity"]),
            },
        )
    assert response.status_code == 200
    after = (
        await Card.select(Card.title, Card.department, Card.assisting_departments)
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )
    assert after == {
        "title": "卫健委已受理",
        "department": before["department"],
        "assisting_departments": before["assisting_departments"],
    }


async def test_liaison_is_not_told_of_a_clash_with_a_campaign_she_may_not_see(world):
    # The health campaign runs on Douyin on the same days as the other running campaign: the
    # member is warned of the clash; the liaison, who may not see that campaign, learns nothing of it.
    url = f"/campaigns/{world.values['health_campaign']}/clashes"
    shown = {}
    for person in ("member", "liaison"):
        async with _as(world, person) as client:
            response = await client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200
        shown[person] = response.text
    other = (await Card.select(Card.title).where(Card.id == world.values["campaign"]).first())["title"]
    assert other in shown["member"]
    assert other not in shown["liaison"]


@pytest.mark.parametrize(
    "url",
    [
        "/cards/99999999999999999999",
        "/boards/99999999999999999999",
        "/boards/{board}?assignee=²",
        "/boards/{board}?assignee=99999999999999999999",
    ],
)
async def test_odd_ids_are_not_found_not_errors(world, url):
    async with _as(world, "member") as client:
        status = (await client.get(url.format(board=world.values["board"]))).status_code
    assert status in (200, 404)
