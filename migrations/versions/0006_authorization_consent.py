"""authorization consent

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import felles.core.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('consent_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('from_person', sa.String(length=11), nullable=False),
    sa.Column('to_organization', sa.String(length=9), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('valid_to', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consent_rights', JSON_DOCUMENT, nullable=False),
    sa.Column('request_message', JSON_DOCUMENT, nullable=True),
    sa.Column('redirect_url', sa.String(length=2000), nullable=False),
    sa.Column('template_id', sa.String(length=100), nullable=True),
    sa.Column('portal_view_mode', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('consented_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_requests'))
    )
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.create_index('ix_consent_requests_from_person', ['from_person'], unique=False)
        batch_op.create_index('ix_consent_requests_to_organization', ['to_organization'], unique=False)
        batch_op.create_index('ix_consent_requests_status_valid_to', ['status', 'valid_to'], unique=False)
    op.create_table('consent_request_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('consent_request_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=10), nullable=False),
    sa.Column('performed_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consent_request_id'], ['consent_requests.id'],
                            name=op.f('fk_consent_request_events_consent_request_id_consent_requests'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_request_events'))
    )
    with op.batch_alter_table('consent_request_events', schema=None) as batch_op:
        batch_op.create_index('ix_consent_request_events_consent_request_id', ['consent_request_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consent_request_events', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_request_events_consent_request_id')
    op.drop_table('consent_request_events')
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_requests_status_valid_to')
        batch_op.drop_index('ix_consent_requests_to_organization')
        batch_op.drop_index('ix_consent_requests_from_person')
    op.drop_table('consent_requests')
