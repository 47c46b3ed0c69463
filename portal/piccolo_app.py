"""Piccolo app registry entry: the tables and where their migrations live."""

from piccolo.conf.apps import AppConfig

from portal import MIGRATIONS_DIR
from portal.accounts.tables import Department, PersonalToken, User
from portal.attachments.tables import Attachment
from portal.boards.tables import Board, BoardColumn, BoardMember
from portal.cards.tables import Card, CardStage, Note
from portal.events.tables import Event, Outbox
from portal.kinds import KIND_TABLES
from portal.notifications.tables import Notification, WebhookDelivery
from portal.search.tables import SearchDoc
from portal.sla.tables import CalendarDay, CalendarYear, CardClock, SlaPolicy
from portal.stats.accounts_tables import AccountFigure, MediaAccount
from portal.warning.tables import WARNING_TABLES

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=MIGRATIONS_DIR,
    table_classes=[
        Department,
        User,
        Board,
        BoardMember,
        BoardColumn,
        Card,
        Note,
        Event,
        Notification,
        CalendarDay,
        CalendarYear,
        SlaPolicy,
        WebhookDelivery,
        PersonalToken,
        CardStage,
        CardClock,
        Outbox,
        *KIND_TABLES,  # each card kind's own tables (portal.kinds)
        MediaAccount,  # the evaluation's account figures (portal.stats.accounts)
        AccountFigure,
        *WARNING_TABLES,  # the early warning's topics, alerts and rules (portal.warning)
        Attachment,  # files on cards (portal.attachments)
        SearchDoc,  # the full-text search index (portal.search)
    ],
    migration_dependencies=[],
    commands=[],
)
