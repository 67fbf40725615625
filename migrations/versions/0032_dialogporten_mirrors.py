"""dialogporten: the mirrors of app instances and correspondences as dialogs

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-05 20:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0032'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dialogporten_mirrors',
    sa.Column('source_type', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.Uuid(), nullable=False),
    sa.Column('dialog_id', sa.Uuid(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('source_version', sa.String(length=100), nullable=False),
    sa.Column('synced_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source_type', 'source_id', name=op.f('pk_dialogporten_mirrors')),
    sa.UniqueConstraint('dialog_id', name=op.f('uq_dialogporten_mirrors_dialog_id'))
    )


def downgrade() -> None:
    op.drop_table('dialogporten_mirrors')
