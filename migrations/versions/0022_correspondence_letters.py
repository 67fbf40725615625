"""correspondence: letters (digital post to citizens and paper), their print batches and status history

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-05 12:03:37
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import felles.core.db

revision: str = '0022'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('letter_print_batches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('letter_count', sa.Integer(), nullable=False),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_print_batches'))
    )
    op.create_table('letters',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('correspondence_id', sa.Uuid(), nullable=True),
    sa.Column('sender', sa.String(length=9), nullable=False),
    sa.Column('recipient', sa.String(length=11), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('body_markdown', sa.Text(), nullable=False),
    sa.Column('documents', JSON_DOCUMENT, nullable=False),
    sa.Column('process_identifier', sa.String(length=100), nullable=False),
    sa.Column('document_type', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('mailbox_provider', sa.String(length=9), nullable=True),
    sa.Column('mailbox_address', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('unread_days', sa.Integer(), nullable=True),
    sa.Column('paper_due_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('print_reason', sa.String(length=20), nullable=True),
    sa.Column('print_requested_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('print_batch_id', sa.Uuid(), nullable=True),
    sa.Column('printed_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('print_address', JSON_DOCUMENT, nullable=True),
    sa.Column('return_address', JSON_DOCUMENT, nullable=True),
    sa.Column('business_document', JSON_DOCUMENT, nullable=True),
    sa.Column('created_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['print_batch_id'], ['letter_print_batches.id'],
                            name=op.f('fk_letters_print_batch_id_letter_print_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letters')),
    sa.UniqueConstraint('correspondence_id', name=op.f('uq_letters_correspondence_id')),
    sa.UniqueConstraint('message_id', name=op.f('uq_letters_message_id'))
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index('ix_letters_print_batch_id_print_requested_at',
                              ['print_batch_id', 'print_requested_at'], unique=False)
        batch_op.create_index('ix_letters_paper_due_at', ['paper_due_at'], unique=False)
        batch_op.create_index('ix_letters_recipient', ['recipient'], unique=False)
        batch_op.create_index('ix_letters_sender_updated_at', ['sender', 'updated_at'], unique=False)

    op.create_table('letter_statuses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('letter_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('occurred_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_at', felles.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_letter_statuses_letter_id_letters'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_statuses'))
    )
    with op.batch_alter_table('letter_statuses', schema=None) as batch_op:
        batch_op.create_index('ix_letter_statuses_letter_id', ['letter_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('letter_statuses', schema=None) as batch_op:
        batch_op.drop_index('ix_letter_statuses_letter_id')

    op.drop_table('letter_statuses')
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index('ix_letters_sender_updated_at')
        batch_op.drop_index('ix_letters_recipient')
        batch_op.drop_index('ix_letters_paper_due_at')
        batch_op.drop_index('ix_letters_print_batch_id_print_requested_at')

    op.drop_table('letters')
    op.drop_table('letter_print_batches')
