"""Calendar data: which days are statutory holidays or 调休 make-up workdays, per year."""

from piccolo.columns import Date, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class CalendarDay(Table, tablename="calendar_day"):
    """An exception to "Monday to Friday": a holiday on a weekday or a workday at a weekend.
    Days not listed follow the weekday rule."""

    day = Date(unique=True, index=True)
    kind = Varchar(length=16)  # holiday | workday
    note = Varchar(length=60, default="")
    source = Varchar(length=16, default="package")  # package | admin | import


class CalendarYear(Table, tablename="calendar_year"):
    """Years whose holiday schedule is known; deadlines in other years carry a warning."""

    year = Varchar(length=4, unique=True)
    source = Varchar(length=16, default="package")
    updated_at = Timestamptz(default=TimestamptzNow())


class SlaPolicy(Table, tablename="sla_policy"):
    """One stage's clock for a board kind, optionally narrowed to a priority and (for
    inquiries) a category; the most specific matching row wins."""

    board_kind = Varchar(length=16)
    stage = Varchar(length=20)  # first_response, accept, answer, follow_up
    priority = Varchar(length=8, default="")  # "" = any
    category = Varchar(length=16, default="")  # "" = any
    amount = Integer(default=24)
    mode = Varchar(length=16, default="natural_hours")


class CardClock(Table, tablename="card_clock"):
    """One stage clock of one card in one round (a reopening, 重办, starts round 2).

    It remembers when the clock started and when it is due, so that moving a card out of a
    stage and back does not restart the clock the city measures the team by; it is marked
    completed when the stage's work is done (a reply, an answer, the case closed)."""

    card_id = Integer(index=True)
    stage = Varchar(length=20)
    round = Integer(default=1)
    started_at = Timestamptz()
    due_at = Timestamptz(null=True, default=None)
    mode = Varchar(length=16, null=True, default=None)
    completed_at = Timestamptz(null=True, default=None, index=True)  # response times per period
