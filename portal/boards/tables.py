"""Boards, their members and columns, cards and notes."""

from enum import StrEnum

from piccolo.columns import (
    JSONB,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import Department, User


class BoardKind(StrEnum):
    comments = "comments"  # 留言评论
    inquiries = "inquiries"  # 问题解答
    campaigns = "campaigns"  # 互动活动


class BoardRole(StrEnum):
    manager = "manager"
    member = "member"
    viewer = "viewer"


class ColumnMeaning(StrEnum):
    """What a column means to later features (deadlines, reports), whatever its name."""

    new = "new"
    working = "working"
    waiting = "waiting"
    done = "done"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Board(Table, tablename="board"):
    name = Varchar(length=80)
    kind = Varchar(length=16, choices=BoardKind)
    description = Text(default="")
    department = ForeignKey(references=Department, null=True)
    # Last sequence number handed out to this board's events; bumped in the same
    # transaction as the change, so numbers are gap-free per board.
    seq = Integer(default=0)
    archived = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class BoardMember(Table, tablename="board_member"):
    board = ForeignKey(references=Board, index=True)
    user = ForeignKey(references=User, index=True)
    role = Varchar(length=16, choices=BoardRole, default=BoardRole.member)


class BoardColumn(Table, tablename="board_column"):
    board = ForeignKey(references=Board, index=True)
    key = Varchar(length=40)
    name = Varchar(length=40)
    meaning = Varchar(length=16, choices=ColumnMeaning, default=ColumnMeaning.working)
    position = Integer(default=0)
    wip_limit = Integer(null=True, default=None)
    archived = Boolean(default=False)


class Card(Table, tablename="card"):
    board = ForeignKey(references=Board, index=True)
    column = ForeignKey(references=BoardColumn, index=True)
    # Fractional position: a move writes one row (the midpoint of its neighbours)
    # instead of renumbering the column.
    position = DoublePrecision(default=0.0)
    title = Varchar(length=200)
    body = Text(default="")
    priority = Varchar(length=8, choices=Priority, default=Priority.normal)
    labels = JSONB(default=[])
    assignee = ForeignKey(references=User, null=True)
    # comments
    platform = Varchar(length=16, null=True, default=None)
    author_handle = Varchar(length=80, default="")
    link = Varchar(length=500, default="")
    sentiment = Varchar(length=16, null=True, default=None)
    received_at = Timestamptz(null=True, default=None)
    # inquiries
    citizen_name = Varchar(length=40, default="")
    citizen_phone = Varchar(length=20, default="")
    category = Varchar(length=16, null=True, default=None)
    department = ForeignKey(references=Department, null=True)
    assisting_departments = JSONB(default=[])
    answer = Text(default="")
    # campaigns
    platforms = JSONB(default=[])
    campaign_format = Varchar(length=16, null=True, default=None)
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    goals = Text(default="")
    reward_rules = Text(default="")
    # optimistic concurrency: every write states the version it saw
    version = Integer(default=1)
    archived = Boolean(default=False)
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Note(Table, tablename="card_note"):
    card = ForeignKey(references=Card, index=True)
    author = ForeignKey(references=User, null=True)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
