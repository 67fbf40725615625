"""dialogporten: dialogs, activities, transmissions, seen log and label assignments

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-05 12:01:48.386832
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import felles.core.db

revision: str = '0026'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('dialogporten_dialogs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Uuid(), nullable=False),
    sa.Column('idempotent_key', sa.String(length=36), nullable=True),
    sa.Column('org', sa.String(length=50), nullable=False),
    sa.Column('owner_organization', sa.String(length=9), nullable=False),
    sa.Column('service_resource', sa.String(length=255), nullable=False),
    sa.Column('service_resource_type', sa.String(length=50), nullable=False),
    sa.Column('party', sa.String(length=100), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=True),
    sa.Column('process', sa.String(length=255), nullable=True),
    sa.Column('preceding_process', sa.String(length=255), nullable=True),
    sa.Column('extended_status', sa.String(length=255), nullable=True),
    sa.Column('external_reference', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('is_api_only', sa.Boolean(), nullable=False),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('visible_from', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('content_updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('content', JSON_DOCUMENT, nullable=False),
    sa.Column('search_tags', JSON_DOCUMENT, nullable=False),
    sa.Column('attachments', JSON_DOCUMENT, nullable=False),
    sa.Column('gui_actions', JSON_DOCUMENT, nullable=False),
    sa.Column('api_actions', JSON_DOCUMENT, nullable=False),
    sa.Column('service_owner_labels', JSON_DOCUMENT, nullable=False),
    sa.Column('service_owner_context_revision', sa.Uuid(), nullable=False),
    sa.Column('system_label', sa.String(length=20), nullable=False),
    sa.Column('system_labels', JSON_DOCUMENT, nullable=False),
    sa.Column('end_user_context_revision', sa.Uuid(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dialogporten_dialogs')),
    sa.UniqueConstraint('org', 'idempotent_key', name='uq_dialogporten_dialogs_org_idempotent_key')
    )
    with op.batch_alter_table('dialogporten_dialogs', schema=None) as batch_op:
        batch_op.create_index('ix_dialogporten_dialogs_org_created', ['org', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_dialogporten_dialogs_party_content_updated', ['party', 'content_updated_at', 'id'], unique=False)
        batch_op.create_index('ix_dialogporten_dialogs_service_resource', ['service_resource'], unique=False)

    op.create_table('dialogporten_activities',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dialog_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('extended_type', sa.String(length=255), nullable=True),
    sa.Column('transmission_id', sa.Uuid(), nullable=True),
    sa.Column('performed_by', JSON_DOCUMENT, nullable=False),
    sa.Column('description', JSON_DOCUMENT, nullable=True),
    sa.ForeignKeyConstraint(['dialog_id'], ['dialogporten_dialogs.id'], name=op.f('fk_dialogporten_activities_dialog_id_dialogporten_dialogs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dialogporten_activities'))
    )
    with op.batch_alter_table('dialogporten_activities', schema=None) as batch_op:
        batch_op.create_index('ix_dialogporten_activities_dialog_id', ['dialog_id', 'created_at'], unique=False)

    op.create_table('dialogporten_label_assignments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dialog_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('performed_by', JSON_DOCUMENT, nullable=False),
    sa.ForeignKeyConstraint(['dialog_id'], ['dialogporten_dialogs.id'], name=op.f('fk_dialogporten_label_assignments_dialog_id_dialogporten_dialogs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dialogporten_label_assignments'))
    )
    with op.batch_alter_table('dialogporten_label_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_dialogporten_label_assignments_dialog_id', ['dialog_id', 'created_at'], unique=False)

    op.create_table('dialogporten_seen_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dialog_id', sa.Uuid(), nullable=False),
    sa.Column('seen_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_user_id', sa.String(length=100), nullable=False),
    sa.Column('end_user_name', sa.String(length=255), nullable=True),
    sa.Column('is_via_service_owner', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['dialog_id'], ['dialogporten_dialogs.id'], name=op.f('fk_dialogporten_seen_log_dialog_id_dialogporten_dialogs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dialogporten_seen_log'))
    )
    with op.batch_alter_table('dialogporten_seen_log', schema=None) as batch_op:
        batch_op.create_index('ix_dialogporten_seen_log_dialog_id', ['dialog_id', 'seen_at'], unique=False)

    op.create_table('dialogporten_transmissions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dialog_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('idempotent_key', sa.String(length=36), nullable=True),
    sa.Column('authorization_attribute', sa.String(length=255), nullable=True),
    sa.Column('extended_type', sa.String(length=255), nullable=True),
    sa.Column('external_reference', sa.String(length=255), nullable=True),
    sa.Column('related_transmission_id', sa.Uuid(), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('sender', JSON_DOCUMENT, nullable=False),
    sa.Column('content', JSON_DOCUMENT, nullable=False),
    sa.Column('attachments', JSON_DOCUMENT, nullable=False),
    sa.Column('navigational_actions', JSON_DOCUMENT, nullable=False),
    sa.ForeignKeyConstraint(['dialog_id'], ['dialogporten_dialogs.id'], name=op.f('fk_dialogporten_transmissions_dialog_id_dialogporten_dialogs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dialogporten_transmissions')),
    sa.UniqueConstraint('dialog_id', 'idempotent_key', name='uq_dialogporten_transmissions_dialog_id_idempotent')
    )
    with op.batch_alter_table('dialogporten_transmissions', schema=None) as batch_op:
        batch_op.create_index('ix_dialogporten_transmissions_dialog_id', ['dialog_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dialogporten_transmissions', schema=None) as batch_op:
        batch_op.drop_index('ix_dialogporten_transmissions_dialog_id')

    op.drop_table('dialogporten_transmissions')
    with op.batch_alter_table('dialogporten_seen_log', schema=None) as batch_op:
        batch_op.drop_index('ix_dialogporten_seen_log_dialog_id')

    op.drop_table('dialogporten_seen_log')
    with op.batch_alter_table('dialogporten_label_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_dialogporten_label_assignments_dialog_id')

    op.drop_table('dialogporten_label_assignments')
    with op.batch_alter_table('dialogporten_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_dialogporten_activities_dialog_id')

    op.drop_table('dialogporten_activities')
    with op.batch_alter_table('dialogporten_dialogs', schema=None) as batch_op:
        batch_op.drop_index('ix_dialogporten_dialogs_service_resource')
        batch_op.drop_index('ix_dialogporten_dialogs_party_content_updated')
        batch_op.drop_index('ix_dialogporten_dialogs_org_created')

    op.drop_table('dialogporten_dialogs')
