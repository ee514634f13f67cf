"""``/api/v1/bridge``: links between CRM and ERP records."""
import sqlalchemy as sa

from core.api import ApiBlueprint
from core.db import db
from core.permissions import requires
from plugins.bridge import services
from plugins.bridge.models import AccountLink
from plugins.bridge.schemas import AccountLinkSchema

blp = ApiBlueprint("bridge", __name__)


@blp.route("/links")
@requires("bridge.link.read")
@blp.response(200, AccountLinkSchema(many=True))
def list_links():
    """Every CRM account linked to a finance customer."""
    return db.session.scalars(sa.select(AccountLink).order_by(AccountLink.id)).all()


@blp.route("/links", methods=["POST"])
@requires("bridge.link.write")
@blp.arguments(AccountLinkSchema)
@blp.response(200, AccountLinkSchema)
def link_account(data):
    """Link an account to its finance customer (matched or created); repeating is harmless."""
    return services.link_account(data["account_id"])
