"""The search index: one row per card, its text as shown (numbers masked) and as searched
(cut into words by jieba). The engine's own full-text structure is built on it by a raw
migration: an FTS5 table kept in step by triggers on SQLite, a generated ``tsvector`` column
with a GIN index on PostgreSQL (see ``portal.search.backends``)."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.cards.tables import Card


class SearchDoc(Table, tablename="search_doc"):
    card = ForeignKey(references=Card, unique=True, index=True, on_delete=OnDelete.cascade)
    # As shown in results (a citizen's numbers masked for everybody): the snippet's source.
    title = Varchar(length=200, default="")
    text = Text(default="")
    # As searched: the same text cut into words (jieba's search mode), separated by spaces.
    title_terms = Text(default="")
    terms = Text(default="")
    # The kind's facets the filters read (a comment's platform, an inquiry's channel and category).
    platform = Varchar(length=16, null=True, default=None)
    category = Varchar(length=20, null=True, default=None)
    card_version = Integer(default=0)
    # The card's board's sequence number when the text was read (``portal.search.indexer``):
    # every write to the card claims the next one, a note or a reply too, which do not raise
    # the card's version; an older reading never overwrites a newer one.
    board_seq = Integer(default=0)
    indexed_at = Timestamptz(default=TimestamptzNow())
