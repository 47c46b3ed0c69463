"""The one place card kinds are registered. A new kind is a package with a ``kind.py``
(see ``portal.cards.kinds``) added here; nothing else in the board-generic code changes."""

from portal.campaigns.kind import KIND as CAMPAIGNS
from portal.cards.kinds import register
from portal.comments.kind import KIND as COMMENTS
from portal.incidents.kind import KIND as INCIDENTS
from portal.inquiries.kind import KIND as INQUIRIES

KINDS = tuple(register(kind) for kind in (COMMENTS, INQUIRIES, CAMPAIGNS, INCIDENTS))
# Every table of every kind (its detail table and the rest), for the Piccolo app.
KIND_TABLES = [table for kind in KINDS for table in (*kind.tables, *([kind.detail] if kind.detail else []))]
