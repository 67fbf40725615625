"""letters: a next-move message's lifetime (its SBD's expectedResponseDateTime), after which it expires

Revision ID: 0044
Revises: 0042
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0044'
down_revision: str | None = '0042'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('letters', sa.Column('expires_at', felles.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('letters', 'expires_at')
