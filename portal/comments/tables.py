"""A comment's own fields beside the common card, and what the comments workflow keeps:
intake sources, triage rules and words, reply templates (口径库), replies and escalations."""

from enum import StrEnum

from piccolo.columns import JSONB, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import Department, User
from portal.boards.tables import Board
from portal.cards.tables import Card


class IntakeSource(Table, tablename="intake_source"):
    """Where signed intake posts come from (a platform connector, a crawler, a script); its
    secret signs each post. The secret is kept as it is: the server recomputes the HMAC.
    While a secret is rotated the previous one is accepted for a grace period."""

    name = Varchar(length=40, unique=True, index=True)  # the {source} of POST /api/intake/{source}
    board = ForeignKey(references=Board)
    secret = Varchar(length=80)
    previous_secret = Varchar(length=80, default="")
    previous_valid_until = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    rotated_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class CommentDetail(Table, tablename="comment_detail"):
    card = ForeignKey(references=Card, unique=True, index=True)
    platform = Varchar(length=16, null=True, default=None)  # portal.core.choices.PLATFORMS
    author_handle = Varchar(length=80, default="")
    link = Varchar(length=500, default="")
    sentiment = Varchar(length=16, null=True, default=None)  # portal.core.choices.SENTIMENTS
    # Intake: the platform's own id (posting the same comment twice makes one card).
    external_id = Varchar(length=128, null=True, default=None)
    source = ForeignKey(references=IntakeSource, null=True)
    # Triage, done by the worker as the comment arrives.
    topic = Varchar(length=20, null=True, default=None)  # category from the rules: 医保, 交通 …
    sentiment_auto = Varchar(length=16, null=True, default=None)  # what the analyser said
    flag_tier = Varchar(length=16, null=True, default=None)  # highest sensitive word: general/serious/major
    flag_words = JSONB(default=[])  # [{"start", "end", "word", "tier"}] for highlighting
    triaged_at = Timestamptz(null=True, default=None)
    # Similar comments: the MinHash signature (hex) and the group the card was put in.
    signature = Text(default="")
    similar_count = Integer(default=0)
    group_card = Integer(null=True, default=None)  # the card whose reply answers the group
    # First sent reply (stops the first-reply clock, whatever column the card is in).
    replied_at = Timestamptz(null=True, default=None)


class SensitiveWord(Table, tablename="sensitive_word"):
    word = Varchar(length=40, unique=True, index=True)
    tier = Varchar(length=16)  # portal.comments.matching.Tier: general, serious, major
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class CategoryRule(Table, tablename="category_rule"):
    category = Varchar(length=20)
    keywords = JSONB(default=[])
    priority = Integer(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class SentimentCorrection(Table, tablename="sentiment_correction"):
    """A person corrected the analyser: kept, to measure it and to teach it."""

    card = ForeignKey(references=Card, index=True)
    text = Text()
    automatic = Varchar(length=16, null=True, default=None)
    corrected = Varchar(length=16)
    corrected_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class TemplateStatus(StrEnum):
    draft = "draft"
    approved = "approved"


class ReplyTemplate(Table, tablename="reply_template"):
    """A house-style answer (口径) with placeholders like {称呼} {部门} {电话}."""

    title = Varchar(length=80)
    category = Varchar(length=20, default="")
    body = Text()
    status = Varchar(length=16, default=TemplateStatus.draft)
    department = ForeignKey(references=Department, null=True)
    valid_from = Timestamptz(null=True, default=None)
    valid_until = Timestamptz(null=True, default=None)
    version = Integer(default=1)
    usage_count = Integer(default=0)
    archived = Boolean(default=False)
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ReplyTemplateVersion(Table, tablename="reply_template_version"):
    """Every version of a template, as it was saved."""

    template = ForeignKey(references=ReplyTemplate, index=True)
    version = Integer()
    title = Varchar(length=80)
    category = Varchar(length=20, default="")
    body = Text()
    status = Varchar(length=16)
    saved_by = ForeignKey(references=User, null=True)
    saved_at = Timestamptz(default=TimestamptzNow())


class ReplyStatus(StrEnum):
    pending = "pending"  # waiting for a manager's approval (审核)
    returned = "returned"  # the manager sent it back with a reason
    sending = "sending"  # approved (or needing no approval): being published
    sent = "sent"
    failed = "failed"  # the platform refused it: shown, may be retried


class Reply(Table, tablename="comment_reply"):
    card = ForeignKey(references=Card, index=True)
    body = Text()
    template = ForeignKey(references=ReplyTemplate, null=True)
    status = Varchar(length=16, default=ReplyStatus.pending)
    needs_approval = Boolean(default=False)
    author = ForeignKey(references=User, null=True)
    reviewer = ForeignKey(references=User, null=True)
    review_reason = Varchar(length=300, default="")
    batch = Varchar(length=32, default="")  # one reply sent to many (a group, a selection)
    publish_response = Text(default="")  # what the platform answered
    created_at = Timestamptz(default=TimestamptzNow())
    reviewed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)


class EscalationStatus(StrEnum):
    open = "open"  # reported, waiting for an instruction (批示)
    instructed = "instructed"
    closed = "closed"


class Escalation(Table, tablename="escalation"):
    """上报: a sensitive comment reported upward, with its own response clock."""

    card = ForeignKey(references=Card, index=True)
    board = ForeignKey(references=Board, index=True)
    target = Varchar(length=16)  # cac (网信办), leader, department
    target_department = ForeignKey(references=Department, null=True)
    target_user = ForeignKey(references=User, null=True)
    risk = Varchar(length=16)  # general, serious, major (as the sensitive-word tiers)
    reason = Text()
    status = Varchar(length=16, default=EscalationStatus.open)
    due_at = Timestamptz(null=True, default=None)
    instruction = Text(default="")
    instructed_by = ForeignKey(references=User, null=True)
    instructed_at = Timestamptz(null=True, default=None)
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
