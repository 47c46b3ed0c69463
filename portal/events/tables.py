"""The events table: the audit trail of every state change and each board's sequence."""

from piccolo.columns import JSONB, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User


class Event(Table, tablename="event"):
    # Board events carry the board id and its per-board sequence number; account and
    # admin events (logins, user changes) have neither.
    board_id = Integer(null=True, default=None, index=True)
    seq = Integer(null=True, default=None)
    actor = ForeignKey(references=User, null=True)
    verb = Varchar(length=40, index=True)
    object_type = Varchar(length=20)
    object_id = Integer(null=True, default=None)
    payload = JSONB(default={})
    ip = Varchar(length=45, default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class Outbox(Table, tablename="outbox"):
    """Effects of a committed write still to run (see portal/events/outbox.py)."""

    effect = Varchar(length=40)
    payload = JSONB(default={})
    created_at = Timestamptz(default=TimestamptzNow())
    run_after = Timestamptz(default=TimestamptzNow())
    # The process running a row holds it until then; past it, a worker may take it over.
    claimed_until = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    done_at = Timestamptz(null=True, default=None, index=True)
    last_error = Varchar(length=500, default="")
