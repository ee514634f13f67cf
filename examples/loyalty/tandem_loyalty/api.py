"""``/api/v1/loyalty``: points per CRM account."""
import marshmallow as ma

from core.api import ApiBlueprint, page_schema
from core.permissions import requires
from tandem_loyalty import services
from tandem_loyalty.schemas import AccountPointsDetailSchema, AccountPointsSchema, BalanceListArgs

blp = ApiBlueprint("loyalty", __name__)


@blp.route("/accounts")
@requires("loyalty.points.read")
@blp.arguments(BalanceListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(AccountPointsSchema))
def list_balances(args):
    """Accounts with points, most points first."""
    return services.balance_page(args)


@blp.route("/accounts/<int:account_id>")
@requires("loyalty.points.read")
@blp.response(200, AccountPointsDetailSchema)
def account_points(account_id):
    """An account's points and its latest movements (0 points when it has none)."""
    return services.account_points(account_id)
