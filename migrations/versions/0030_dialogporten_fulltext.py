"""dialogporten: free-text search (a GIN index over to_tsvector('simple', search_text) on PostgreSQL, an FTS5
table kept in step by triggers on SQLite)

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-05 20:50:00
"""

from collections.abc import Sequence

from alembic import op

FTS_TABLE = "dialogporten_dialogs_fts"
GIN_INDEX = "ix_dialogporten_dialogs_search_text_fts"
POSTGRESQL_UPGRADE = [
    f"CREATE INDEX {GIN_INDEX} ON dialogporten_dialogs USING gin (to_tsvector('simple'::regconfig, search_text))",
]
POSTGRESQL_DOWNGRADE = [f"DROP INDEX IF EXISTS {GIN_INDEX}"]
_DELETE = ("DELETE FROM dialogporten_dialogs_fts WHERE dialogporten_dialogs_fts MATCH "
           "'dialog_id : \"' || old.id || '\"';")
_INSERT = "INSERT INTO dialogporten_dialogs_fts (dialog_id, text) VALUES (new.id, new.search_text);"
SQLITE_UPGRADE = [
    # `dialog_id` is indexed too, so that a trigger finds a dialog's row through the index (`dialog_id : "…"`);
    # searches name the `text` column, so an id never matches a search.
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(dialog_id, text, tokenize = 'unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON dialogporten_dialogs BEGIN {_INSERT} END",
    f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF id, search_text ON dialogporten_dialogs "
    f"WHEN old.search_text IS NOT new.search_text OR old.id IS NOT new.id BEGIN {_DELETE} {_INSERT} END",
    f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON dialogporten_dialogs BEGIN {_DELETE} END",
    "INSERT INTO dialogporten_dialogs_fts (dialog_id, text) SELECT id, search_text FROM dialogporten_dialogs",
]
SQLITE_DOWNGRADE = [f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{event}" for event in ("insert", "update", "delete")] + [
    f"DROP TABLE IF EXISTS {FTS_TABLE}"]

revision: str = '0030'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_UPGRADE if postgresql else SQLITE_UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DOWNGRADE if postgresql else SQLITE_DOWNGRADE:
        op.execute(statement)
