"""Hand-off failures: status updates that could not reach CRM, kept to be retried.

Revision ID: bridge_0003
Revises: bridge_0002
Create Date: 2026-11-23 17:20:23.082380
"""
import sqlalchemy as sa
from alembic import op


revision = 'bridge_0003'
down_revision = 'bridge_0002'
branch_labels = None
depends_on = ['core_0004', 'crm_0002']


def upgrade():
    op.create_table('bridge_handoff_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=100), nullable=False),
    sa.Column('event_type', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bridge_handoff_failure'))
    )
    with op.batch_alter_table('bridge_handoff_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bridge_handoff_failure_created_at'), ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('bridge_handoff_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bridge_handoff_failure_created_at'))

    op.drop_table('bridge_handoff_failure')
