"""Boards, their members and their columns."""

from enum import StrEnum

from piccolo.columns import JSONB, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import Department, User


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
    kind = Varchar(length=16)  # a registered card kind (portal.kinds): comments, inquiries, campaigns
    description = Text(default="")
    department = ForeignKey(references=Department, null=True)
    # Last sequence number handed out to this board's events; bumped in the same
    # transaction as the change, so numbers are gap-free per board.
    seq = Integer(default=0)
    # Group robots (WeCom / DingTalk) told about this board's reminders: [{"kind", "url"}]
    webhooks = JSONB(default=[])
    # Automatic assignment of arriving work: round robin among the members on duty, none of
    # whom gets more than this many open cards (None: no automatic assignment).
    assign_cap = Integer(null=True, default=None)
    # Cards closed (in a done column) for longer than this many days are archived by the
    # worker: off the board, still in search, history, figures and exports (0: never).
    archive_after_days = Integer(default=30)
    archived = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class BoardMember(Table, tablename="board_member"):
    board = ForeignKey(references=Board, index=True)
    user = ForeignKey(references=User, index=True)
    role = Varchar(length=16, choices=BoardRole, default=BoardRole.member)
    on_duty = Boolean(default=True)  # 值班: takes automatically assigned work


class BoardColumn(Table, tablename="board_column"):
    board = ForeignKey(references=Board, index=True)
    key = Varchar(length=40)
    name = Varchar(length=40)
    meaning = Varchar(length=16, choices=ColumnMeaning, default=ColumnMeaning.working)
    position = Integer(default=0)
    wip_limit = Integer(null=True, default=None)
    archived = Boolean(default=False)
