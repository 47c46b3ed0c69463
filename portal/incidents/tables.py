"""An incident's own fields, beside the common card (whose assignee is the lead, 负责人),
the versions of its response statement (回应口径) and the comment cards it is linked to.

The incident's state is its card's column (portal.incidents.workflow.state_of); its timeline
is the card's events (one ``incident.action`` per step, besides moves and notes)."""

from piccolo.columns import JSONB, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.cards.tables import Card


class IncidentDetail(Table, tablename="incident_detail"):
    card = ForeignKey(references=Card, unique=True, index=True)
    level = Varchar(length=8, default="blue")  # portal.core.choices.RISK_LEVELS
    # Where it came from (portal.warning): no foreign keys, the warning tables are separate.
    topic_id = Integer(null=True, default=None)
    alert_id = Integer(null=True, default=None, index=True)
    responsible = JSONB(default=[])  # user ids handling it besides the lead (the assignee)
    assessment = Text(default="")  # 研判: what is happening and how serious
    plan = Text(default="")  # 处置方案
    # 回应口径: the draft being written; each submission is an IncidentStatement version.
    statement = Text(default="")
    statement_version = Integer(default=0)  # the latest version submitted
    pending_version = Integer(null=True, default=None)  # submitted, awaiting a manager's decision
    approved_version = Integer(null=True, default=None)  # the latest approved
    published_version = Integer(null=True, default=None)  # the latest published
    published_at = Timestamptz(null=True, default=None)
    # 批示: the latest instruction (every one is in the timeline)
    instruction = Text(default="")
    instructed_by = ForeignKey(references=User, null=True)
    instructed_at = Timestamptz(null=True, default=None)
    review = Text(default="")  # 复盘, written once it has calmed down; required to close
    reviewed_at = Timestamptz(null=True, default=None)
    calmed_at = Timestamptz(null=True, default=None)


class IncidentStatement(Table, tablename="incident_statement"):
    """One submitted version of the response statement, as submitted, and the manager's
    decision. An approved version is never changed: what is published is what was approved."""

    card = ForeignKey(references=Card, index=True)
    version = Integer()
    text = Text()
    status = Varchar(length=12, default="submitted")  # submitted | approved | returned
    submitted_by = ForeignKey(references=User, null=True)
    submitted_at = Timestamptz(default=TimestamptzNow())
    decided_by = ForeignKey(references=User, null=True)
    decided_at = Timestamptz(null=True, default=None)
    reason = Text(default="")  # why it was returned
    published_at = Timestamptz(null=True, default=None)


class IncidentComment(Table, tablename="incident_comment"):
    """A comment card the incident is about (one row per pair; unique in the migration)."""

    incident = ForeignKey(references=Card, on_delete=OnDelete.cascade, index=True)
    comment = ForeignKey(references=Card, on_delete=OnDelete.cascade, index=True)
    linked_by = ForeignKey(references=User, null=True)
    linked_at = Timestamptz(default=TimestamptzNow())
