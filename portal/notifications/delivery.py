"""Getting notifications out of the portal: e-mail over SMTP, and the group robots
(WeCom / DingTalk webhooks) a board's managers set up.

Both are at most once: an e-mail is claimed on its notification row before it is sent
(and released if building or sending it fails, so a retry can send it); a robot post is
claimed by a unique row per (reminder, robot), and each robot is tried on its own: one
that fails is released for the retry without holding back the others.

Robots only reach public https addresses (SSRF): the address is checked when a manager
adds it and again, resolved afresh, before every post, and the post goes to the address
that was checked. Hosts on ``PORTAL_ROBOT_ALLOWED_HOSTS`` are exempt (http allowed).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import re
import smtplib
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from portal.accounts.tables import User
from portal.boards.tables import Board
from portal.i18n import gettext as _
from portal.notifications.tables import Notification, WebhookDelivery
from portal.settings import get_settings

log = logging.getLogger("portal.delivery")

# Line breaks and other control characters (also Unicode's line and paragraph separators)
# would end a mail header early; they become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class DeliveryFailed(Exception):
    """A transient failure (server down, timeout): the job should retry later."""


class RobotRefused(Exception):
    """The robot address is not one the portal may post to (not https, or internal):
    refused when it is added, and skipped (never retried) when it is stored already."""


def robot_payload(kind: str, text: str) -> dict[str, Any]:
    # Both robots accept a plain text message of this shape.
    return {"msgtype": "text", "text": {"content": text}}


def header_text(value: str, limit: int = 200) -> str:
    """One line for a mail header: control characters become spaces; the email library
    folds and encodes the rest."""
    return " ".join(_CONTROL.sub(" ", value or "").split())[:limit]


async def email_notification(notification_id: int) -> bool:
    """Send one notification by e-mail if SMTP is set up and the user wants this kind."""
    settings = get_settings()
    if not settings.smtp_host:
        return False
    row = (
        await Notification.select(
            Notification.id,
            Notification.kind,
            Notification.title,
            Notification.body,
            Notification.link,
            Notification.user.email.as_alias("email"),
            Notification.user.email_kinds.as_alias("email_kinds"),
        )
        .where(Notification.id == notification_id)
        .output(load_json=True)
        .first()
    )
    if row is None or not row["email"] or row["kind"] not in (row["email_kinds"] or []):
        return False
    claimed = (
        await Notification.update({Notification.emailed_at: datetime.now(UTC)})
        .where((Notification.id == notification_id) & Notification.emailed_at.is_null())
        .returning(Notification.id)
    )
    if not claimed:
        return False  # sent already (the job ran twice)
    try:
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = row["email"]
        message["Subject"] = header_text(row["title"])
        message.set_content(f"{row['title']}\n\n{row['body']}\n\n{settings.public_url}{row['link']}".strip())
        await asyncio.to_thread(_send_mail, message)
    except Exception as error:
        # Whatever went wrong (server down, a refused or malformed address), the claim is
        # released so that the retry can send it.
        await Notification.update({Notification.emailed_at: None}).where(Notification.id == notification_id)
        raise DeliveryFailed(f"e-mail: {type(error).__name__}: {error}") from error
    return True


def _send_mail(message: EmailMessage) -> None:
    settings = get_settings()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


async def post_to_robots(board_id: int, reminder_key: str, text: str) -> int:
    """Tell the board's group robots once per reminder; returns how many were posted.

    Every robot is tried. Those that fail are released and DeliveryFailed is raised at the
    end, so the job's retry posts to them only; a refused (internal) address is skipped."""
    board = await Board.select(Board.webhooks).where(Board.id == board_id).output(load_json=True).first()
    posted, failures = 0, []
    for index, hook in enumerate((board or {}).get("webhooks") or []):
        url = str(hook.get("url", "")) if isinstance(hook, dict) else ""
        # One key per (reminder, robot address): removing another robot does not shift it.
        key = f"{reminder_key}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"[-250:]
        claimed = (
            await WebhookDelivery.insert(WebhookDelivery(key=key))
            .on_conflict(action="DO NOTHING")
            .returning(WebhookDelivery.id)
        )
        if not claimed:
            continue  # posted before (the job ran twice)
        try:
            await post_to_robot(url, hook.get("kind", "wecom"), text)
        except RobotRefused as error:
            # Kept claimed: an internal address will not become allowed by retrying.
            log.warning("board %s robot %s not posted to: %s", board_id, index + 1, error)
            continue
        except Exception as error:
            await WebhookDelivery.delete().where(WebhookDelivery.key == key)
            log.warning("board %s robot %s failed: %s", board_id, index + 1, error)
            failures.append(f"robot {index + 1}: {error}")
            continue
        posted += 1
    if failures:
        raise DeliveryFailed("webhook: " + "; ".join(failures))
    return posted


async def post_to_robot(url: str, kind: str, text: str) -> None:
    """One post, to the address just checked; WeCom and DingTalk answer HTTP 200 with a
    non-zero ``errcode`` when they refuse a message, and that is a failure too."""
    # Imported on the first post: httpx brings its command line (rich, pygments) along when
    # they are installed, half a second of every process's start for a feature few use.
    import httpx

    addresses = await check_robot_url(url)
    target, headers, extensions = httpx.URL(url), {}, {}
    if addresses:
        # Connect to the address that was checked (a DNS answer that changes between the
        # check and the connection cannot redirect the post); the name still goes in the
        # Host header and in TLS (SNI and certificate check).
        headers["Host"] = target.netloc.decode("ascii")
        extensions["sni_hostname"] = target.host
        target = target.copy_with(host=addresses[0])
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
        response = await client.post(target, json=robot_payload(kind, text), headers=headers, extensions=extensions)
    if not response.is_success:
        raise DeliveryFailed(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and str(body.get("errcode", 0)) != "0":
        raise DeliveryFailed(f"errcode {body.get('errcode')}: {str(body.get('errmsg', ''))[:200]}")


def _allowed(host: str) -> bool:
    allowed = get_settings().robot_allowed_host_set
    if host in allowed:
        return True
    try:
        return ipaddress.ip_address(host).compressed in allowed
    except ValueError:
        return False


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_robot_url(url: str) -> list[str]:
    """May the portal post to this address? Returns the addresses to connect to (empty
    for an allow-listed host, which is used as written).

    Raises RobotRefused (with a message for the board manager) unless the address is
    https and its host resolves only to public addresses, or the host is allow-listed;
    DeliveryFailed when the host name cannot be resolved just now."""
    parts = urlsplit(url)
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        host, port = "", None
    if parts.scheme not in ("http", "https") or not host or len(url) > 500:
        raise RobotRefused(_("Paste the robot's web address (https://…)."))
    if _allowed(host):
        return []
    if parts.scheme != "https":
        raise RobotRefused(_("A robot's address must start with https://."))
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM), timeout=10
        )
    except (OSError, TimeoutError, UnicodeError) as error:
        raise DeliveryFailed(f"cannot resolve {host}: {error}") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses or not all(_is_public(address) for address in addresses):
        raise RobotRefused(
            _(
                "This address leads into an internal network: robots may only post to public https addresses. "
                "An administrator can allow internal hosts with PORTAL_ROBOT_ALLOWED_HOSTS."
            )
        )
    return addresses


async def set_email_kinds(user_id: int, kinds: list[str]) -> None:
    from portal.notifications.kinds import KINDS

    await User.update({User.email_kinds: [kind for kind in KINDS if kind in kinds]}).where(User.id == user_id)
