"""Admin pages: users and departments, by role, with bad input changing nothing."""

from __future__ import annotations

import re

import pytest

from portal.accounts.sessions import SESSION_COOKIE
from portal.accounts.tables import Department, User
from portal.events.tables import Event
from tests.conftest import PASSWORD, login, post_form

ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/departments", "/admin/audit"]


@pytest.mark.parametrize("role", ["manager", "member", "liaison", "viewer"])
async def test_non_admins_get_403_on_admin_pages(client, users, role):
    await login(client, role)
    for url in ADMIN_PAGES + [f"/admin/users/{users['member']}"]:
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "无权" in response.text


async def test_viewer_cannot_create_user_even_with_valid_csrf(client, users):
    await login(client, "viewer")
    before = await User.count()
    response = await post_form(
        client,
        "/admin/users",
        {
            "username": "sneaky",
            "display_name": "X",
            "role": "admin",
            "password": "x" * 12,
            "password_confirm": "x" * 12,
        },
    )
    assert response.status_code == 403
    assert await User.count() == before


async def test_admin_creates_user_who_can_then_log_in(client, users, departments):
    await login(client, "admin")
    response = await post_form(
        client,
        "/admin/users",
        {
            "username": "liqiang",
            "display_name": "李强",
            "title": "编辑",
            "email": "li@example.org",
            "role": "member",
            "department_id": str(departments["health"]),
            "password": "a-long-password",
            "password_confirm": "a-long-password",
        },
        page_url="/admin/users/new",
    )
    assert response.status_code == 200
    assert "用户已创建" in response.text or "李强" in response.text
    row = await User.select().where(User.username == "liqiang").first()
    assert row["role"] == "member" and row["department"] == departments["health"]
    assert row["password_hash"].startswith("$argon2")
    assert await Event.count().where(Event.verb == "user.created") >= 1
    await post_form(client, "/logout", {})
    assert (await login(client, "liqiang", "a-long-password")).url.path == "/my-work"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "Bad Name!"}, "username", "须以字母开头"),
        ({"username": "member"}, "username", "该用户名已被使用"),
        ({"password": "short", "password_confirm": "short"}, "password", "请至少输入 10 个字符"),
        ({"password_confirm": "something-else"}, "password_confirm", "两次输入的密码不一致"),
        ({"role": "emperor"}, "role", "请选择角色"),
        ({"department_id": ""}, "department_id", "归属一个部门"),
        ({"email": "not-an-address"}, "email", "有效的电子邮箱"),
    ],
)
async def test_bad_user_input_shows_message_and_changes_nothing(client, users, departments, changes, field, message):
    await login(client, "admin")
    before = await User.count()
    form = {
        "username": "newbie",
        "display_name": "新人",
        "role": "member",
        "department_id": str(departments["health"]),
        "password": "a-long-password",
        "password_confirm": "a-long-password",
        **changes,
    }
    response = await post_form(client, "/admin/users", form, page_url="/admin/users/new")
    assert response.status_code == 422
    errors = dict(re.findall(r'<p class="field-error"(?: id="e-([a-z_]+)")?>([^<]+)</p>', response.text))
    shown = " ".join(errors.values())
    assert message in shown, f"{field}: {errors}"
    assert await User.count() == before
    # What was typed is kept, except passwords.
    if field != "username":
        assert 'value="newbie"' in response.text


async def test_disabling_a_user_ends_their_sessions(client, users):
    from litestar.testing import AsyncTestClient

    from portal.app import create_app

    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as member_client:
        await login(member_client, "member")
        assert (await member_client.get("/boards")).status_code == 200
        await login(client, "admin")
        response = await post_form(client, f"/admin/users/{users['member']}/active", {"active": "0"})
        assert response.status_code == 200
        assert (await member_client.get("/boards", follow_redirects=False)).status_code == 303
        assert (await login(member_client, "member")).status_code == 401


async def test_admin_resets_password(client, users, redis_client):
    await login(client, "admin")
    response = await post_form(
        client,
        f"/admin/users/{users['member']}/password",
        {"password": "brand-new-secret", "password_confirm": "brand-new-secret"},
    )
    assert response.status_code == 200
    await post_form(client, "/logout", {})
    assert (await login(client, "member", PASSWORD)).status_code == 401
    assert (await login(client, "member", "brand-new-secret")).status_code == 200


async def test_admin_cannot_lock_themselves_out(client, users):
    await login(client, "admin")
    response = await post_form(client, f"/admin/users/{users['admin']}/active", {"active": "0"})
    assert response.status_code == 422
    assert await User.select(User.active).where(User.id == users["admin"]).first() == {"active": True}


async def test_departments_create_validate_and_rename(client, users):
    await login(client, "admin")
    response = await post_form(
        client, "/admin/departments", {"code": "", "name_zh": "", "name_en": ""}, page_url="/admin/departments"
    )
    assert response.status_code == 422
    before = await Department.count()
    response = await post_form(
        client, "/admin/departments", {"code": "transport", "name_zh": "交通局", "name_en": "Transport Bureau"}
    )
    assert response.status_code == 200 and "交通局" in response.text
    assert await Department.count() == before + 1
    response = await post_form(client, "/admin/departments", {"code": "transport", "name_zh": "交通", "name_en": "T"})
    assert response.status_code == 422 and await Department.count() == before + 1
    department = await Department.select().where(Department.code == "transport").first()
    await post_form(
        client,
        f"/admin/departments/{department['id']}",
        {"name_zh": "市交通运输局", "name_en": "Transport Bureau", "active": "1"},
    )
    assert (await Department.select(Department.name_zh).where(Department.id == department["id"]).first()) == {
        "name_zh": "市交通运输局"
    }


async def test_user_changes_own_password_and_other_sessions_end(client, users, redis_client):
    await login(client, "member")
    old_token = client.cookies.get(SESSION_COOKIE)
    response = await post_form(
        client,
        "/account/password",
        {"current_password": "wrong", "password": "n" * 12, "password_confirm": "n" * 12},
        page_url="/account",
    )
    assert response.status_code == 422 and "当前密码" in response.text
    response = await post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": "n" * 12, "password_confirm": "n" * 12},
        page_url="/account",
    )
    assert response.status_code == 200 and response.url.path == "/account"
    assert await redis_client.exists(f"portal:session:{old_token}") == 0
    assert (await client.get("/boards")).status_code == 200  # this device stays logged in


async def test_language_switch_is_saved_on_the_account(client, users):
    await login(client, "member")
    page = await client.get("/boards")
    assert "看板" in page.text
    await post_form(client, "/language", {"language": "en"})
    page = await client.get("/boards")
    assert "Boards" in page.text and "Log out" in page.text
    assert await User.select(User.language).where(User.id == users["member"]).first() == {"language": "en"}
    response = await post_form(client, "/language", {"language": "klingon"})
    assert response.status_code == 200
    assert await User.select(User.language).where(User.id == users["member"]).first() == {"language": "en"}


async def test_anonymous_language_switch_uses_a_cookie(client, users):
    page = await client.get("/login")
    assert "登录" in page.text
    await post_form(client, "/language", {"language": "en"}, page_url="/login")
    assert "Log in" in (await client.get("/login")).text


async def test_the_audit_log_reads_in_words_not_codes(client, users):
    from portal.events import services as events

    await events.record(
        "department.updated", actor_id=users["admin"], object_type="department", object_id=1, payload={"name": "卫健委"}
    )
    await login(client, "admin")
    page = (await client.get("/admin/audit")).text
    assert "修改了部门" in page and "name: 卫健委" in page and "\\u" not in page
    assert "登录" in page  # the administrator's own login, recorded just now
