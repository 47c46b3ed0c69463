"""Talking to a running portal like a browser does: log in over HTTP, open the board websocket."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import websockets


async def http_login(base: str, username: str, password: str = "portal-demo") -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=10)
    page = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = await client.post("/login", data={"username": username, "password": password, "_csrf_token": token})
    assert response.status_code == 303, response.text[:200]
    return client


async def csrf(client: httpx.AsyncClient, page: str = "/boards") -> str:
    html = (await client.get(page)).text
    return re.search(r'"x-csrftoken": "([^"]+)"', html).group(1)


async def htmx_post(client: httpx.AsyncClient, url: str, data: dict, token: str) -> httpx.Response:
    return await client.post(url, data=data, headers={"HX-Request": "true", "x-csrftoken": token})


def board_socket(base: str, board_id: int, client: httpx.AsyncClient | None, origin: str | None = None, **options):
    return live_socket(base, f"/boards/{board_id}/ws", client, origin, **options)


def live_socket(base: str, path: str, client: httpx.AsyncClient | None, origin: str | None = None, **options):
    """A websocket like the browser's: its cookies, and our page as the Origin."""
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items()) if client else ""
    headers = {"Cookie": cookie} if cookie else {}
    return websockets.connect(
        base.replace("http", "ws", 1) + path,
        additional_headers=headers,
        origin=origin if origin is not None else base,
        open_timeout=10,
        **options,
    )


async def hello(socket, seq: int) -> None:
    await socket.send(json.dumps({"type": "hello", "seq": seq}))


async def receive_until(socket, needle: str, timeout: float = 5.0) -> str:
    """Messages until one contains ``needle``; returns it (fails after ``timeout``)."""

    async def wait():
        while True:
            message = await socket.recv()
            if needle in message:
                return message

    return await asyncio.wait_for(wait(), timeout)


async def subscribed(socket, name: str) -> None:
    """Wait until the server has subscribed this board socket: the socket is open once
    accepted, but its subscription comes after (and a busy machine may take a while); the
    connection's own presence broadcast, naming its user, is the first message it gets
    through the subscription."""
    await receive_until(socket, name, timeout=20)


async def receive_all_until(socket, needle: str, timeout: float = 5.0) -> list[str]:
    """Every message up to and including the first that contains ``needle``."""
    received: list[str] = []

    async def wait():
        while True:
            received.append(await socket.recv())
            if needle in received[-1]:
                return received

    return await asyncio.wait_for(wait(), timeout)


def card_version(html: str, card_id: int) -> int:
    return int(re.search(rf'id="card-{card_id}"[^>]*data-version="(\d+)"', html).group(1))
