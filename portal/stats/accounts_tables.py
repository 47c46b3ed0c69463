"""The government new-media accounts (政务新媒体账号) and their daily figures.

An account is one name on one platform (临江发布 on WeChat and 临江发布 on Weibo are two
accounts), optionally owned by a department. A daily figure row is what the platform's back
office shows for one account on one day: the running follower total at the end of that day and
the day's reads and interactions. One row per (account, day) (a unique index, made by
the migration): recording a day again takes the figures given and keeps the others.
"""

from __future__ import annotations

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import Department, User


class MediaAccount(Table, tablename="media_account"):
    """A publishing account the team runs (临江发布 on WeChat). Unique by (name, platform): an
    index made by the migration."""

    name = Varchar(length=80)
    platform = Varchar(length=16)  # portal.core.choices.CAMPAIGN_PLATFORMS (not the hotline)
    department = ForeignKey(references=Department, null=True, on_delete=OnDelete.set_null)
    active = Boolean(default=True)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AccountFigure(Table, tablename="media_account_figure"):
    """One account's figures on one day (local date): None is "not given", never 0."""

    account = ForeignKey(references=MediaAccount, on_delete=OnDelete.cascade)  # indexed by (account, day)
    day = Date()
    followers = Integer(null=True, default=None)  # running total at the end of the day
    reads = Integer(null=True, default=None)  # the day's reads (阅读/播放)
    interactions = Integer(null=True, default=None)  # the day's likes, comments, shares …
    source = Varchar(length=8, default="hand")  # hand | import | api
    recorded_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    recorded_at = Timestamptz(default=TimestamptzNow())
