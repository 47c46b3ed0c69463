"""Full-text search over the search index (``search_doc``), per engine.

- SQLite: an FTS5 table over ``search_doc``'s word columns (external content: the words are
  stored once, in ``search_doc``), kept in step by triggers, ranked with bm25.
- PostgreSQL: a generated ``tsvector`` column (the title's words weighted A, the rest B, the
  'simple' configuration: the words are cut by jieba already) with a GIN index, ranked with
  ts_rank.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-27T04:03:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL"

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "title_terms, terms, content='search_doc', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER IF NOT EXISTS search_doc_fts_insert AFTER INSERT ON search_doc BEGIN"
    " INSERT INTO search_fts(rowid, title_terms, terms) VALUES (new.id, new.title_terms, new.terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_doc_fts_delete AFTER DELETE ON search_doc BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, title_terms, terms)"
    " VALUES ('delete', old.id, old.title_terms, old.terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_doc_fts_update AFTER UPDATE OF title_terms, terms ON search_doc BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, title_terms, terms)"
    " VALUES ('delete', old.id, old.title_terms, old.terms);"
    " INSERT INTO search_fts(rowid, title_terms, terms) VALUES (new.id, new.title_terms, new.terms); END",
    # Whatever search_doc held before (nothing, on a fresh install) is in the index too.
    "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
]

POSTGRES = [
    "ALTER TABLE search_doc ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', title_terms), 'A') || setweight(to_tsvector('simple', terms), 'B')) STORED",
    # fastupdate off: each card's words go straight into the index, so no search ever reads a
    # long list of pending entries (4 MB of them after a backfill made a no-hit search 28 ms).
    "CREATE INDEX IF NOT EXISTS search_doc_tsv_idx ON search_doc USING GIN (tsv) WITH (fastupdate = off)",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        from portal.db import is_sqlite

        for statement in SQLITE if is_sqlite() else POSTGRES:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
