"""Refusals (404, 403, bad input) leave no traceback in the log; a real error still does."""

from __future__ import annotations

import logging

import pytest
from litestar import get

from portal.core.forms import FormError
from tests.conftest import login


@get("/test-only/boom", opt={"public": True}, sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("a real bug")


@get("/test-only/bad-input", opt={"public": True}, sync_to_thread=False)
def bad_input() -> None:
    raise FormError({"__all__": "Nothing was changed."})


@pytest.fixture
async def client(clean_db):
    """An app of this module's own: it gains two routes, which the shared one must not."""
    from litestar.testing import AsyncTestClient

    from portal.app import create_app

    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def app_log(client, caplog):
    """Records of the app's logger, which does not propagate to the root logger."""
    logger = logging.getLogger("litestar")
    logger.addHandler(caplog.handler)
    client.app.register(boom)
    client.app.register(bad_input)
    yield caplog
    logger.removeHandler(caplog.handler)


def _tracebacks(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.exc_info or "Traceback" in record.getMessage()]


async def test_not_found_and_permission_denied_log_no_traceback(client, users, app_log):
    await login(client, "admin")
    assert (await client.get("/admin/users/999999")).status_code == 404  # NotFound from the service
    client.cookies.clear()
    await login(client, "member")
    assert (await client.get("/admin/users")).status_code == 403  # PermissionDenied from the guard
    assert _tracebacks(app_log) == []
    # A real error still logs its traceback.
    assert (await client.get("/test-only/boom")).status_code == 500
    assert len(_tracebacks(app_log)) == 1


async def test_uncaught_bad_input_is_a_422_page_without_traceback(client, users, app_log):
    response = await client.get("/test-only/bad-input")
    assert response.status_code == 422
    assert "Nothing was changed." in response.text
    assert _tracebacks(app_log) == []
