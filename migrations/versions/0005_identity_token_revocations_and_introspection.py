"""identity token revocations and introspection

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('core_revoked_tokens',
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_core_revoked_tokens'))
    )
    with op.batch_alter_table('core_revoked_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_revoked_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_revoked_tokens_revoked_at'), ['revoked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_revoked_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_revoked_tokens_revoked_at'))
        batch_op.drop_index(batch_op.f('ix_core_revoked_tokens_expires_at'))
    op.drop_table('core_revoked_tokens')
