"""A campaign's own fields, beside the common card."""

from piccolo.columns import JSONB, ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.cards.tables import Card


class CampaignDetail(Table, tablename="campaign_detail"):
    card = ForeignKey(references=Card, unique=True, index=True)
    platforms = JSONB(default=[])  # portal.core.choices.CAMPAIGN_PLATFORMS
    campaign_format = Varchar(length=16, null=True, default=None)  # portal.core.choices.CAMPAIGN_FORMATS
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    goals = Text(default="")
    reward_rules = Text(default="")
