"""authorization: the registry of service owners (orgcode <-> organisation number) that resources and access
lists take their owner from; events: an event id is unique within its source, not across every publisher

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('authz_service_owners',
    sa.Column('orgcode', sa.String(length=20), nullable=False),
    sa.Column('organization_number', sa.String(length=9), nullable=False),
    sa.Column('name', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('orgcode', name=op.f('pk_authz_service_owners')),
    sa.UniqueConstraint('organization_number', name=op.f('uq_authz_service_owners_organization_number'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_events_event_id', type_='unique')
        batch_op.create_unique_constraint('uq_events_event_id_source', ['event_id', 'source'])


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_events_event_id_source', type_='unique')
        batch_op.create_unique_constraint('uq_events_event_id', ['event_id'])
    op.drop_table('authz_service_owners')
