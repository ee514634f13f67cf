"""Loyalty pages: the accounts by points."""
import marshmallow as ma
from flask import Blueprint, render_template, request

from core.errors import ValidationFailed
from core.permissions import requires
from tandem_loyalty import services
from tandem_loyalty.schemas import BalanceListArgs

bp = Blueprint("loyalty", __name__, url_prefix="/loyalty", template_folder="templates")
_ARGS = BalanceListArgs()


@bp.route("/")
@requires("loyalty.points.read")
def balances():
    """Accounts by points; a bad search or sort shows its message above the first page."""
    error = None
    try:
        args = _ARGS.load({k: v for k, v in request.args.items() if k in _ARGS.fields})
        page = services.balance_page(args)
    except (ma.ValidationError, ValidationFailed) as exc:
        error = getattr(exc, "errors", None) or exc.messages
        page = services.balance_page({})
    return render_template("loyalty/balances.html", page=page, error=error,
                           q=request.args.get("q", ""))
