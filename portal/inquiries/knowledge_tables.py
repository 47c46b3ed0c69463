"""The knowledge base (知识库 / FAQ): question-and-answer entries, mostly made from answered
inquiries, and every version of each (see ``portal.inquiries.knowledge``)."""

from enum import StrEnum

from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import Department, User
from portal.cards.tables import Card


class FaqStatus(StrEnum):
    draft = "draft"  # being written; staff only
    approved = "approved"  # published on /faq and offered while answering
    retired = "retired"  # withdrawn (outdated policy): kept for the record, shown nowhere public


class FaqEntry(Table, tablename="faq_entry"):
    question = Varchar(length=200)
    answer = Text()
    category = Varchar(length=16, null=True, default=None)  # portal.core.choices.INQUIRY_CATEGORIES
    status = Varchar(length=16, default=FaqStatus.draft, index=True)
    review_at = Date(null=True, default=None)  # 复核日期: after it, staff see the entry flagged
    # Where it came from and who owns the answer. Losing either (a card or a department
    # deleted) must not delete a published answer.
    source_card = ForeignKey(references=Card, null=True, default=None, index=True, on_delete=OnDelete.set_null)
    department = ForeignKey(references=Department, null=True, default=None, on_delete=OnDelete.set_null)
    version = Integer(default=1)
    view_count = Integer(default=0)  # public views of /faq/{id}
    created_by = ForeignKey(references=User, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(references=User, null=True, default=None, on_delete=OnDelete.set_null)
    updated_at = Timestamptz(default=TimestamptzNow())
    approved_by = ForeignKey(references=User, null=True, default=None, on_delete=OnDelete.set_null)
    approved_at = Timestamptz(null=True, default=None)


class FaqVersion(Table, tablename="faq_version"):
    """An entry as it was after each save, approval or retirement (the history is never edited)."""

    entry = ForeignKey(references=FaqEntry, index=True)
    version = Integer()
    question = Varchar(length=200)
    answer = Text()
    category = Varchar(length=16, null=True, default=None)
    status = Varchar(length=16)
    review_at = Date(null=True, default=None)
    saved_by = ForeignKey(references=User, null=True, default=None, on_delete=OnDelete.set_null)
    saved_at = Timestamptz(default=TimestamptzNow())
