"""The bridge's copy of an invoice's state speaks finance's slugs: ``partially_paid``.

Revision ID: bridge_0004
Revises: bridge_0003
Create Date: 2026-12-10 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = 'bridge_0004'
down_revision = 'bridge_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("UPDATE bridge_order_invoice SET state = 'partially_paid' WHERE state = 'partially paid'"))


def downgrade():
    op.execute(sa.text("UPDATE bridge_order_invoice SET state = 'partially paid' WHERE state = 'partially_paid'"))
