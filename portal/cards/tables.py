"""Cards: what every card has, whatever its kind (a kind's own fields are in its package's
detail table, see portal.cards.kinds), their internal notes and their stage history."""

from piccolo.columns import JSONB, Boolean, DoublePrecision, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import Department, User
from portal.boards.tables import Board, BoardColumn, Priority


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
    # When the message the card stands for arrived (a comment, a citizen's call): the first
    # deadline clock starts then. Cards that stand for no message have their creation time.
    received_at = Timestamptz(null=True, default=None, index=True)  # the figures read periods by it
    # Routing: the responsible department and those assisting. Their liaisons see the card
    # (portal.boards.access); everyone else on the board sees it anyway.
    department = ForeignKey(references=Department, null=True)
    assisting_departments = JSONB(default=[])
    # deadlines (SLA): the clock of the stage the card is in
    due_stage = Varchar(length=20, null=True, default=None)
    stage_started_at = Timestamptz(null=True, default=None)
    due_at = Timestamptz(null=True, default=None, index=True)
    due_mode = Varchar(length=16, null=True, default=None)  # how the clock counts (for pausing)
    paused_at = Timestamptz(null=True, default=None)  # 挂起: the clock stands still
    pause_reason = Varchar(length=200, default="")
    extension_until = Timestamptz(null=True, default=None)  # 延期 requested, awaiting a manager
    extension_reason = Varchar(length=200, default="")
    extension_requested_by = Integer(null=True, default=None)
    # stage history: when the card entered its column, and the round of its clocks
    # (1, then 2 after a reopening — 重办 — and so on)
    column_entered_at = Timestamptz(null=True, default=None)
    clock_round = Integer(default=1)
    # optimistic concurrency: every write states the version it saw
    version = Integer(default=1)
    archived = Boolean(default=False)
    archived_at = Timestamptz(null=True, default=None)
    # The column's meaning when it was archived: "done" for closed work (which still counts in
    # the figures), anything else for a card taken off the board unfinished (which does not).
    archived_from = Varchar(length=16, default="")
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Note(Table, tablename="card_note"):
    card = ForeignKey(references=Card, index=True)
    author = ForeignKey(references=User, null=True)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class CardStage(Table, tablename="card_stage"):
    """Stage history: one row per visit of a card to a column (later also a workflow state),
    written in the same transaction as the move. First-response times, resolution times and
    on-time rates are computed from these rows."""

    card = ForeignKey(references=Card, index=True)
    board = ForeignKey(references=Board, index=True)
    column = ForeignKey(references=BoardColumn, null=True)
    stage = Varchar(length=40)  # the column's key (or the workflow state)
    clock = Varchar(length=20, null=True, default=None)  # the deadline clock running meanwhile
    round = Integer(default=1)  # 1, or the reopening (重办) the visit belongs to
    entered_at = Timestamptz(index=True)
    entered_by = ForeignKey(references=User, null=True)
    left_at = Timestamptz(null=True, default=None, index=True)  # on-time figures per period
    left_by = ForeignKey(references=User, null=True)
    due_at = Timestamptz(null=True, default=None)  # the clock's due time when the visit ended
    working_minutes = Integer(null=True, default=None)
    on_time = Boolean(null=True, default=None)
