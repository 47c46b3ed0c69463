"""A campaign's own fields, beside the common card, and what it gathers from plan to review:
the plan's versions (submitted, approved or returned), its task checklist, its metric
snapshots and the questions people asked during it.

The card's assignee is the campaign's owner (负责人); its column is its state
(portal.campaigns.workflow.state_of)."""

from piccolo.columns import JSONB, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.cards.tables import Card


class CampaignDetail(Table, tablename="campaign_detail"):
    card = ForeignKey(references=Card, unique=True, index=True)
    # The plan (portal.campaigns.workflow.PLAN_FIELDS, with the card's title, body and assignee)
    theme = Varchar(length=200, default="")  # 主题
    policy_basis = Text(default="")  # the policy or public concern it serves (结合的政策/关切)
    platforms = JSONB(default=[])  # portal.core.choices.CAMPAIGN_PLATFORMS
    campaign_format = Varchar(length=16, null=True, default=None)  # portal.core.choices.CAMPAIGN_FORMATS
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    moments = JSONB(default=[])  # key moments: [{"at": iso time, "label": "直播开始"}]
    audience = Text(default="")  # 目标人群
    targets = JSONB(default={})  # goals per platform: {"douyin": {"participants": 5000, …}}
    goals = Text(default="")  # goals in words, besides the numbers
    reward_rules = Text(default="")
    budget = Integer(null=True, default=None)  # yuan
    team = JSONB(default=[])  # user ids working on it besides the owner
    # Approval: each submission is a CampaignPlanVersion; the approved one is frozen.
    plan_version = Integer(default=0)  # the latest version submitted
    approved_version = Integer(null=True, default=None)  # the version in force
    pending_version = Integer(null=True, default=None)  # submitted and awaiting a decision
    # The schedule in force: the approved version's dates, platforms and key moments, kept here
    # (by portal.campaigns.workflow, when a version is approved) so that the tile and the
    # calendar read them with the card in one statement. Meaningless before any approval (the
    # draft is the plan then): read them only when approved_version is set.
    approved_starts_at = Timestamptz(null=True, default=None)
    approved_ends_at = Timestamptz(null=True, default=None)
    approved_platforms = JSONB(default=[])
    approved_moments = JSONB(default=[])
    # What the tile shows without reading the child tables, kept by their services
    tasks_total = Integer(default=0)
    tasks_done = Integer(default=0)
    participants_pct = Integer(null=True, default=None)  # participants against the goal, per cent
    # 复盘, written by the team
    went_well = Text(default="")
    to_change = Text(default="")


class CampaignPlanVersion(Table, tablename="campaign_plan_version"):
    """One submitted version of a campaign's plan, as it was submitted (a snapshot of the
    plan's fields), and what the manager decided. An approved version is never changed."""

    card = ForeignKey(references=Card, index=True)
    version = Integer()
    plan = JSONB(default={})
    status = Varchar(length=12, default="submitted")  # submitted | approved | returned | withdrawn
    submitted_by = ForeignKey(references=User, null=True)
    submitted_at = Timestamptz(default=TimestamptzNow())
    decided_by = ForeignKey(references=User, null=True)
    decided_at = Timestamptz(null=True, default=None)
    reason = Text(default="")  # the manager's reasons for returning it (or a note on approval)


class CampaignTask(Table, tablename="campaign_task"):
    """One item of a campaign's checklist (设计海报, 发布活动预告, 直播控评, 发放奖励 …)."""

    card = ForeignKey(references=Card, index=True)
    title = Varchar(length=200)
    owner = ForeignKey(references=User, null=True)
    due_at = Timestamptz(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
    done_by = ForeignKey(references=User, null=True)
    position = Integer(default=0)
    template_key = Varchar(length=32, default="")  # the plan template's item it came from
    due_by_hand = Boolean(default=False)  # its due time was set by a person: dates don't move it
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class CampaignMetric(Table, tablename="campaign_metric"):
    """A snapshot of a campaign's figures on one platform at one time: running totals, so the
    latest snapshot per platform is the result so far. One row per (card, platform, at): a
    snapshot recorded again (a re-imported sheet) replaces the earlier figures."""

    card = ForeignKey(references=Card, index=True)
    platform = Varchar(length=16)
    at = Timestamptz()
    participants = Integer(null=True, default=None)  # None: not given in this snapshot
    comments = Integer(null=True, default=None)  # None: not given in this snapshot
    shares = Integer(null=True, default=None)  # None: not given in this snapshot
    new_followers = Integer(null=True, default=None)  # None: not given in this snapshot
    reads = Integer(null=True, default=None)  # None: not given in this snapshot
    source = Varchar(length=8, default="hand")  # hand | import | api
    recorded_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class CampaignQuestion(Table, tablename="campaign_question"):
    """A question people asked during the campaign (in a Q&A zone, a livestream's comments):
    counted when asked again, sent to the comments board as a card, or made a reply template."""

    card = ForeignKey(references=Card, index=True)
    text = Text()
    platform = Varchar(length=16, null=True, default=None)
    asked_at = Timestamptz(default=TimestamptzNow())
    times = Integer(default=1)  # how often it was asked
    # the card it became on a comments board
    comment_card = ForeignKey(references=Card, null=True, on_delete=OnDelete.set_null)
    made_template = Boolean(default=False)  # became a reply template
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
