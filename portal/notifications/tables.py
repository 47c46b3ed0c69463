"""In-app notifications (the bell), one row per recipient."""

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User


class Notification(Table, tablename="notification"):
    user = ForeignKey(references=User, index=True)
    kind = Varchar(length=20)  # mention, nudge, due, escalation, …
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=300, default="")
    card_id = Integer(null=True, default=None)
    # A job that runs twice must not notify twice: the writer derives one key per
    # (recipient, reason) and the unique index turns the second insert into a no-op.
    dedupe_key = Varchar(length=200, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)
    emailed_at = Timestamptz(null=True, default=None)  # claimed before sending: one e-mail at most


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One row per (reminder, board robot): a job that runs twice posts once."""

    key = Varchar(length=250, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
