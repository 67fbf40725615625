"""broker: rate-limit windows in the database, shared by every server process

Revision ID: 0042
Revises: 0036
Create Date: 2026-12-05 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0042'
down_revision: str | None = '0036'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('broker_rate_limit_windows',
    sa.Column('client', sa.String(length=255), nullable=False),
    sa.Column('endpoint', sa.String(length=50), nullable=False),
    sa.Column('minute', sa.BigInteger(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client', 'endpoint', name=op.f('pk_broker_rate_limit_windows'))
    )


def downgrade() -> None:
    op.drop_table('broker_rate_limit_windows')
