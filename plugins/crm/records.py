"""How CRM records are listed, searched, filtered and edited (see ``core.records``)."""
import sqlalchemy as sa

from core.auth.models import User
from core.db import db
from core.records import Column, FormField, RecordType
from plugins.crm import services
from plugins.crm.models import INDUSTRIES, SIZES, Account
from plugins.crm.schemas import AccountSchema


def _users():
    return [(str(u.id), u.name) for u in db.session.execute(
        sa.select(User.id, User.name).where(User.active.is_(True)).order_by(User.name))]


def _choices(values):
    return lambda: [(v, v) for v in values]


ACCOUNT = RecordType(
    plugin="crm", blueprint="crm", name="account", plural="accounts", model=Account, schema=AccountSchema,
    create=services.create_account, update=services.update_account,
    columns=(Column("name", "Name", sort="name", link=True), Column("domain", "Domain", sort="domain"),
             Column("industry", "Industry", sort="industry"), Column("phone", "Phone"),
             Column("owner_name", "Owner")),
    form=(FormField("name", "Name", required=True), FormField("domain", "Domain"),
          FormField("industry", "Industry", "select", options=_choices(INDUSTRIES)),
          FormField("size", "Size", "select", options=_choices(SIZES)),
          FormField("phone", "Phone"), FormField("address", "Address", "textarea"),
          FormField("tags", "Tags", help="Comma-separated"),
          FormField("owner_id", "Owner", "select", options=_users)),
    search=(Account.name, Account.domain, Account.tags),
    sortable={"id": Account.id, "name": Account.name, "domain": Account.domain,
              "industry": Account.industry, "updated_at": Account.updated_at},
    filters={"industry": Account.industry, "owner_id": Account.owner_id},
    default_sort="name",
    detail_fields=(("name", "Name"), ("domain", "Domain"), ("industry", "Industry"),
                   ("size", "Size"), ("phone", "Phone"), ("address", "Address"),
                   ("tags", "Tags"), ("owner_name", "Owner")),
)
