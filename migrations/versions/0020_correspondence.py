"""correspondence: correspondences with their status history, attachments with theirs, the links between them,
the notification order of each correspondence, and senders' idempotency keys

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-05 12:03:31.466274
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import felles.core.db

revision: str = '0020'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('correspondence_attachments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=9), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('senders_reference', sa.String(length=4096), nullable=False),
    sa.Column('is_encrypted', sa.Boolean(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('blob_key', sa.String(length=200), nullable=True),
    sa.Column('expiration_time', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_text', sa.String(length=500), nullable=False),
    sa.Column('status_changed', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correspondence_attachments'))
    )
    with op.batch_alter_table('correspondence_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_correspondence_attachments_sender', ['sender'], unique=False)

    op.create_table('correspondence_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('sender', sa.String(length=9), nullable=False),
    sa.Column('idempotent_key', sa.Uuid(), nullable=False),
    sa.Column('response', JSON_DOCUMENT, nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correspondence_requests')),
    sa.UniqueConstraint('sender', 'idempotent_key', name='uq_correspondence_requests_sender_key')
    )
    op.create_table('correspondences',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=9), nullable=False),
    sa.Column('recipient', sa.String(length=11), nullable=False),
    sa.Column('senders_reference', sa.String(length=4096), nullable=False),
    sa.Column('message_sender', sa.String(length=256), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('message_title', sa.String(length=255), nullable=False),
    sa.Column('message_summary', sa.String(length=255), nullable=True),
    sa.Column('message_body', sa.Text(), nullable=False),
    sa.Column('requested_publish_time', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_date_time', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('allow_system_delete_after', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_references', JSON_DOCUMENT, nullable=False),
    sa.Column('property_list', JSON_DOCUMENT, nullable=False),
    sa.Column('reply_options', JSON_DOCUMENT, nullable=False),
    sa.Column('notification', JSON_DOCUMENT, nullable=True),
    sa.Column('ignore_reservation', sa.Boolean(), nullable=False),
    sa.Column('is_confirmation_needed', sa.Boolean(), nullable=False),
    sa.Column('is_confidential', sa.Boolean(), nullable=False),
    sa.Column('allow_forwarding', sa.Boolean(), nullable=False),
    sa.Column('idempotent_key', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_changed', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correspondences'))
    )
    with op.batch_alter_table('correspondences', schema=None) as batch_op:
        batch_op.create_index('ix_correspondences_allow_system_delete_after', ['allow_system_delete_after'], unique=False)
        batch_op.create_index('ix_correspondences_idempotent_key', ['idempotent_key'], unique=False)
        batch_op.create_index('ix_correspondences_recipient_created_at', ['recipient', 'created_at'], unique=False)
        batch_op.create_index('ix_correspondences_sender_created_at', ['sender', 'created_at'], unique=False)

    op.create_table('correspondence_attachment_links',
    sa.Column('correspondence_id', sa.Uuid(), nullable=False),
    sa.Column('attachment_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['correspondence_attachments.id'], name=op.f('fk_correspondence_attachment_links_attachment_id_correspondence_attachments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['correspondence_id'], ['correspondences.id'], name=op.f('fk_correspondence_attachment_links_correspondence_id_correspondences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('correspondence_id', 'attachment_id', name=op.f('pk_correspondence_attachment_links'))
    )
    with op.batch_alter_table('correspondence_attachment_links', schema=None) as batch_op:
        batch_op.create_index('ix_correspondence_attachment_links_attachment_id', ['attachment_id'], unique=False)

    op.create_table('correspondence_attachment_statuses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('attachment_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_text', sa.String(length=500), nullable=False),
    sa.Column('status_changed', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['correspondence_attachments.id'], name=op.f('fk_correspondence_attachment_statuses_attachment_id_correspondence_attachments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correspondence_attachment_statuses'))
    )
    with op.batch_alter_table('correspondence_attachment_statuses', schema=None) as batch_op:
        batch_op.create_index('ix_correspondence_attachment_statuses_attachment_id', ['attachment_id'], unique=False)

    op.create_table('correspondence_notifications',
    sa.Column('correspondence_id', sa.Uuid(), nullable=False),
    sa.Column('order_chain_id', sa.Uuid(), nullable=False),
    sa.Column('shipment_id', sa.Uuid(), nullable=False),
    sa.Column('reminder_shipment_id', sa.Uuid(), nullable=True),
    sa.Column('requested_send_time', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['correspondence_id'], ['correspondences.id'], name=op.f('fk_correspondence_notifications_correspondence_id_correspondences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('correspondence_id', name=op.f('pk_correspondence_notifications'))
    )
    op.create_table('correspondence_statuses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('correspondence_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_text', sa.String(length=500), nullable=False),
    sa.Column('status_changed', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('performed_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['correspondence_id'], ['correspondences.id'], name=op.f('fk_correspondence_statuses_correspondence_id_correspondences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correspondence_statuses'))
    )
    with op.batch_alter_table('correspondence_statuses', schema=None) as batch_op:
        batch_op.create_index('ix_correspondence_statuses_correspondence_id', ['correspondence_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('correspondence_statuses', schema=None) as batch_op:
        batch_op.drop_index('ix_correspondence_statuses_correspondence_id')

    op.drop_table('correspondence_statuses')
    op.drop_table('correspondence_notifications')
    with op.batch_alter_table('correspondence_attachment_statuses', schema=None) as batch_op:
        batch_op.drop_index('ix_correspondence_attachment_statuses_attachment_id')

    op.drop_table('correspondence_attachment_statuses')
    with op.batch_alter_table('correspondence_attachment_links', schema=None) as batch_op:
        batch_op.drop_index('ix_correspondence_attachment_links_attachment_id')

    op.drop_table('correspondence_attachment_links')
    with op.batch_alter_table('correspondences', schema=None) as batch_op:
        batch_op.drop_index('ix_correspondences_sender_created_at')
        batch_op.drop_index('ix_correspondences_recipient_created_at')
        batch_op.drop_index('ix_correspondences_idempotent_key')
        batch_op.drop_index('ix_correspondences_allow_system_delete_after')

    op.drop_table('correspondences')
    op.drop_table('correspondence_requests')
    with op.batch_alter_table('correspondence_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_correspondence_attachments_sender')

    op.drop_table('correspondence_attachments')
