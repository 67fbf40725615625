"""profile: settings, party groups (favourites), saved searches, notification addresses per party, verified
addresses and verification codes

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-05 12:06:48
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import felles.core.db

revision: str = '0028'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('profile_party_groups',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person', sa.String(length=11), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('is_favorite', sa.Boolean(), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_party_groups')),
    sa.UniqueConstraint('person', 'name', name='uq_profile_party_groups_person_name')
    )
    op.create_table('profile_party_notification_settings',
    sa.Column('person', sa.String(length=11), nullable=False),
    sa.Column('party_uuid', sa.Uuid(), nullable=False),
    sa.Column('party', sa.String(length=11), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('resources', JSON_DOCUMENT, nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person', 'party_uuid', name=op.f('pk_profile_party_notification_settings'))
    )
    with op.batch_alter_table('profile_party_notification_settings', schema=None) as batch_op:
        batch_op.create_index('ix_profile_party_notification_settings_party', ['party'], unique=False)

    op.create_table('profile_saved_searches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person', sa.String(length=11), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('data', JSON_DOCUMENT, nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_saved_searches'))
    )
    with op.batch_alter_table('profile_saved_searches', schema=None) as batch_op:
        batch_op.create_index('ix_profile_saved_searches_person', ['person'], unique=False)

    op.create_table('profile_settings',
    sa.Column('person', sa.String(length=11), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=True),
    sa.Column('do_not_prompt_for_party', sa.Boolean(), nullable=False),
    sa.Column('preselected_party_uuid', sa.Uuid(), nullable=True),
    sa.Column('preselected_party_id', sa.Integer(), nullable=True),
    sa.Column('show_client_units', sa.Boolean(), nullable=False),
    sa.Column('should_show_sub_entities', sa.Boolean(), nullable=False),
    sa.Column('should_show_deleted_entities', sa.Boolean(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('private_phone_number', sa.String(length=20), nullable=True),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person', name=op.f('pk_profile_settings')),
    sa.UniqueConstraint('username', name=op.f('uq_profile_settings_username'))
    )
    op.create_table('profile_verification_codes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person', sa.String(length=11), nullable=False),
    sa.Column('address_type', sa.String(length=5), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_verification_codes')),
    sa.UniqueConstraint('person', 'address_type', 'address', name='uq_profile_verification_codes_address')
    )
    op.create_table('profile_verified_addresses',
    sa.Column('person', sa.String(length=11), nullable=False),
    sa.Column('address_type', sa.String(length=5), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('verified_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person', 'address_type', 'address', name=op.f('pk_profile_verified_addresses'))
    )
    op.create_table('profile_party_group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('party_uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['profile_party_groups.id'],
                            name=op.f('fk_profile_party_group_members_group_id_profile_party_groups'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'party_uuid', name=op.f('pk_profile_party_group_members'))
    )


def downgrade() -> None:
    op.drop_table('profile_party_group_members')
    op.drop_table('profile_verified_addresses')
    op.drop_table('profile_verification_codes')
    op.drop_table('profile_settings')
    with op.batch_alter_table('profile_saved_searches', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_saved_searches_person')

    op.drop_table('profile_saved_searches')
    with op.batch_alter_table('profile_party_notification_settings', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_party_notification_settings_party')

    op.drop_table('profile_party_notification_settings')
    op.drop_table('profile_party_groups')
