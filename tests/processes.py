"""Starting real portal processes for tests: free ports, waiting until they answer, stopping them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from portal import REPO_DIR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def portal_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "portal.cli", *args]


@contextmanager
def portal_process(*args: str, env: dict[str, str] | None = None, port: int | None = None, log: Path | None = None):
    """Run `portal <args>` in its own process group; stop it with Ctrl-C (SIGINT) on exit."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        portal_command(*args),
        cwd=REPO_DIR,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if port:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        yield process
    finally:
        stop_group(process)
        if log:
            out.close()


@contextmanager
def web_processes(ports: list[int], logs: list[Path]):
    """Several `portal web` processes started at once (their start-ups overlap: half the
    wait of starting them one after the other)."""
    outs = [open(log, "wb") for log in logs]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            portal_command("web", "--port", str(port)),
            cwd=REPO_DIR,
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for port, out in zip(ports, outs, strict=True)
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        yield processes
    finally:
        for process in processes:
            stop_group(process)
        for out in outs:
            out.close()


def stop_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """What a Ctrl-C in the terminal does: SIGINT to the whole foreground process group."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
