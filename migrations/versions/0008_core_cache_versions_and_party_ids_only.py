"""core cache versions (cross-process cache invalidation on SQLite); authz_parties keeps only ids

The authorized-parties list reads names, forms, main units and deaths from the registers, so the copies of them
in authz_parties are dropped.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_PARTY_DETAIL_COLUMNS = (
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('unit_type', sa.String(length=8), nullable=True),
    sa.Column('parent_identifier', sa.String(length=9), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('is_deleted', sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column('details_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
)


def upgrade() -> None:
    op.create_table('core_cache_versions',
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('topic', name=op.f('pk_core_cache_versions'))
    )
    with op.batch_alter_table('authz_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_authz_parties_parent_identifier')
        for column in _PARTY_DETAIL_COLUMNS:
            batch_op.drop_column(column.name)


def downgrade() -> None:
    with op.batch_alter_table('authz_parties', schema=None) as batch_op:
        for column in _PARTY_DETAIL_COLUMNS:
            batch_op.add_column(column.copy())
        batch_op.create_index('ix_authz_parties_parent_identifier', ['parent_identifier'], unique=False)
    op.drop_table('core_cache_versions')
