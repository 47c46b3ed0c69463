"""A comment's own fields, beside the common card."""

from piccolo.columns import ForeignKey, Varchar
from piccolo.table import Table

from portal.cards.tables import Card


class CommentDetail(Table, tablename="comment_detail"):
    card = ForeignKey(references=Card, unique=True, index=True)
    platform = Varchar(length=16, null=True, default=None)  # portal.core.choices.PLATFORMS
    author_handle = Varchar(length=80, default="")
    link = Varchar(length=500, default="")
    sentiment = Varchar(length=16, null=True, default=None)  # portal.core.choices.SENTIMENTS
