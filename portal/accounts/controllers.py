"""Login, logout, the user's own account page, and the admin pages for users and departments."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.channels import ChannelsPlugin
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts import services
from portal.accounts.forms import (
    EMAIL_PATTERN,
    DepartmentForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    UserForm,
)
from portal.accounts.ratelimit import retry_message
from portal.accounts.sessions import SESSION_COOKIE
from portal.accounts.tables import Role
from portal.core.forms import FormError, text
from portal.core.web import LANGUAGE_COOKIE, admin_only, client_ip
from portal.i18n import gettext as _
from portal.live import publisher


def _session_cookie(request: Request, response: Response, token: str) -> Response:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_hours * 3600,
        path="/",
    )
    return response


class AuthController(Controller):
    @get("/login", opt={"public": True})
    async def login_page(self, request: Request, next: FromQuery[str] = "/") -> Response:
        if request.scope.get("user"):
            return Redirect("/")
        return Template("pages/accounts/login.html", context={"errors": {}, "username": "", "next": next})

    @post("/login", opt={"public": True})
    async def login(self, request: Request) -> Response:
        data = await request.form()
        limiter = request.app.state.login_limiter
        ip = client_ip(request)
        context: dict[str, Any] = {"errors": {}, "username": data.get("username", ""), "next": data.get("next", "/")}
        try:
            form = LoginForm.parse(data)
        except FormError as error:
            return Template("pages/accounts/login.html", context={**context, "errors": error.errors}, status_code=422)
        # Counted before the password is checked, so concurrent guesses cannot overtake the count.
        verdict = await limiter.login_attempt(form.username, ip)
        if not verdict.allowed:
            return Template(
                "pages/accounts/login.html",
                context={**context, "errors": {"__all__": retry_message(verdict.retry_after)}},
                status_code=429,
                headers={"Retry-After": str(verdict.retry_after)},
            )
        user = await services.authenticate(form.username, form.password, ip=ip)
        if user is None:
            message = _("The user name or password is wrong, or the account is disabled.")
            return Template(
                "pages/accounts/login.html", context={**context, "errors": {"__all__": message}}, status_code=401
            )
        await limiter.login_succeeded(form.username, ip)
        session = await request.app.state.sessions.create(user.id, replacing=request.cookies.get(SESSION_COOKIE))
        return _session_cookie(request, Redirect(form.next_url, status_code=303), session.token)

    @post("/logout")
    async def logout(self, request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await request.app.state.sessions.delete(token)
            # Open websockets of this session close now, not at their next timed check.
            await _access_changed(request, request.user.id)
        response = Redirect("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @post("/language", opt={"public": True})
    async def switch_language(self, request: Request) -> Response:
        """The language switch: saved on the account when logged in, in a cookie otherwise."""
        data = await request.form()
        try:
            form = LanguageForm.parse(data)
        except FormError:
            return Redirect("/", status_code=303)
        user = request.scope.get("user")
        if user:
            await services.set_language(user, form.language)
        back = request.headers.get("referer", "/")
        target = back if back.startswith(str(request.base_url)) else "/"
        response = Redirect(target, status_code=303)
        response.set_cookie(LANGUAGE_COOKIE, form.language, max_age=365 * 86400, samesite="lax", httponly=True)
        return response


class AccountController(Controller):
    path = "/account"

    @get("/")
    async def account_page(self, request: Request, saved: FromQuery[str] = "") -> Template:
        return Template(
            "pages/accounts/account.html", context={**await _account_context(request), "errors": {}, "saved": saved}
        )

    @post("/tokens")
    async def create_token(self, request: Request) -> Template:
        """A personal access token for the JSON API: shown on this page once, then never again."""
        from portal.accounts import tokens

        name = (await request.form()).get("name")
        try:
            token = await tokens.create_token(
                request.user, name if isinstance(name, str) else "", ip=client_ip(request)
            )
        except FormError as error:
            context = {**await _account_context(request), "errors": error.errors, "saved": ""}
            return Template("pages/accounts/account.html", context=context, status_code=422)
        context = {**await _account_context(request), "errors": {}, "saved": "token", "new_token": token}
        return Template("pages/accounts/account.html", context=context)

    @post("/tokens/{token_id:int}/revoke")
    async def revoke_token(self, request: Request, token_id: FromPath[int]) -> Response:
        from portal.accounts import tokens

        await tokens.revoke_token(request.user, token_id, ip=client_ip(request))
        return Redirect("/account?saved=revoked#tokens", status_code=303)

    @post("/password")
    async def change_password(self, request: Request) -> Response:
        user = request.user
        limiter = request.app.state.login_limiter
        try:
            form = PasswordChangeForm.parse(await request.form(), username=user.username)
            # Counted before the current password is checked: a hijacked session must not be
            # an unlimited way to guess it.
            verdict = await limiter.password_change_attempt(user.id)
            if not verdict.allowed:
                return Template(
                    "pages/accounts/account.html",
                    context={
                        **await _account_context(request),
                        "errors": {"current_password": retry_message(verdict.retry_after)},
                        "saved": "",
                    },
                    status_code=429,
                    headers={"Retry-After": str(verdict.retry_after)},
                )
            await services.change_own_password(user, form.current, form.new, ip=client_ip(request))
        except FormError as error:
            return Template(
                "pages/accounts/account.html",
                context={**await _account_context(request), "errors": error.errors, "saved": ""},
                status_code=422,
            )
        await limiter.password_change_succeeded(user.id)
        # Other devices' sessions end; this one is rotated so the user stays logged in here.
        sessions = request.app.state.sessions
        await sessions.delete_all_for_user(user.id)
        await _access_changed(request, user.id)  # the other devices' live views close now
        session = await sessions.create(user.id)
        return _session_cookie(request, Redirect("/account?saved=password", status_code=303), session.token)

    @post("/notifications")
    async def notification_settings(self, request: Request) -> Response:
        """Which reminders also reach this user by e-mail, and at which address."""
        data = await request.form()
        email = text(data, "email")
        if email and (len(email) > 254 or not EMAIL_PATTERN.match(email)):
            return Template(
                "pages/accounts/account.html",
                status_code=422,
                context={
                    **await _account_context(request),
                    "errors": {"email": _("Enter a valid e-mail address, or leave it empty.")},
                    "saved": "",
                },
            )
        await services.set_email_preferences(request.user, email, data.getall("email_kinds", []))
        return Redirect("/account?saved=notifications", status_code=303)


class AdminController(Controller):
    path = "/admin"
    guards = [admin_only]

    @get("/users")
    async def users_page(self) -> Template:
        return Template("pages/admin/users.html", context={"users": await services.list_users()})

    @get("/users/new")
    async def new_user_page(self) -> Template:
        return await _user_form_page(None, {}, {"role": Role.member.value})

    @post("/users")
    async def create_user(self, request: Request) -> Response:
        data = dict(await request.form())
        try:
            form = UserForm.parse(data, creating=True)
            user_id = await services.create_user(request.user, form, ip=client_ip(request))
        except FormError as error:
            return await _user_form_page(None, error.errors, data, status_code=422)
        return Redirect(f"/admin/users/{user_id}?saved=created", status_code=303)

    @get("/users/{user_id:int}")
    async def edit_user_page(self, user_id: FromPath[int], saved: FromQuery[str] = "") -> Template:
        user = await services.get_user(user_id)
        return await _user_form_page(user, {}, user, saved=saved)

    @post("/users/{user_id:int}")
    async def update_user(self, request: Request, user_id: FromPath[int]) -> Response:
        user = await services.get_user(user_id)
        data = dict(await request.form())
        try:
            form = UserForm.parse({**data, "username": user["username"]}, creating=False)
            await services.update_user(request.user, user_id, form, ip=client_ip(request))
        except FormError as error:
            return await _user_form_page(user, error.errors, {**user, **data}, status_code=422)
        await _access_changed(request, user_id)  # a new role or department: live views re-check
        return Redirect(f"/admin/users/{user_id}?saved=updated", status_code=303)

    @post("/users/{user_id:int}/password")
    async def reset_password(self, request: Request, user_id: FromPath[int]) -> Response:
        user = await services.get_user(user_id)
        try:
            form = PasswordResetForm.parse(await request.form())
            await services.reset_password(
                request.user, user_id, form.password, request.app.state.sessions, ip=client_ip(request)
            )
        except FormError as error:
            return await _user_form_page(user, error.errors, user, status_code=422)
        await _access_changed(request, user_id)  # their sockets close now
        return Redirect(f"/admin/users/{user_id}?saved=password", status_code=303)

    @post("/users/{user_id:int}/active")
    async def set_active(self, request: Request, user_id: FromPath[int]) -> Response:
        user = await services.get_user(user_id)
        active = (await request.form()).get("active") == "1"
        try:
            await services.set_user_active(
                request.user, user_id, active, request.app.state.sessions, ip=client_ip(request)
            )
        except FormError as error:
            return await _user_form_page(user, error.errors, user, status_code=422)
        await _access_changed(request, user_id)  # their sockets close now
        return Redirect(f"/admin/users/{user_id}?saved={'enabled' if active else 'disabled'}", status_code=303)

    @get("/departments")
    async def departments_page(self) -> Template:
        return await _departments_page({}, {})

    @post("/departments")
    async def create_department(self, request: Request) -> Response:
        data = dict(await request.form())
        try:
            form = DepartmentForm.parse(data, creating=True)
            await services.create_department(request.user, form, ip=client_ip(request))
        except FormError as error:
            return await _departments_page(error.errors, data, status_code=422)
        return Redirect("/admin/departments", status_code=303)

    @post("/departments/{department_id:int}")
    async def update_department(self, request: Request, department_id: FromPath[int]) -> Response:
        data = dict(await request.form())
        try:
            form = DepartmentForm.parse(data, creating=False)
            await services.update_department(
                request.user, department_id, form, active=data.get("active") == "1", ip=client_ip(request)
            )
        except FormError as error:
            return await _departments_page(
                {f"{department_id}.{k}": v for k, v in error.errors.items()}, {}, status_code=422
            )
        return Redirect("/admin/departments", status_code=303)

    @get("/audit")
    async def audit_page(self) -> Template:
        from portal.events import services as events

        return Template("pages/admin/audit.html", context={"events": await events.recent(200)})


async def _user_form_page(
    user: dict | None, errors: dict, values: dict, *, saved: str = "", status_code: int = 200
) -> Template:
    return Template(
        "pages/admin/user_form.html",
        context={
            "user": user,
            "errors": errors,
            "values": values,
            "saved": saved,
            "roles": [role.value for role in Role],
            "departments": await services.department_choices(),
        },
        status_code=status_code,
    )


async def _departments_page(errors: dict, values: dict, status_code: int = 200) -> Template:
    return Template(
        "pages/admin/departments.html",
        context={
            "departments": await services.list_departments(include_inactive=True),
            "errors": errors,
            "values": values,
        },
        status_code=status_code,
    )


async def _account_context(request: Request) -> dict:
    from portal.accounts.tokens import list_tokens
    from portal.notifications.kinds import KINDS

    preferences = await services.email_preferences(request.user)
    return {
        "tokens": await list_tokens(request.user),
        "email": preferences["email"],
        "email_kinds": preferences["email_kinds"],
        "kinds": KINDS,
        "smtp_configured": bool(request.app.state.settings.smtp_host),
    }


async def _access_changed(request: Request, user_id: int) -> None:
    """Sessions ended or an account changed: the user's open websockets re-check at once."""
    await publisher.publish_access_changed(request.app.plugins.get(ChannelsPlugin).wait_published, user_id)
