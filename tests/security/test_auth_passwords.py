"""New passwords: not a common one, not the user name, wherever they are set."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from portal.accounts.forms import is_common_password, password_problem
from portal.accounts.tables import User
from tests.conftest import PASSWORD, login, post_form

TOO_COMMON = "太常见"
STRONG = "lantern-over-west-lake"


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "qwertyuiop",
        "QwertyUIOP",
        "qwertyuiop2027!",
        "1234567890",
        "woaini1314",
        "a1234567890",
        "5201314520",
        "1qaz2wsx3edc",
        "portal-demo",
    ],
)
def test_common_passwords_are_recognised(password):
    assert is_common_password(password)


@pytest.mark.parametrize("password", [STRONG, PASSWORD, "a-long-password", "纸飞机落在晚霞里7"])
def test_uncommon_passwords_pass(password):
    assert password_problem(password, "zhangwei") is None


def test_password_with_the_user_name_is_refused():
    assert password_problem("zhangwei", "zhangwei")
    assert password_problem("ZhangWei-1987-spring", "zhangwei")
    # Very short names are too common inside good passwords to refuse them.
    assert password_problem("delivery-olive-tree", "li") is None


def _new_user(password: str, username: str = "liqiang") -> dict[str, str]:
    return {
        "username": username,
        "display_name": "李强",
        "role": "admin",
        "department_id": "",
        "password": password,
        "password_confirm": password,
    }


async def test_admin_cannot_create_a_user_with_a_common_password(client, users):
    await login(client, "admin")
    for password in ("password1234", "qwertyuiop"):
        response = await post_form(client, "/admin/users", _new_user(password), page_url="/admin/users/new")
        assert response.status_code == 422
        assert TOO_COMMON in response.text
    response = await post_form(client, "/admin/users", _new_user("liqiang-2024-x"), page_url="/admin/users/new")
    assert response.status_code == 422 and "密码不能包含用户名" in response.text
    assert not await User.exists().where(User.username == "liqiang")
    response = await post_form(client, "/admin/users", _new_user(STRONG), page_url="/admin/users/new")
    assert response.url.path.startswith("/admin/users/")
    assert await User.exists().where(User.username == "liqiang")


async def test_admin_cannot_reset_to_a_common_password(client, users):
    await login(client, "admin")
    url = f"/admin/users/{users['member']}/password"
    page = f"/admin/users/{users['member']}"
    response = await post_form(client, url, {"password": "qwertyuiop", "password_confirm": "qwertyuiop"}, page)
    assert response.status_code == 422 and TOO_COMMON in response.text
    # The user name is checked although the reset form does not carry it.
    response = await post_form(client, url, {"password": "member-2024-x", "password_confirm": "member-2024-x"}, page)
    assert response.status_code == 422 and "密码不能包含用户名" in response.text
    response = await post_form(client, url, {"password": STRONG, "password_confirm": STRONG}, page)
    assert response.url.query == b"saved=password"


async def test_own_password_change_refuses_a_common_password(client, users):
    await login(client, "member")
    form = {"current_password": PASSWORD, "password": "woaini1314", "password_confirm": "woaini1314"}
    response = await post_form(client, "/account/password", form, page_url="/account")
    assert response.status_code == 422 and TOO_COMMON in response.text
    form = {"current_password": PASSWORD, "password": STRONG, "password_confirm": STRONG}
    response = await post_form(client, "/account/password", form, page_url="/account")
    assert response.url.query == b"saved=password"


def test_create_user_command_refuses_a_common_password(database):
    from portal.cli import main

    args = ["create-user", "--username", "ops2", "--name", "运维", "--role", "admin", "--password"]
    result = CliRunner().invoke(main, [*args, "1234567890"])
    assert result.exit_code == 2
    assert TOO_COMMON in result.output or "too common" in result.output
