"""Attachments: a file on a card (optionally on one of its notes or steps), its metadata
here, its bytes in the content-addressed store (portal/attachments/storage.py)."""

from piccolo.columns import ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.cards.tables import Card


class Attachment(Table, tablename="attachment"):
    card = ForeignKey(references=Card, index=True)
    board = Integer(index=True)  # the card's board (a card never changes board)
    # What on the card it belongs to, besides the card itself: "" (the card), "note",
    # "reply" or "step", and that thing's id.
    target_type = Varchar(length=10, default="")
    target_id = Integer(null=True, default=None)
    sha256 = Varchar(length=64, index=True)
    name = Varchar(length=255)  # the name it was uploaded with (cleaned of any path)
    kind = Varchar(length=10)  # image | pdf | office | text | zip (portal.attachments.types)
    content_type = Varchar(length=120)  # detected from the content, never from the name
    label = Varchar(length=20, default="")  # the short type name shown ("PNG", "Word" …)
    size = Integer()
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    # Images get a thumbnail from the worker: "pending", then "ready" (thumbnail_sha256 set)
    # or "failed" (not a readable image); other files "none".
    thumbnail = Varchar(length=10, default="none")
    thumbnail_sha256 = Varchar(length=64, default="", index=True)
    uploaded_by = ForeignKey(references=User, null=True)
    uploaded_at = Timestamptz(default=TimestamptzNow())
