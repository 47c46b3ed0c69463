"""Getting notifications out of the portal: e-mail over SMTP, and the group robots
(WeCom / DingTalk webhooks) a board's managers set up.

Both are at most once: an e-mail is claimed on its notification row before it is sent
(and released if sending fails, so a retry can send it); a robot post is claimed by a
unique row per (reminder, robot).
"""

from __future__ import annotations

import asyncio
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx

from portal.accounts.tables import User
from portal.boards.tables import Board
from portal.notifications.tables import Notification, WebhookDelivery
from portal.settings import get_settings

WEBHOOK_KINDS = ("wecom", "dingtalk")


class DeliveryFailed(Exception):
    """A transient failure (server down, timeout): the job should retry later."""


def robot_payload(kind: str, text: str) -> dict[str, Any]:
    # Both robots accept a plain text message of this shape.
    return {"msgtype": "text", "text": {"content": text}}


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
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = row["email"]
    message["Subject"] = row["title"]
    message.set_content(f"{row['title']}\n\n{row['body']}\n\n{settings.public_url}{row['link']}".strip())
    try:
        await asyncio.to_thread(_send_mail, message)
    except (OSError, smtplib.SMTPException) as error:
        await Notification.update({Notification.emailed_at: None}).where(Notification.id == notification_id)
        raise DeliveryFailed(f"SMTP: {error}") from error
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
    """Tell the board's group robots once per reminder; returns how many were posted."""
    board = await Board.select(Board.webhooks).where(Board.id == board_id).output(load_json=True).first()
    posted = 0
    for index, hook in enumerate((board or {}).get("webhooks") or []):
        key = f"{reminder_key}:{index}:{hook.get('url', '')[-40:]}"
        try:
            await WebhookDelivery.insert(WebhookDelivery(key=key[:250]))
        except Exception as error:  # the unique key: posted before
            if "unique" in str(error).lower():
                continue
            raise
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(hook["url"], json=robot_payload(hook.get("kind", "wecom"), text))
                response.raise_for_status()
        except httpx.HTTPError as error:
            await WebhookDelivery.delete().where(WebhookDelivery.key == key[:250])
            raise DeliveryFailed(f"webhook: {error}") from error
        posted += 1
    return posted


async def set_email_kinds(user_id: int, kinds: list[str]) -> None:
    from portal.notifications.kinds import KINDS

    await User.update({User.email_kinds: [kind for kind in KINDS if kind in kinds]}).where(User.id == user_id)
