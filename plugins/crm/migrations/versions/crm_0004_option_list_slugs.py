"""Option lists: sources, industries, channels and lost reasons become lists an admin
edits, and every stored value becomes its slug ("Cold call" -> cold_call).

Seeds ``core_option`` with the lists (an option already there is left as it is), then
converts each column holding their values. A value that matches no option (a label
typed before the lists were enforced) becomes an inactive option of its own, so no
record loses what it said; a free-text lost reason that matches none becomes ``other``
with the text kept as the deal's ``lost_note``. Cases' "in progress" becomes
``in_progress``; automation rules matching a source or an industry match its slug.

Revision ID: crm_0004
Revises: crm_0003
Create Date: 2026-12-10 09:00:00.000000
"""
import datetime as dt
import re

import sqlalchemy as sa
from alembic import op


revision = 'crm_0004'
down_revision = 'crm_0003'
branch_labels = None
depends_on = 'core_0005'

LISTS = {
    'crm.source': (('website', 'Website'), ('referral', 'Referral'), ('event', 'Event'),
                   ('cold_call', 'Cold call'), ('email', 'Email'), ('partner', 'Partner'),
                   ('advertising', 'Advertising'), ('other', 'Other')),
    'crm.industry': (('manufacturing', 'Manufacturing'), ('retail', 'Retail'), ('wholesale', 'Wholesale'),
                     ('services', 'Services'), ('technology', 'Technology'), ('healthcare', 'Healthcare'),
                     ('construction', 'Construction'), ('hospitality', 'Hospitality'), ('other', 'Other')),
    'crm.channel': (('email', 'Email'), ('event', 'Event'), ('web', 'Web'), ('social', 'Social'),
                    ('print', 'Print'), ('partner', 'Partner'), ('other', 'Other')),
    'crm.lost_reason': (('price', 'Price'), ('competitor', 'Went with a competitor'), ('timing', 'Timing'),
                        ('budget', 'No budget'), ('no_decision', 'No decision'), ('fit', 'Not a fit'),
                        ('other', 'Other')),
}
COLUMNS = {
    'crm.source': (('crm_contact', 'source'), ('crm_lead', 'source'), ('crm_deal', 'source')),
    'crm.industry': (('crm_account', 'industry'), ('crm_lead', 'industry')),
    'crm.channel': (('crm_campaign', 'channel'),),
}
RULE_FIELDS = {'source': 'crm.source', 'industry': 'crm.industry'}

option = sa.table('core_option', sa.column('id', sa.Integer), sa.column('list_key', sa.String),
                  sa.column('slug', sa.String), sa.column('label', sa.String),
                  sa.column('position', sa.Integer), sa.column('active', sa.Boolean),
                  sa.column('created_at', sa.DateTime))


def _slug(text):
    return '_'.join(re.findall(r'[a-z0-9]+', text.casefold()))[:40].strip('_') or 'value'


def _options(conn, key):
    """{slug: label} of a list as stored now."""
    rows = conn.execute(sa.select(option.c.slug, option.c.label).where(option.c.list_key == key))
    return dict(rows.all())


def _add(conn, key, slug, label, active):
    position = conn.execute(sa.select(sa.func.coalesce(sa.func.max(option.c.position), -1))
                            .where(option.c.list_key == key)).scalar() + 1
    conn.execute(option.insert().values(list_key=key, slug=slug, label=label[:80], position=position,
                                        active=active, created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)))


def _to_slugs(conn, key, table, column):
    """Each value of ``table.column`` as the slug of the option whose slug or label it is."""
    for slug, label in _options(conn, key).items():
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :slug WHERE {column} <> :slug "
                             f"AND lower({column}) IN (:slug, :label)"), {"slug": slug, "label": label.lower()})


def _leftovers(conn, key, table, column):
    """Values that are no option: each becomes an inactive option, labelled as it was."""
    known = _options(conn, key)
    values = conn.execute(sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL "
                                  f"AND {column} <> ''")).scalars().all()
    for value in (v for v in values if v not in known):
        slug, n = _slug(value)[:36], 2
        while slug in known:
            slug, n = f"{_slug(value)[:36]}_{n}", n + 1
        _add(conn, key, slug, value.strip() or slug, False)
        known[slug] = value
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :slug WHERE {column} = :value"),
                     {"slug": slug, "value": value})


def upgrade():
    with op.batch_alter_table('crm_deal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lost_note', sa.String(length=500), nullable=True))
    conn = op.get_bind()
    for key, seeds in LISTS.items():
        present = _options(conn, key)
        for slug, label in seeds:
            if slug not in present:
                _add(conn, key, slug, label, True)
    for key, columns in COLUMNS.items():
        for table, column in columns:
            _to_slugs(conn, key, table, column)
        for table, column in columns:
            _leftovers(conn, key, table, column)
    _to_slugs(conn, 'crm.lost_reason', 'crm_deal', 'lost_reason')
    slugs = list(_options(conn, 'crm.lost_reason'))
    conn.execute(sa.text("UPDATE crm_deal SET lost_note = lost_reason, lost_reason = 'other' "
                         "WHERE lost_reason IS NOT NULL AND lost_reason <> '' AND lost_reason NOT IN :slugs")
                 .bindparams(sa.bindparam('slugs', expanding=True)), {"slugs": slugs})
    conn.execute(sa.text("UPDATE crm_case SET status = 'in_progress' WHERE lower(status) = 'in progress'"))
    for field, key in RULE_FIELDS.items():
        for slug, label in _options(conn, key).items():
            conn.execute(sa.text("UPDATE crm_automation_rule SET match_value = :slug WHERE match_field = :field "
                                 "AND lower(trim(match_value)) IN (:slug, :label)"),
                         {"slug": slug, "label": label.lower(), "field": field})


def downgrade():
    conn = op.get_bind()
    for field, key in RULE_FIELDS.items():
        for slug, label in _options(conn, key).items():
            conn.execute(sa.text("UPDATE crm_automation_rule SET match_value = :label "
                                 "WHERE match_field = :field AND match_value = :slug"),
                         {"slug": slug, "label": label, "field": field})
    conn.execute(sa.text("UPDATE crm_case SET status = 'in progress' WHERE status = 'in_progress'"))
    columns = {**COLUMNS, 'crm.lost_reason': (('crm_deal', 'lost_reason'),)}
    for key, pairs in columns.items():
        for slug, label in _options(conn, key).items():
            for table, column in pairs:
                conn.execute(sa.text(f"UPDATE {table} SET {column} = :label WHERE {column} = :slug"),
                             {"slug": slug, "label": label})
    conn.execute(option.delete().where(option.c.list_key.in_(list(LISTS))))
    with op.batch_alter_table('crm_deal', schema=None) as batch_op:
        batch_op.drop_column('lost_note')
