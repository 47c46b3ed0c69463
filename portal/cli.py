"""The `portal` command: serve, web, worker, migrate, seed-demo, create-user."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import traceback
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


@main.command("search-index")
@click.option("--all", "everything", is_flag=True, help="Re-read every card, not only those missing from the index.")
@_fail_cleanly
def search_index_command(everything: bool) -> None:
    """Build the search index: the cards missing from it (or, with --all, every card), in batches."""
    from portal.search import indexer

    async def run() -> int:
        from portal import db

        await db.open_pool()
        try:
            return await indexer.backfill(everything=everything, progress=lambda n: click.echo(f"{n} cards indexed"))
        finally:
            await db.close_pool()

    _migrate()
    click.echo(f"Search index: {asyncio.run(run())} cards (re)indexed.")


@main.command("campaigns-realign")
@_fail_cleanly
def campaigns_realign_command() -> None:
    """Once, after upgrading to the release that keeps a campaign's approved schedule (#11):
    approved campaigns' due times and template tasks back on their approved dates."""

    async def run() -> int:
        from portal import db
        from portal.campaigns.workflow import realign_approved

        await db.open_pool()
        try:
            return await realign_approved()
        finally:
            await db.close_pool()

    _migrate()
    click.echo(f"Campaigns realigned on their approved dates: {asyncio.run(run())}.")


@main.command("create-token")
@click.option("--username", required=True, help="Whose token it is: the API acts with this user's permissions.")
@click.option("--name", "token_name", default="command line", show_default=True, help="What the token is for.")
@_fail_cleanly
def create_token_command(username: str, token_name: str) -> None:
    """Make a personal access token for the JSON API (printed once; revoke it on the account page)."""
    from portal.accounts.services import get_active_user
    from portal.accounts.tables import User
    from portal.accounts.tokens import create_token
    from portal.core.forms import FormError

    async def run() -> str:
        row = await User.select(User.id).where(User.username == username.strip().lower()).first()
        user = await get_active_user(row["id"]) if row else None
        if user is None:
            raise SettingsError(f"No active user is called {username!r}.")
        try:
            return await create_token(user, token_name)
        except FormError as error:
            raise SettingsError(" ".join(error.errors.values())) from None

    _migrate()
    token = asyncio.run(run())
    click.echo(token)
    click.echo(f"Send it as `Authorization: Bearer {token[:10]}…`; it is shown only this once.", err=True)


@main.command("create-intake-source")
@click.argument("name")
@click.option("--board", "board_id", type=int, required=True, help="The comments board its posts go to.")
@_fail_cleanly
def create_intake_source_command(name: str, board_id: int) -> None:
    """Make an intake source for POST /api/intake/NAME (its secret is printed once)."""
    from portal.comments.intake_services import create_source
    from portal.core.forms import FormError
    from portal.core.identity import SYSTEM

    async def run() -> str:
        try:
            return (await create_source(SYSTEM, name, board_id)).secret
        except FormError as error:
            raise SettingsError(" ".join(error.errors.values())) from None

    _migrate()
    secret = asyncio.run(run())
    click.echo(secret)
    click.echo(f"Sign posts to /api/intake/{name} with it; it is shown only this once.", err=True)


@main.command()
@click.option("--board", "board_id", type=int, required=True, help="The comments board to feed.")
@click.option("--rate", type=click.FloatRange(0.1, 500), default=None, help="Comments a second (default 1).")
@click.option(
    "--per-hour",
    type=click.FloatRange(0, 1_800_000),
    default=None,
    help="Or: ordinary comments an hour, for a quiet background (e.g. 30; 0 with --surge: none).",
)
@click.option("--seconds", type=click.FloatRange(1, 86400), default=60, show_default=True, help="For how long.")
@click.option("--surge", default=None, help="Also a surge of comments about this topic, e.g. 地铁停运 (舆情预警 demo).")
@click.option("--surge-count", type=click.IntRange(1, 10000), default=40, show_default=True, help="Surge comments.")
@click.option("--surge-seconds", type=click.FloatRange(1, 86400), default=600, show_default=True, help="Spread over.")
@click.option("--surge-after", type=click.FloatRange(0, 86400), default=10, show_default=True, help="Starting after.")
@_fail_cleanly
def simulate(
    board_id: int,
    rate: float | None,
    per_hour: float | None,
    seconds: float,
    surge: str | None,
    surge_count: int,
    surge_seconds: float,
    surge_after: float,
) -> None:
    """Feed realistic comments to a comments board through the intake path (demos, load);
    with --surge, comments about one topic arrive fast over them (portal/warning/simulate.py)."""
    from portal.comments import simulate as simulation
    from portal.core.errors import NotFound
    from portal.core.forms import FormError

    if rate is not None and per_hour is not None:
        raise SettingsError("Give --rate or --per-hour, not both.")
    if per_hour is not None:
        rate = per_hour / 3600
    elif rate is None:
        rate = 1.0
    if rate <= 0 and not surge:
        raise SettingsError("Nothing to send: give a --per-hour above 0, or a --surge.")

    async def run() -> int:
        try:
            if surge:
                from portal.warning import simulate as surges

                ordinary, about = await surges.run_live(
                    board_id, rate=rate, seconds=max(seconds, surge_after + surge_seconds), surge=surge,
                    surge_count=surge_count, surge_seconds=surge_seconds, surge_after=surge_after, echo=click.echo,
                )  # fmt: skip
                return ordinary + about
            return await simulation.run(board_id, rate, seconds, echo=click.echo)
        except FormError as error:
            raise SettingsError(" ".join(error.errors.values())) from None
        except NotFound:
            raise SettingsError(f"There is no board {board_id}.") from None

    _migrate()
    click.echo(f"{asyncio.run(run())} comments sent; a running worker triages them.")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: PORTAL_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: PORTAL_PORT).")
# `portal serve`'s web processes listen on one port together (SO_REUSEPORT).
@click.option("--reuse-port", is_flag=True, hidden=True)
@_fail_cleanly
def web(host: str | None, port: int | None, reuse_port: bool) -> None:
    """Run one web process (scaled mode: run several behind a reverse proxy)."""
    settings = get_settings()
    _follow_serve()
    _require_redis(settings)
    _check_database()
    host, port = host or settings.host, port or settings.port
    _run_web(host, port, listener=_listen(host, port, reuse_port=True) if reuse_port else None)


@main.command()
@_fail_cleanly
def worker() -> None:
    """Run one arq worker (reminders and other background jobs)."""
    settings = get_settings()
    _follow_serve()
    _require_redis(settings)
    _check_database()
    from arq.worker import run_worker

    from workers.settings import WorkerSettings

    try:
        run_worker(WorkerSettings)
        code = 0
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    # Exit even when the worker could not shut down cleanly (Redis went first, as when
    # `portal serve` is killed): an open database connection's thread would otherwise keep
    # the process alive, unsupervised, for ever.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _follow_serve() -> None:
    """A worker or web process started by `portal serve` stops when that process dies, however it dies."""
    from portal.core.redis import set_parent_death_signal
    from workers.settings import SERVE_PID_VARIABLE

    serve_pid = os.environ.get(SERVE_PID_VARIABLE)
    if not serve_pid:
        return
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != int(serve_pid):
        sys.exit(0)  # it died before the line above


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: PORTAL_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: PORTAL_PORT).")
@click.option("--no-demo", is_flag=True, help="Do not seed the demo data on first run.")
@click.option(
    "--web-processes",
    type=click.IntRange(1, 64),
    default=None,
    help="Web processes to run (default: PORTAL_WEB_WORKERS, or one per CPU core).",
)
@_fail_cleanly
def serve(host: str | None, port: int | None, no_demo: bool, web_processes: int | None) -> None:
    """All in one: migrations, embedded Redis (unless REDIS_URL is set), web processes and one worker."""
    import socket
    import threading

    from portal.core.redis import EmbeddedRedis, check_reachable

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    web_processes = web_processes or settings.web_process_count
    embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir) if settings.embedded_redis else None
    # Ctrl-C, and SIGTERM (systemd, docker stop, kill) as cleanly: every supervisor learns
    # at once that the children now exiting are not to be started again.
    stopping = threading.Event()

    def interrupt(signal_number, frame) -> None:
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    run_file = _RunFile(settings.var_dir / "serve.pid")
    run_file.claim(embedded)
    supervisor: _WorkerSupervisor | None = None
    webs: list[_WorkerSupervisor] = []
    try:
        if embedded:
            embedded.start()
            run_file.record(redis=embedded.pid)
            click.echo(f"Redis: embedded server on {embedded.socket_path}")
        else:
            check_reachable(settings.redis_url)
        _migrate()
        if not no_demo and not _has_users():
            created = _seed_demo()
            click.echo(f"Demo data seeded: {created['cards']} cards on {created['boards']} boards.")
        from workers.settings import SERVE_PID_VARIABLE

        # The generated key (var/secret_key) is written here, once, before any child could
        # race another to create it.
        settings.resolved_secret_key()
        env = {**os.environ, "REDIS_URL": settings.effective_redis_url, SERVE_PID_VARIABLE: str(os.getpid())}
        if web_processes > 1 and not hasattr(socket, "SO_REUSEPORT"):
            click.echo("This system cannot share a port between processes (no SO_REUSEPORT): one web process.")
            web_processes = 1
        # Binding here first: a port in use is said once, before any process starts. With
        # several web processes this socket only holds the port for them (it does not listen).
        listener = _listen(host, port, reuse_port=web_processes > 1, listen=web_processes == 1)
        supervisor = _WorkerSupervisor(env, on_start=lambda pid: run_file.record(worker=pid), stopping=stopping)
        supervisor.start()
        if web_processes > 1:
            # Python renders pages on one core per process: one web process per core. Each
            # listens on the port itself (SO_REUSEPORT), so the kernel spreads connections
            # over them; one shared socket would let whichever process wakes first take every
            # waiting connection. Sessions, live updates and presence go through Redis, so a
            # viewer on one process sees what another process changed.
            for index in range(web_processes):
                webs.append(
                    _WorkerSupervisor(
                        env,
                        on_start=lambda pid, index=index: run_file.record(web=(index, pid)),
                        stopping=stopping,
                        args=("web", "--host", host, "--port", str(port), "--reuse-port"),
                        what="web process",
                    )
                )
                webs[-1].start()
        click.echo("")
        click.secho(f"Portal is running at http://{host}:{port}/", fg="green", bold=True)
        _print_logins()
        click.echo(f"Web processes: {web_processes}.")
        click.echo("Press Ctrl-C to stop the web server, the worker and Redis.\n")
        if web_processes > 1:
            while not stopping.wait(1):  # a signal interrupts the wait (see interrupt above)
                if all(web_supervisor.failed_at_start for web_supervisor in webs):
                    raise SettingsError("No web process could start (see the messages above); stopping.")
        else:
            _run_web(host, port, on_exit=stopping.set, listener=listener)
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        # Every web process is told at once, then waited for; the worker after them.
        for web_supervisor in webs:
            web_supervisor.interrupt()
        for web_supervisor in webs:
            web_supervisor.stop()
        if supervisor:
            supervisor.stop()
        if embedded:
            embedded.stop()
        run_file.release()
        click.echo("Portal stopped.")


def _listen(host: str, port: int, *, reuse_port: bool = False, listen: bool = True):
    """A socket bound to host:port (as uvicorn binds one), listening unless ``listen`` is false;
    ``reuse_port``: other sockets of ours may listen on the same port (SO_REUSEPORT)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise SettingsError(
            "This system cannot share a port between processes (no SO_REUSEPORT); set PORTAL_WEB_WORKERS=1."
        )
    if reuse_port and listen is False:
        # serve's own claim on the port: first a plain bind (no SO_REUSEPORT), so that a port
        # anyone holds, even a second serve's SO_REUSEPORT group, is refused as before instead
        # of being silently shared with it.
        _listen(host, port, listen=False).close()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except OSError as error:
        sock.close()
        raise SettingsError(f"Cannot listen on {host}:{port}: {error.strerror or error}.") from None
    return sock


class _RunFile:
    """var/serve.pid: which `portal serve` runs (it holds a lock on the file while it lives)
    and the pids of its Redis and worker, so the next one can clear up after a crash."""

    def __init__(self, path) -> None:
        import threading

        self.path = path
        self.file = None
        self.pids: dict[str, int] = {}
        # Every supervisor thread records its child's pid here, and they start together.
        self._lock = threading.Lock()

    def claim(self, embedded) -> None:
        """Refuse when another serve runs; otherwise stop what a killed one left running."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a+")  # noqa: SIM115 (held open: the lock lasts as long as the process)
        self.file.seek(0)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = _read_pids(self.file.read()).get("serve", "?")
            self.file.close()
            self.file = None
            raise SettingsError(f"Another `portal serve` is running (pid {owner}) on {self.path.parent}.") from None
        self.file.seek(0)
        stale = _read_pids(self.file.read())
        # A serve killed outright may have left its worker and Redis behind: stop the worker
        # first (it may be in the middle of a job), then Redis, which saves its data as it goes.
        for pid in stale.get("workers", []):
            _stop_stale(pid, ("portal", "worker"), "worker")
        for pid in stale.get("web", []):
            _stop_stale(pid, ("portal", "web"), "web process")
        if embedded:
            if embedded.shut_down_stale():
                click.echo("Stopped the embedded Redis a previous `portal serve` left running (its data is kept).")
        if stale.get("redis"):
            _stop_stale(stale["redis"], ("redis-server",), "embedded Redis")
        self.pids = {"serve": os.getpid()}
        self._write()

    def record(
        self, *, redis: int | None = None, worker: int | None = None, web: tuple[int, int] | None = None
    ) -> None:
        with self._lock:
            if redis:
                self.pids["redis"] = redis
            if worker:
                self.pids["workers"] = [worker]
            if web:
                index, pid = web
                pids = self.pids.setdefault("web", [])
                pids.extend([0] * (index + 1 - len(pids)))
                pids[index] = pid
            self._write()

    def _write(self) -> None:
        import json

        if self.file:
            self.file.seek(0)
            self.file.truncate()
            self.file.write(json.dumps(self.pids))
            self.file.flush()

    def release(self) -> None:
        """Nothing left running: empty the file (kept, so a serve starting now locks the same one)."""
        with self._lock:
            if self.file:
                self.pids = {}
                self._write()
                self.file.close()
                self.file = None


def _read_pids(text: str) -> dict:
    import json

    try:
        pids = json.loads(text)
    except ValueError:
        return {}
    return pids if isinstance(pids, dict) else {}


def _stop_stale(pid, command_words: tuple[str, ...], what: str) -> None:
    """SIGTERM, then SIGKILL, a process a killed serve left — if that pid is still that program."""
    from portal.core.redis import process_alive, process_command, wait_for_exit

    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid() or not process_alive(pid):
        return
    command = process_command(pid)
    if command is None or not all(any(word in part for part in command) for word in command_words):
        return  # the pid now belongs to something else (or cannot be checked): leave it alone
    try:
        os.kill(pid, signal.SIGTERM)
        if not wait_for_exit(pid, 15):
            os.kill(pid, signal.SIGKILL)
            wait_for_exit(pid, 5)
    except ProcessLookupError:
        pass
    click.echo(f"Stopped the {what} (pid {pid}) a previous `portal serve` left running.")


class _WorkerSupervisor:
    """Runs the worker (or a web process) as a child process and starts it again if it
    exits while serve runs."""

    def __init__(
        self,
        env: dict[str, str],
        on_start: Callable[[int], None],
        stopping=None,
        args: tuple[str, ...] = ("worker",),
        what: str = "worker",
    ) -> None:
        import threading

        self.env = env
        self.on_start = on_start
        self.args = args
        self.what = what
        self.stopping = stopping or threading.Event()
        self.process: subprocess.Popen | None = None
        self._signalled = False
        self.failed_at_start = False  # its first process exited without ever starting
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        import time

        failures = 0
        while True:
            with self._lock:
                if self.stopping.is_set():
                    return
                # Its own process group: a Ctrl-C in the terminal reaches serve alone, which
                # then stops each child with one SIGTERM. A second signal would cut a child's
                # shutdown short (uvicorn force-exits on a second SIGINT; arq cancels again).
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "portal.cli", *self.args], env=self.env, process_group=0
                )
                self.on_start(self.process.pid)
            started = time.monotonic()
            code = self.process.wait()
            if self.stopping.is_set():
                return
            # 2 and 3: it could not start at all (a setting, the port …) and said why.
            if code in (2, 3) and failures == 0 and time.monotonic() - started < 60:
                self.failed_at_start = True
            # Quick successive failures back off up to half a minute.
            failures = failures + 1 if time.monotonic() - started < 60 else 1
            delay = min(2 ** (failures - 1), 30)
            click.secho(
                f"portal: the {self.what} exited (code {code}); starting it again in {delay} s.", fg="red", err=True
            )
            if self.stopping.wait(delay):
                return

    def interrupt(self) -> None:
        """Tell the child to shut down gracefully (SIGTERM: uvicorn and arq both finish
        their shutdown on it); the only signal it gets, as it has its own process group."""
        self.stopping.set()
        with self._lock:
            process = self.process
        if process and process.poll() is None and not self._signalled:
            self._signalled = True
            process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        self.interrupt()
        with self._lock:
            process = self.process
        if process and process.poll() is None:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=5)


def _require_redis(settings) -> None:
    from portal.core.redis import check_reachable

    if settings.embedded_redis and not settings.redis_socket.exists():
        raise SettingsError(
            "REDIS_URL is not set and no embedded Redis is running; set REDIS_URL or use `portal serve`."
        )
    check_reachable(settings.effective_redis_url)


def _run_web(host: str, port: int, on_exit: Callable[[], None] | None = None, listener=None) -> None:
    """Run the web server until Ctrl-C / SIGTERM; ``on_exit`` is called as soon as one arrives.
    ``listener``: a socket already listening, served instead of binding one."""
    import uvicorn

    from portal.app import create_app

    config = uvicorn.Config(
        create_app(),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ws="websockets",
        # Ctrl-C must not wait on browsers that stopped reading: open sockets get a few
        # seconds to close, then their handlers are cancelled.
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    if on_exit:
        handle_exit = server.handle_exit

        def exiting(signal_number, frame) -> None:
            on_exit()
            handle_exit(signal_number, frame)

        server.handle_exit = exiting
    try:
        server.run(sockets=[listener] if listener else None)
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(3)  # as uvicorn.run: it could not start (the port is taken …); it said why


def _print_logins() -> None:
    from portal.demo.services import DEMO_PASSWORD, city

    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for spec in city()["users"]:
        click.echo(f"  {spec['username']:<12} {spec['role']:<8} {spec['display_name']}")


if __name__ == "__main__":
    main()
