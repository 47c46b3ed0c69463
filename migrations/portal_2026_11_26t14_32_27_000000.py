from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T14:32:27:000000"
VERSION = "1.38.0"
DESCRIPTION = "card kinds: each card's kind fields move into its kind's detail table"

# One statement per kind: every card of a board of that kind (archived ones too: they stay in
# the history and the figures) gets its detail row from the columns the common card held.
COPIES = (
    "INSERT INTO comment_detail (card, platform, author_handle, link, sentiment) "
    "SELECT card.id, card.platform, card.author_handle, card.link, card.sentiment "
    "FROM card JOIN board ON board.id = card.board WHERE board.kind = 'comments' "
    "AND card.id NOT IN (SELECT card FROM comment_detail)",
    "INSERT INTO inquiry_detail (card, citizen_name, citizen_phone, channel, category, answer) "
    "SELECT card.id, card.citizen_name, card.citizen_phone, card.platform, card.category, card.answer "
    "FROM card JOIN board ON board.id = card.board WHERE board.kind = 'inquiries' "
    "AND card.id NOT IN (SELECT card FROM inquiry_detail)",
    "INSERT INTO campaign_detail (card, platforms, campaign_format, starts_at, ends_at, goals, reward_rules) "
    "SELECT card.id, card.platforms, card.campaign_format, card.starts_at, card.ends_at, card.goals, "
    "card.reward_rules FROM card JOIN board ON board.id = card.board WHERE board.kind = 'campaigns' "
    "AND card.id NOT IN (SELECT card FROM campaign_detail)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def copy():
        from portal.db import engine

        db = engine()
        for statement in COPIES:
            await db.run_ddl(statement)

    manager.add_raw(copy)
    return manager
