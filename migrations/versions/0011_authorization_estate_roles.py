"""authorization: digitalt dødsbo (OED) roles, the probate court's roles of heirs in a deceased's estate, and
the time of the newest event applied to each estate

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('authz_estates',
    sa.Column('estate', sa.String(length=11), nullable=False),
    sa.Column('case_id', sa.String(length=200), nullable=False),
    sa.Column('last_event_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('estate', name=op.f('pk_authz_estates'))
    )
    op.create_table('authz_estate_roles',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('estate', sa.String(length=11), nullable=False),
    sa.Column('recipient', sa.String(length=11), nullable=False),
    sa.Column('role_code', sa.String(length=200), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authz_estate_roles')),
    sa.UniqueConstraint('estate', 'recipient', 'role_code', name='uq_authz_estate_roles')
    )
    op.create_index('ix_authz_estate_roles_recipient', 'authz_estate_roles', ['recipient'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_authz_estate_roles_recipient', table_name='authz_estate_roles')
    op.drop_table('authz_estate_roles')
    op.drop_table('authz_estates')
