"""The `portal` command: serve, web, worker, migrate, seed-demo, create-user."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable
from functools import wraps

import click

from portal.settings import SettingsError, get_settings

# Piccolo warns on its own when it cannot reach the database; the command then says so
# in one sentence of its own (see _fail_cleanly), so its multi-line warning is noise.
warnings.filterwarnings("ignore", message=".*Unable to connect to database.*")


def _fail_cleanly(command: Callable) -> Callable:
    """Settings and connection problems end the command with one sentence, not a traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SettingsError as error:
            click.secho(f"portal: {error}", fg="red", err=True)
            sys.exit(2)

    return wrapper


def _check_database() -> None:
    from portal import db

    async def check() -> None:
        await db.open_pool()
        try:
            await db.check_connection()
        finally:
            await db.close_pool()

    asyncio.run(check())


def _migrate(verbose: bool = False) -> str:
    from portal import db
    from portal.migrate import apply_migrations

    async def run() -> str:
        await db.check_connection()
        return await apply_migrations(verbose=verbose)

    return asyncio.run(run())


def _seed_demo() -> dict[str, int]:
    from portal.demo.services import seed_demo

    return asyncio.run(seed_demo())


def _has_users() -> bool:
    from portal.accounts.tables import User

    async def check() -> bool:
        return await User.exists()

    return asyncio.run(check())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Portal: collaboration boards for government new-media teams (政务新媒体互动管理)."""


@main.command()
@click.option("--verbose", is_flag=True, help="Print each migration as it runs.")
@_fail_cleanly
def migrate(verbose: bool) -> None:
    """Apply database migrations (safe to run repeatedly)."""
    get_settings()
    click.echo(_migrate(verbose=verbose))


@main.command("seed-demo")
@_fail_cleanly
def seed_demo_command() -> None:
    """Fill the database with the demo city's departments, users and boards (idempotent)."""
    _migrate()
    created = _seed_demo()
    click.echo("Demo data: " + ", ".join(f"{count} {what} created" for what, count in created.items()))
    _print_logins()


@main.command("create-user")
@click.option("--username", required=True, help="Login name (lower-case letters, digits, . _ -).")
@click.option("--name", "display_name", required=True, help="Name shown to others, e.g. 张伟.")
@click.option(
    "--role",
    type=click.Choice(["admin", "manager", "member", "liaison", "viewer"]),
    default="member",
    show_default=True,
)
@click.option("--department", "department_code", default=None, help="Department code, e.g. health.")
@click.password_option(help="Initial password (prompted when omitted).")
@_fail_cleanly
def create_user(username: str, display_name: str, role: str, department_code: str | None, password: str) -> None:
    """Create a user account (for example the first administrator)."""
    from portal.accounts import services
    from portal.accounts.forms import UserForm
    from portal.accounts.tables import Department
    from portal.core.forms import FormError

    async def run() -> int:
        department_id = None
        if department_code:
            row = await Department.select(Department.id).where(Department.code == department_code).first()
            if row is None:
                raise SettingsError(f"No department has the code {department_code!r}.")
            department_id = row["id"]
        data = {
            "username": username,
            "display_name": display_name,
            "role": role,
            "department_id": str(department_id or ""),
            "password": password,
            "password_confirm": password,
        }
        try:
            form = UserForm.parse(data, creating=True)
        except FormError as error:
            raise SettingsError(" ".join(f"{field}: {message}" for field, message in error.errors.items())) from None
        from portal.accounts.tables import User

        if await User.exists().where(User.username == form.username):
            raise SettingsError(f"The user name {form.username!r} is taken.")
        return await services.create_user_unchecked(
            form.username, form.display_name, form.password, form.role, department_id
        )

    _migrate()
    user_id = asyncio.run(run())
    click.echo(f"Created user {username} (id {user_id}).")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: PORTAL_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: PORTAL_PORT).")
@_fail_cleanly
def web(host: str | None, port: int | None) -> None:
    """Run one web process (scaled mode: run several behind a reverse proxy)."""
    settings = get_settings()
    _require_redis(settings)
    _check_database()
    _run_web(host or settings.host, port or settings.port)


@main.command()
@_fail_cleanly
def worker() -> None:
    """Run one arq worker (reminders and other background jobs)."""
    settings = get_settings()
    _require_redis(settings)
    _check_database()
    from arq.worker import run_worker

    from workers.settings import WorkerSettings

    run_worker(WorkerSettings)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: PORTAL_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: PORTAL_PORT).")
@click.option("--no-demo", is_flag=True, help="Do not seed the demo data on first run.")
@_fail_cleanly
def serve(host: str | None, port: int | None, no_demo: bool) -> None:
    """All in one: migrations, embedded Redis (unless REDIS_URL is set), web server and one worker."""
    from portal.core.redis import EmbeddedRedis, check_reachable

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir) if settings.embedded_redis else None
    worker_process: subprocess.Popen | None = None
    try:
        if embedded:
            embedded.start()
            click.echo(f"Redis: embedded server on {embedded.socket_path}")
        else:
            check_reachable(settings.redis_url)
        _migrate()
        if not no_demo and not _has_users():
            created = _seed_demo()
            click.echo(f"Demo data seeded: {created['cards']} cards on {created['boards']} boards.")
        env = {**os.environ, "REDIS_URL": settings.effective_redis_url}
        worker_process = subprocess.Popen([sys.executable, "-m", "portal.cli", "worker"], env=env)
        click.echo("")
        click.secho(f"Portal is running at http://{host}:{port}/", fg="green", bold=True)
        _print_logins()
        click.echo("Press Ctrl-C to stop the web server, the worker and Redis.\n")
        _run_web(host, port)
    finally:
        if worker_process and worker_process.poll() is None:
            worker_process.send_signal(signal.SIGINT)
            try:
                worker_process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker_process.kill()
                worker_process.wait()
        if embedded:
            embedded.stop()
        click.echo("Portal stopped.")


def _require_redis(settings) -> None:
    from portal.core.redis import check_reachable

    if settings.embedded_redis and not settings.redis_socket.exists():
        raise SettingsError(
            "REDIS_URL is not set and no embedded Redis is running; set REDIS_URL or use `portal serve`."
        )
    check_reachable(settings.effective_redis_url)


def _run_web(host: str, port: int) -> None:
    import uvicorn

    from portal.app import create_app

    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ws="websockets",
    )


def _print_logins() -> None:
    from portal.demo import content
    from portal.demo.services import DEMO_PASSWORD

    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for spec in content.USERS:
        click.echo(f"  {spec['username']:<12} {spec['role']:<8} {spec['display_name']}")


if __name__ == "__main__":
    main()
