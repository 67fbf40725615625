"""core cache versions (cross-process cache invalidation on SQLite)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('core_cache_versions',
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('topic', name=op.f('pk_core_cache_versions'))
    )


def downgrade() -> None:
    op.drop_table('core_cache_versions')
