"""Logging in and out, sessions, CSRF and the login rate limit, over real HTTP handling."""

from __future__ import annotations

from portal.accounts.sessions import SESSION_COOKIE
from portal.events.tables import Event
from tests.conftest import PASSWORD, csrf_from, login, post_form


async def test_anonymous_visitor_is_sent_to_login(client):
    response = await client.get("/boards?label=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/boards%3Flabel%3Dx"


async def test_htmx_request_without_session_gets_hx_redirect(client):
    response = await client.get("/boards", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


async def test_wrong_password_shows_message_and_creates_no_session(client, users, redis_client):
    response = await login(client, "member", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert SESSION_COOKIE not in response.cookies
    assert await redis_client.keys("portal:session:*") == []
    assert (await client.get("/boards", follow_redirects=False)).status_code == 303
    assert await Event.count().where(Event.verb == "login.failed") == 1


async def test_login_lands_on_my_work_and_records_event(client, users):
    response = await login(client, "member")
    assert response.status_code == 200  # followed the 303 to /my-work
    assert response.url.path == "/my-work"  # a member lands on her own work
    assert "张伟" in response.text
    assert await Event.count().where((Event.verb == "login") & (Event.actor == users["member"])) == 1


async def test_login_follows_only_local_next(client, users):
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "username": "member",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "_csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


async def test_session_is_rotated_at_login(client, users, redis_client):
    """A session id planted in the browser before login is not the one used after it."""
    client.cookies.set(SESSION_COOKIE, "planted-by-attacker", domain="testserver.local")
    await login(client, "member")
    token = client.cookies.get(SESSION_COOKIE)
    assert token and token != "planted-by-attacker"
    first = token
    await post_form(client, "/logout", {})
    await login(client, "member")
    assert client.cookies.get(SESSION_COOKIE) != first
    assert await redis_client.exists(f"portal:session:{first}") == 0


async def test_logout_ends_the_session_server_side(client, users, redis_client):
    await login(client, "member")
    token = client.cookies.get(SESSION_COOKIE)
    response = await post_form(client, "/logout", {})
    assert response.url.path == "/login"
    assert await redis_client.exists(f"portal:session:{token}") == 0
    # Replaying the old cookie does not get back in.
    client.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
    assert (await client.get("/boards", follow_redirects=False)).status_code == 303


async def test_sixth_failed_attempt_within_a_minute_gets_429(client, users):
    for _ in range(5):
        assert (await login(client, "member", "wrong-password")).status_code == 401
    response = await login(client, "member", "wrong-password")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # Even the right password is refused until the minute has passed.
    response = await login(client, "member", PASSWORD)
    assert response.status_code == 429
    assert SESSION_COOKIE not in response.cookies
    # Other accounts are not locked out by it.
    assert (await login(client, "manager")).status_code == 200


async def test_state_change_without_csrf_token_is_refused(client, users):
    await login(client, "admin")
    response = await client.post("/admin/departments", data={"code": "transport", "name_zh": "交通局", "name_en": "T"})
    assert response.status_code == 403
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/boards")).status_code == 200  # still logged in


async def test_htmx_request_with_csrf_header_is_accepted(client, users):
    await login(client, "admin")
    page = await client.get("/admin/departments")
    token = csrf_from(page.text)
    response = await client.post(
        "/admin/departments",
        data={"code": "transport", "name_zh": "交通局", "name_en": "Transport Bureau"},
        headers={"HX-Request": "true", "x-csrftoken": token},
    )
    assert response.status_code == 200
    assert "交通局" in response.text


async def test_disabled_account_cannot_log_in(client, users):
    from portal.accounts.tables import User

    await User.update({User.active: False}).where(User.id == users["member"])
    response = await login(client, "member")
    assert response.status_code == 401
