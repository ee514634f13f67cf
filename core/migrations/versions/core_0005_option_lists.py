"""Option lists: the options of the lists admins edit (sources, industries...).

The plugins declaring a list seed it in their own migrations.

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-10 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'core_0005'
down_revision = 'core_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_key', sa.String(length=80), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_option')),
    sa.UniqueConstraint('list_key', 'slug', name=op.f('uq_core_option_list_key'))
    )
    with op.batch_alter_table('core_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_option_list_key'), ['list_key'], unique=False)


def downgrade():
    with op.batch_alter_table('core_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_option_list_key'))
    op.drop_table('core_option')
