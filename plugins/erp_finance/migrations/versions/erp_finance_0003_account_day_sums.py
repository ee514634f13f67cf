"""Daily sums per account: what the posted entries of each day debited and credited.

Filled here from the entries already posted; from now on kept as entries are posted.

Revision ID: erp_finance_0003
Revises: erp_finance_0002
Create Date: 2026-12-02 05:50:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = 'erp_finance_0003'
down_revision = 'erp_finance_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('finance_account_day',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('debit', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('credit', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['finance_account.id'], name=op.f('fk_finance_account_day_account_id_finance_account')),
    sa.PrimaryKeyConstraint('account_id', 'day', name=op.f('pk_finance_account_day'))
    )
    op.execute(
        "INSERT INTO finance_account_day (account_id, day, debit, credit) "
        "SELECT l.account_id, e.date, SUM(l.debit), SUM(l.credit) "
        "FROM finance_entry_line l JOIN finance_entry e ON e.id = l.entry_id "
        "WHERE e.state = 'posted' GROUP BY l.account_id, e.date")


def downgrade():
    op.drop_table('finance_account_day')
