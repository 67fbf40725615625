"""authorization access requests and client delegation

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('authz_access_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('party', sa.String(length=40), nullable=False),
    sa.Column('requester', sa.String(length=11), nullable=False),
    sa.Column('package_code', sa.String(length=100), nullable=True),
    sa.Column('resource_identifier', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('handled_by', sa.String(length=100), nullable=True),
    sa.Column('delegation_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_code'], ['authz_access_packages.code'], name=op.f('fk_authz_access_requests_package_code_authz_access_packages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authz_access_requests'))
    )
    with op.batch_alter_table('authz_access_requests', schema=None) as batch_op:
        batch_op.create_index('ix_authz_access_requests_party_status', ['party', 'status'], unique=False)
        batch_op.create_index('ix_authz_access_requests_requester', ['requester'], unique=False)

    with op.batch_alter_table('authz_delegations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facilitator', sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column('facilitator_role', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_authz_delegations_facilitator', ['facilitator'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('authz_delegations', schema=None) as batch_op:
        batch_op.drop_index('ix_authz_delegations_facilitator')
        batch_op.drop_column('facilitator_role')
        batch_op.drop_column('facilitator')

    with op.batch_alter_table('authz_access_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_authz_access_requests_requester')
        batch_op.drop_index('ix_authz_access_requests_party_status')

    op.drop_table('authz_access_requests')
