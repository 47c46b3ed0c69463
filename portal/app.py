"""create_app(): plugins, routes, lifespan — wiring only."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager

from arq import create_pool
from arq.connections import RedisSettings
from litestar import Litestar, get
from litestar.channels import ChannelsPlugin
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from portal import STATIC_DIR, db
from portal.accounts.controllers import AccountController, AdminController, AuthController
from portal.accounts.ratelimit import LoginRateLimiter
from portal.accounts.services import NotFound, PermissionDenied
from portal.accounts.sessions import SessionStore
from portal.api.auth import EndpointList
from portal.api.controllers import ApiV1
from portal.attachments.controllers import ROUTES as ATTACHMENT_ROUTES
from portal.boards.controllers import BoardController, BoardSettingsController
from portal.campaigns.routes import ROUTES as CAMPAIGN_ROUTES
from portal.cards.controllers import CardController
from portal.comments.routes import ROUTES as COMMENT_ROUTES
from portal.core import redis as portal_redis
from portal.core.forms import FormError
from portal.core.templating import environment
from portal.core.web import EXCEPTION_HANDLERS, SessionMiddleware, add_security_headers, login_required, sane_path
from portal.events import outbox
from portal.events.outbox import EffectContext
from portal.incidents.routes import ROUTES as INCIDENT_ROUTES
from portal.inquiries.routes import ROUTES as INQUIRY_ROUTES
from portal.live.controllers import board_socket, my_socket
from portal.live.publisher import backend_for
from portal.notifications.controllers import NotificationController
from portal.search.routes import ROUTES as SEARCH_ROUTES
from portal.settings import Settings, get_settings
from portal.sla.controllers import CalendarController, PolicyController, preview_api
from portal.stats import warm as stats_warm
from portal.stats.routes import ROUTES as STATS_ROUTES
from portal.warning.controllers import ROUTES as WARNING_ROUTES


@get("/healthz", opt={"public": True}, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Liveness for the proxy and the benchmarks' hello-world baseline."""
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar):
        await db.open_pool()
        app.state.redis = portal_redis.async_client(settings)
        app.state.sessions = SessionStore(app.state.redis, settings.session_hours * 3600)
        app.state.login_limiter = LoginRateLimiter(app.state.redis)
        # The job queue, for scheduling reminders when a card's deadline changes.
        app.state.arq = await create_pool(RedisSettings.from_dsn(settings.effective_redis_url))
        # Effects of this process's writes (publish, reminders, bells …) run right after
        # their commit with these connections; a worker runs whatever is left over.
        previous_effects = outbox.context()  # None, except around an app inside a test
        outbox.configure(EffectContext(redis=app.state.redis, arq=app.state.arq))
        # The dashboard's facts, loaded before a manager asks for the first one.
        warming = asyncio.create_task(stats_warm.warm())
        try:
            yield
        finally:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming
            outbox.configure(previous_effects)
            await app.state.arq.aclose()
            await app.state.redis.aclose()
            await db.close_pool()

    # Live updates: one Redis pub/sub subscription per web process, fanned out in-process.
    channels = ChannelsPlugin(
        backend=backend_for(portal_redis.async_client(settings)),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="dropleft",
    )
    template_engine = JinjaTemplateEngine.from_environment(environment())
    return Litestar(
        route_handlers=[
            healthz,
            AuthController,
            AccountController,
            AdminController,
            BoardController,
            BoardSettingsController,
            CardController,
            *COMMENT_ROUTES,
            *INQUIRY_ROUTES,
            *CAMPAIGN_ROUTES,
            *INCIDENT_ROUTES,
            *STATS_ROUTES,
            *SEARCH_ROUTES,
            *WARNING_ROUTES,
            *ATTACHMENT_ROUTES,
            board_socket,
            my_socket,
            CalendarController,
            PolicyController,
            preview_api,
            NotificationController,
            ApiV1,
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], opt={"public": True}, send_as_attachment=False
            ),
        ],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        middleware=[SessionMiddleware()],
        guards=[login_required, sane_path],
        before_send=[add_security_headers],
        csrf_config=CSRFConfig(
            secret=settings.resolved_secret_key(),
            cookie_name="portal_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="lax",
            header_name="x-csrftoken",
        ),
        template_config=TemplateConfig(instance=template_engine),
        plugins=[HTMXPlugin(), channels],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Portal API",
            version="v1",
            path="/schema",
            render_plugins=[EndpointList(path="/")],
            description="Boards, cards, moves, stage history and notifications (see README: The JSON API).",
        ),
        # Refusals and bad input are expected: the access log's one line says enough. Anything
        # else (a real 500) still logs its traceback.
        logging_config=LoggingConfig(
            log_exceptions="always",
            disable_stack_trace={404, 401, 403, NotFound, PermissionDenied, FormError, ValidationException},
        ),
        debug=False,
    )
