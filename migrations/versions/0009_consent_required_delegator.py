"""consent requests name the one person who may answer (requiredDelegator)

Organisations may now consent too: `from_person` keeps its name and holds an organisasjonsnummer as well, which
fits its 11 characters, so only the new column is added.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required_delegator', sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.drop_column('required_delegator')
