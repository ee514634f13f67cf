"""Invoice states are slugs: "partially paid" becomes ``partially_paid``.

The state check constraint changes with it. PostgreSQL drops and adds it; SQLite, which
cannot alter a constraint and would have to copy the table (its lines and allocations
refer to it), has the constraint's text rewritten in its schema, the procedure SQLite
documents for changing a CHECK constraint ("Making Other Kinds Of Table Schema Changes").

Revision ID: erp_finance_0004
Revises: erp_finance_0003
Create Date: 2026-12-10 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = 'erp_finance_0004'
down_revision = 'erp_finance_0003'
branch_labels = None
depends_on = None

NAME = 'ck_finance_invoice_state_known'
STATES = "('draft', 'posted', '{}', 'paid', 'cancelled')"


def _states(old, new):
    conn = op.get_bind()
    if conn.dialect.name == 'sqlite':
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'finance_invoice'").scalar()
        if STATES.format(old) not in sql:
            raise RuntimeError(f"finance_invoice: constraint {NAME} is not the one this migration changes")
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'finance_invoice'"),
                     {"sql": sql.replace(STATES.format(old), STATES.format(new))})
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    else:
        op.drop_constraint(op.f(NAME), 'finance_invoice', type_='check')
    conn.execute(sa.text("UPDATE finance_invoice SET state = :new WHERE state = :old"), {"new": new, "old": old})
    if conn.dialect.name != 'sqlite':
        op.create_check_constraint(op.f(NAME), 'finance_invoice', f"state IN {STATES.format(new)}")


def upgrade():
    _states('partially paid', 'partially_paid')


def downgrade():
    _states('partially_paid', 'partially paid')
