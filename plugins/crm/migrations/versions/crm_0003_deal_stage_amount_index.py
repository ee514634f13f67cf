"""Indexes for the deal lists and the forecast.

A stage's deals, largest first, without a sort; the pipeline forecast by month read from
an index covering the columns it sums (owner included, for record rules).

Revision ID: crm_0003
Revises: crm_0002
Create Date: 2026-12-02 05:50:00.000000
"""
from alembic import op


revision = 'crm_0003'
down_revision = 'crm_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_crm_deal_stage_amount', 'crm_deal', ['stage_id', 'amount', 'id'], unique=False)
    op.create_index('ix_crm_deal_forecast', 'crm_deal',
                    ['stage_id', 'expected_close', 'currency', 'amount', 'probability', 'owner_id'], unique=False)


def downgrade():
    op.drop_index('ix_crm_deal_forecast', table_name='crm_deal')
    op.drop_index('ix_crm_deal_stage_amount', table_name='crm_deal')
