"""apps: every deployed version of an app (its folder as a zip); storage: applications, instances, data elements
and instance events

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-04 16:17:08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import felles.core.db

revision: str = '0018'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('app_versions',
    sa.Column('app_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('archive', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('deployed_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('app_id', 'version', name=op.f('pk_app_versions'))
    )
    op.create_table('storage_applications',
    sa.Column('app_id', sa.String(length=200), nullable=False),
    sa.Column('org', sa.String(length=50), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('metadata', JSON_DOCUMENT, nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('last_changed_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_changed_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('app_id', name=op.f('pk_storage_applications'))
    )
    with op.batch_alter_table('storage_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_storage_applications_org'), ['org'], unique=False)

    op.create_table('storage_instances',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('owner_identifier', sa.String(length=11), nullable=False),
    sa.Column('app_id', sa.String(length=200), nullable=False),
    sa.Column('org', sa.String(length=50), nullable=False),
    sa.Column('app_version', sa.Integer(), nullable=False),
    sa.Column('process', JSON_DOCUMENT, nullable=False),
    sa.Column('current_task', sa.String(length=100), nullable=True),
    sa.Column('process_ended_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_status', sa.String(length=30), nullable=False),
    sa.Column('substatus', JSON_DOCUMENT, nullable=True),
    sa.Column('archived_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('soft_deleted_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hard_deleted_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_before', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('visible_after', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('presentation_texts', JSON_DOCUMENT, nullable=True),
    sa.Column('data_values', JSON_DOCUMENT, nullable=True),
    sa.Column('complete_confirmations', JSON_DOCUMENT, nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('last_changed_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_changed_by', sa.String(length=100), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_instances'))
    )
    with op.batch_alter_table('storage_instances', schema=None) as batch_op:
        batch_op.create_index('ix_storage_instances_org_app_changed', ['org', 'app_id', 'last_changed_at', 'id'], unique=False)
        batch_op.create_index('ix_storage_instances_party_app', ['party_id', 'app_id'], unique=False)

    op.create_table('storage_data_elements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('data_type', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('blob_key', sa.String(length=500), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_hash', sa.String(length=100), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('refs', JSON_DOCUMENT, nullable=True),
    sa.Column('is_read', sa.Boolean(), nullable=False),
    sa.Column('tags', JSON_DOCUMENT, nullable=False),
    sa.Column('user_defined_metadata', JSON_DOCUMENT, nullable=True),
    sa.Column('metadata', JSON_DOCUMENT, nullable=True),
    sa.Column('file_scan_result', sa.String(length=20), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('last_changed_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_changed_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['storage_instances.id'], name=op.f('fk_storage_data_elements_instance_id_storage_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_data_elements'))
    )
    with op.batch_alter_table('storage_data_elements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_storage_data_elements_instance_id'), ['instance_id'], unique=False)

    op.create_table('storage_instance_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('user', JSON_DOCUMENT, nullable=False),
    sa.Column('process_info', JSON_DOCUMENT, nullable=True),
    sa.Column('additional_info', JSON_DOCUMENT, nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['storage_instances.id'], name=op.f('fk_storage_instance_events_instance_id_storage_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_instance_events'))
    )
    with op.batch_alter_table('storage_instance_events', schema=None) as batch_op:
        batch_op.create_index('ix_storage_instance_events_instance', ['instance_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('storage_instance_events', schema=None) as batch_op:
        batch_op.drop_index('ix_storage_instance_events_instance')

    op.drop_table('storage_instance_events')
    with op.batch_alter_table('storage_data_elements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_storage_data_elements_instance_id'))

    op.drop_table('storage_data_elements')
    with op.batch_alter_table('storage_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_storage_instances_party_app')
        batch_op.drop_index('ix_storage_instances_org_app_changed')

    op.drop_table('storage_instances')
    with op.batch_alter_table('storage_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_storage_applications_org'))

    op.drop_table('storage_applications')
    op.drop_table('app_versions')
