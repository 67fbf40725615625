"""authorization: the agents (medarbeidere) a firm passes its clients' packages on to

Client packages may now go only to persons the firm has registered as its agents. Every person who already
holds a client delegation from a firm becomes that firm's agent, added when the firm first passed them a
package, so what they hold keeps counting and removing them removes it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import felles.core.db
from felles.core.ids import uuid7

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_ACTOR = 'system:migration-0010'


def upgrade() -> None:
    agents = op.create_table('authz_client_agents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('firm', sa.String(length=9), nullable=False),
    sa.Column('person', sa.String(length=11), nullable=False),
    sa.Column('added_by', sa.String(length=100), nullable=False),
    sa.Column('added_at', felles.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authz_client_agents')),
    sa.UniqueConstraint('firm', 'person', name='uq_authz_client_agents_firm_person')
    )
    delegations = sa.table('authz_delegations', sa.column('facilitator', sa.String()),
                           sa.column('to_party', sa.String()),
                           sa.column('created_at', felles.core.db.UTCDateTime(timezone=True)))
    existing = op.get_bind().execute(
        sa.select(delegations.c.facilitator, delegations.c.to_party, sa.func.min(delegations.c.created_at))
        .where(delegations.c.facilitator.is_not(None))
        .group_by(delegations.c.facilitator, delegations.c.to_party)).all()
    if existing:
        op.bulk_insert(agents, [{'id': uuid7(), 'firm': firm, 'person': person, 'added_by': BACKFILL_ACTOR,
                                 'added_at': first} for firm, person, first in existing])


def downgrade() -> None:
    op.drop_table('authz_client_agents')
