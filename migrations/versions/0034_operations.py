"""operations: incidents on the status page, health samples (availability), response-time and usage counts; the jobs' traceparent

Revision ID: 0034
Revises: 0032
Create Date: 2026-12-05 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db

revision: str = '0034'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('operations_incidents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('component', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('opened_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operations_incidents'))
    )
    with op.batch_alter_table('operations_incidents', schema=None) as batch_op:
        batch_op.create_index('ix_operations_incidents_opened_at', ['opened_at'], unique=False)

    op.create_table('operations_health_samples',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('component', sa.String(length=100), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('taken_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operations_health_samples'))
    )
    with op.batch_alter_table('operations_health_samples', schema=None) as batch_op:
        batch_op.create_index('ix_operations_health_samples_taken_at', ['taken_at'], unique=False)

    op.create_table('operations_response_times',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('hour', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('component', sa.String(length=100), nullable=False),
    sa.Column('le', sa.Float(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operations_response_times'))
    )
    with op.batch_alter_table('operations_response_times', schema=None) as batch_op:
        batch_op.create_index('ix_operations_response_times_hour', ['hour'], unique=False)

    op.create_table('usage_counts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('hour', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('component', sa.String(length=50), nullable=False),
    sa.Column('metric', sa.String(length=50), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_counts'))
    )
    with op.batch_alter_table('usage_counts', schema=None) as batch_op:
        batch_op.create_index('ix_usage_counts_component_metric_hour', ['component', 'metric', 'hour'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('traceparent', sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('traceparent')
    with op.batch_alter_table('usage_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_counts_component_metric_hour')
    op.drop_table('usage_counts')
    with op.batch_alter_table('operations_response_times', schema=None) as batch_op:
        batch_op.drop_index('ix_operations_response_times_hour')
    op.drop_table('operations_response_times')
    with op.batch_alter_table('operations_health_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_operations_health_samples_taken_at')
    op.drop_table('operations_health_samples')
    with op.batch_alter_table('operations_incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_operations_incidents_opened_at')
    op.drop_table('operations_incidents')
