"""broker: file transfers, their parts, recipients and status history; service owners and resources

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-05 12:02:48
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import felles.core.db

revision: str = '0024'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('broker_file_transfers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=9), nullable=False),
    sa.Column('senders_reference', sa.String(length=4096), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('checksum', sa.String(length=32), nullable=True),
    sa.Column('use_virus_scan', sa.Boolean(), nullable=False),
    sa.Column('property_list', JSON_DOCUMENT, nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('upload_length', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_text', sa.String(length=1000), nullable=False),
    sa.Column('status_changed_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_file_transfers'))
    )
    with op.batch_alter_table('broker_file_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_broker_file_transfers_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_broker_file_transfers_sender_resource', ['sender', 'resource_id'], unique=False)

    op.create_table('broker_resources',
    sa.Column('resource_id', sa.String(length=255), nullable=False),
    sa.Column('service_owner', sa.String(length=9), nullable=False),
    sa.Column('max_file_transfer_size', sa.BigInteger(), nullable=True),
    sa.Column('file_transfer_time_to_live', sa.String(length=50), nullable=True),
    sa.Column('purge_after_all_recipients_confirmed', sa.Boolean(), nullable=False),
    sa.Column('purge_grace_period', sa.String(length=50), nullable=True),
    sa.Column('use_manifest_file_shim', sa.Boolean(), nullable=False),
    sa.Column('external_service_code_legacy', sa.String(length=100), nullable=True),
    sa.Column('external_service_edition_code_legacy', sa.Integer(), nullable=True),
    sa.Column('required_party', sa.String(length=100), nullable=True),
    sa.Column('approved_for_disabled_virus_scan', sa.Boolean(), nullable=False),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_broker_resources'))
    )
    op.create_table('broker_service_owners',
    sa.Column('organization_number', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('deletion_time', sa.String(length=50), nullable=True),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('organization_number', name=op.f('pk_broker_service_owners'))
    )
    op.create_table('broker_file_transfer_parts',
    sa.Column('file_transfer_id', sa.Uuid(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('blob_key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['file_transfer_id'], ['broker_file_transfers.id'], name=op.f('fk_broker_file_transfer_parts_file_transfer_id_broker_file_transfers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_transfer_id', 'offset', name=op.f('pk_broker_file_transfer_parts'))
    )
    op.create_table('broker_file_transfer_recipients',
    sa.Column('file_transfer_id', sa.Uuid(), nullable=False),
    sa.Column('recipient', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_text', sa.String(length=1000), nullable=False),
    sa.Column('status_changed_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_transfer_id'], ['broker_file_transfers.id'], name=op.f('fk_broker_file_transfer_recipients_file_transfer_id_broker_file_transfers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_transfer_id', 'recipient', name=op.f('pk_broker_file_transfer_recipients'))
    )
    with op.batch_alter_table('broker_file_transfer_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_broker_file_transfer_recipients_recipient', ['recipient'], unique=False)

    op.create_table('broker_file_transfer_status_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('file_transfer_id', sa.Uuid(), nullable=False),
    sa.Column('recipient', sa.String(length=9), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_text', sa.String(length=1000), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_transfer_id'], ['broker_file_transfers.id'], name=op.f('fk_broker_file_transfer_status_events_file_transfer_id_broker_file_transfers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_file_transfer_status_events'))
    )
    with op.batch_alter_table('broker_file_transfer_status_events', schema=None) as batch_op:
        batch_op.create_index('ix_broker_file_transfer_status_events_file_transfer_id', ['file_transfer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('broker_file_transfer_status_events', schema=None) as batch_op:
        batch_op.drop_index('ix_broker_file_transfer_status_events_file_transfer_id')

    op.drop_table('broker_file_transfer_status_events')
    with op.batch_alter_table('broker_file_transfer_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_broker_file_transfer_recipients_recipient')

    op.drop_table('broker_file_transfer_recipients')
    op.drop_table('broker_file_transfer_parts')
    op.drop_table('broker_service_owners')
    op.drop_table('broker_resources')
    with op.batch_alter_table('broker_file_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_broker_file_transfers_sender_resource')
        batch_op.drop_index('ix_broker_file_transfers_created_at')

    op.drop_table('broker_file_transfers')
