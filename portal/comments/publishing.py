"""The outbound adapter interface: how a sent reply reaches the platform it answers.

A ``Publisher`` takes the reply and its comment card and answers a ``PublishResult``: whether
the platform took it and what it said (kept on the reply and shown in the drawer). It runs
as an outbox effect after the reply's unit commits (``portal.comments.replies``), so it is
retried when it raises or asks to be retried, and may run twice for one reply (a process
dying between publishing and recording): adapters send the reply's id so that the other
side can drop a repeat.

Which publisher a platform uses: one registered for it (``register``), else the webhook
when ``PORTAL_PUBLISH_URL`` is set, else ``RecordOnlyPublisher`` — the team posts by hand
and the portal only records that the reply was sent. See docs/api.md, "Publishing replies".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from portal.notifications.delivery import DeliveryFailed, RobotRefused, check_robot_url
from portal.settings import get_settings

# What a reply recorded without a platform adapter shows (translated where it is shown).
RECORDED = "recorded in the portal"
# The platform's answer is kept, not a whole error page.
ANSWER_LIMIT = 2000
# Answers that are worth asking again (timeouts, throttling, the server's own trouble);
# any other refusal (400 "content not allowed", 401 "bad key" …) is final.
RETRY_STATUS = {408, 425, 429}


@dataclass(frozen=True)
class PublishResult:
    ok: bool  # the platform took the reply
    response_text: str  # what it answered, kept on the reply
    retry: bool = False  # not ok, but worth trying again later (the outbox retries)


class Publisher(Protocol):
    async def publish(self, reply: dict[str, Any], card: dict[str, Any]) -> PublishResult:
        """``reply``: id, body, author name, sent_at; ``card``: id, board, platform,
        external_id, link, author_handle, title. Raising counts as ``retry``."""
        ...


class RecordOnlyPublisher:
    """No platform connection: the reply is marked sent and recorded in the portal."""

    async def publish(self, reply: dict[str, Any], card: dict[str, Any]) -> PublishResult:
        return PublishResult(True, RECORDED)


class WebhookPublisher:
    """POSTs the reply as JSON to a configured URL and records what it answers.

    The address is checked like a group robot's (``portal.notifications.delivery``): public
    https only unless its host is on ``PORTAL_ROBOT_ALLOWED_HOSTS``, resolved afresh before
    every post, and the post goes to the address that was checked."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url = url
        self.timeout = timeout

    async def publish(self, reply: dict[str, Any], card: dict[str, Any]) -> PublishResult:
        import httpx  # here, not at the top: see delivery.post_to_robot

        try:
            addresses = await check_robot_url(self.url)
        except RobotRefused as error:
            return PublishResult(False, str(error))  # retrying will not make it allowed
        except DeliveryFailed as error:
            return PublishResult(False, str(error), retry=True)
        target, headers, extensions = httpx.URL(self.url), {"Idempotency-Key": f"reply-{reply['id']}"}, {}
        if addresses:
            headers["Host"] = target.netloc.decode("ascii")
            extensions["sni_hostname"] = target.host
            target = target.copy_with(host=addresses[0])
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(target, json=payload(reply, card), headers=headers, extensions=extensions)
        except httpx.HTTPError as error:
            return PublishResult(False, f"{type(error).__name__}: {error}"[:ANSWER_LIMIT], retry=True)
        answer = f"HTTP {response.status_code} {response.text}".strip()[:ANSWER_LIMIT]
        if response.is_success:
            return PublishResult(True, answer)
        return PublishResult(False, answer, retry=response.status_code >= 500 or response.status_code in RETRY_STATUS)


def payload(reply: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a webhook post (documented in docs/api.md)."""
    sent_at = reply.get("sent_at")
    return {
        "reply_id": reply["id"],
        "card_id": card["id"],
        "board_id": card.get("board"),
        "platform": card.get("platform"),
        "external_id": card.get("external_id"),
        "link": card.get("link") or "",
        "in_reply_to": card.get("author_handle") or "",
        "body": reply["body"],
        "author": reply.get("author_name") or "",
        "sent_at": sent_at.isoformat() if hasattr(sent_at, "isoformat") else sent_at,
    }


_registry: dict[str, Publisher] = {}


def register(platform: str, publisher: Publisher | None) -> None:
    """Use ``publisher`` for one platform (None: back to the default)."""
    if publisher is None:
        _registry.pop(platform, None)
    else:
        _registry[platform] = publisher


def publisher_for(platform: str | None) -> Publisher:
    if platform and platform in _registry:
        return _registry[platform]
    url = get_settings().publish_url
    return WebhookPublisher(url) if url else RecordOnlyPublisher()
