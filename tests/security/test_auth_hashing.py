"""Password hashing stays off the event loop, and a wrong name costs what a wrong password costs.

The hasher is swapped for a real Argon2 hasher that also notes where and how often it ran:
the mechanism is checked, not wall-clock times.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from argon2 import PasswordHasher

from portal.accounts import services
from portal.events.tables import Event
from tests.conftest import PASSWORD, login, post_form
from tests.security.test_auth_ratelimit import asgi_clients

# A deadlock guard, not a measurement: how long a blocked verification waits for the test.
GATE_TIMEOUT = 30


def _on_event_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class RecordingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bool]] = []

    def hash(self, password, *, salt=None):
        self.calls.append(("hash", _on_event_loop_thread()))
        return super().hash(password, salt=salt)

    def verify(self, hash, password):
        self.calls.append(("verify", _on_event_loop_thread()))
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch) -> RecordingHasher:
    recording = RecordingHasher()
    monkeypatch.setattr(services, "_hasher", recording)
    return recording


async def test_every_hash_and_verification_runs_off_the_event_loop(client, users, hasher):
    await login(client, "admin")  # verify
    await post_form(  # hash
        client,
        "/admin/users",
        {
            "username": "liqiang",
            "display_name": "李强",
            "role": "member",
            "department_id": "",
            "password": "river-stone-lamp-42",
            "password_confirm": "river-stone-lamp-42",
        },
        page_url="/admin/users/new",
    )
    await post_form(  # hash
        client,
        f"/admin/users/{users['member']}/password",
        {"password": "autumn-kite-harbour", "password_confirm": "autumn-kite-harbour"},
        page_url=f"/admin/users/{users['member']}",
    )
    response = await post_form(  # verify + hash
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": "quiet-orchard-bell", "password_confirm": "quiet-orchard-bell"},
        page_url="/account",
    )
    assert response.url.path == "/account"
    kinds = {kind for kind, _on_loop in hasher.calls}
    assert kinds == {"hash", "verify"}
    assert [call for call in hasher.calls if call[1]] == [], "Argon2 ran on the event loop"


async def test_healthz_is_served_while_a_login_is_verifying(users, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    released_by_test: list[bool] = []

    class GatedHasher(PasswordHasher):
        def verify(self, hash, password):
            entered.set()
            # If verification ran on the event loop, the test could not run to release it.
            released_by_test.append(release.wait(GATE_TIMEOUT))
            return super().verify(hash, password)

    monkeypatch.setattr(services, "_hasher", GatedHasher())
    async with asgi_clients("10.0.0.9") as (browser,):
        logging_in = asyncio.create_task(login(browser, "member"))
        try:
            assert await asyncio.to_thread(entered.wait, GATE_TIMEOUT)
            health = await browser.get("/healthz")
            assert health.status_code == 200
            assert not logging_in.done()
        finally:
            release.set()
            response = await logging_in
    assert released_by_test == [True]
    assert response.status_code == 303


async def test_unknown_user_and_wrong_password_do_the_same_work(client, users, hasher):
    assert (await login(client, "member", "not-the-password")).status_code == 401
    after_known = list(hasher.calls)
    assert (await login(client, "nobody-here", "not-the-password")).status_code == 401
    after_unknown = hasher.calls[len(after_known) :]
    # Each verified one hash, in the same way.
    assert after_known == [("verify", False)]
    assert after_unknown == after_known

    failures = (
        await Event.select(Event.actor, Event.object_id, Event.payload)
        .where(Event.verb == "login.failed")
        .order_by(Event.id)
        .output(load_json=True)
    )
    assert len(failures) == 2
    known, unknown = failures
    assert known["actor"] == users["member"] and known["payload"]["username"] == "member"
    assert unknown["actor"] is None and unknown["object_id"] is None
    assert unknown["payload"]["username"] == "nobody-here"


def test_the_stand_in_for_an_unknown_name_costs_what_a_real_hash_costs():
    """The hash verified for an unknown name is written out, not hashed: it must carry the
    same Argon2 parameters (memory, passes, lanes, lengths) as a real one, or a wrong name
    would answer faster than a wrong password."""
    from argon2 import extract_parameters

    assert extract_parameters(services._dummy_hash()) == extract_parameters(services._hasher.hash(PASSWORD))
