"""letters: the lock of an arkivmelding on the receiving organisation's incoming queue (next-move `/api/messages/in`)

Revision ID: 0036
Revises: 0034
Create Date: 2026-12-05 20:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0036'
down_revision: str | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('letters', sa.Column('locked_until', felles.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('letters', 'locked_until')
