"""Bridge pages: the account links and the link action."""
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for

from core.db import db
from core.permissions import requires
from plugins.bridge import services
from plugins.bridge.models import AccountLink
from plugins.crm.models import Account

bp = Blueprint("bridge", __name__, url_prefix="/bridge", template_folder="templates")


@bp.route("/links")
@requires("bridge.link.read")
def links():
    rows = db.session.execute(
        sa.select(AccountLink, Account.name).join(Account, Account.id == AccountLink.account_id)
        .order_by(Account.name)).all()
    return render_template("bridge/links.html", rows=rows)


@bp.route("/accounts/<int:account_id>/link", methods=["POST"])
@requires("bridge.link.write")
def link_account(account_id):
    link = services.link_account(account_id)
    flash(f"Account linked to finance customer {link.customer_id} ({link.matched_by}).", "success")
    return redirect(url_for("crm.account_detail", record_id=account_id))
