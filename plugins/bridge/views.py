"""Bridge pages: account links and sync, orders, settings, reconciliation."""
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from core.db import db
from core.errors import ValidationFailed
from core.forms import action
from core.permissions import requires
from plugins.bridge import handoffs, reconcile, revenue, services, status
from plugins.bridge.models import INVOICE_POLICIES, AccountLink, SalesOrder
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
    link = services.link_account(account_id, request.form.get("tax_id"))
    flash(f"Account linked to finance customer {link.customer_id} ({link.matched_by}).", "success")
    return redirect(url_for("crm.account_detail", record_id=account_id))


@bp.route("/links/<int:link_id>/sync", methods=["POST"])
@requires("bridge.link.write")
def sync_link(link_id):
    link = services.get_link(link_id)
    resolve = {k.removeprefix("resolve_"): v for k, v in request.form.items()
               if k.startswith("resolve_") and v in ("crm", "finance")}
    conflicts = services.sync_link(link, resolve)
    if conflicts:
        flash("Synced; conflicts left on " + ", ".join(c["field"] for c in conflicts) + ".", "warning")
    else:
        flash("Shared fields are in sync.", "success")
    return redirect(url_for("crm.account_detail", record_id=link.account_id))


@bp.route("/orders")
@requires("bridge.order.read")
def orders():
    query = (request.args.get("q") or "").strip()
    stmt = sa.select(SalesOrder).order_by(SalesOrder.id.desc())
    if query:
        stmt = stmt.where(SalesOrder.number.ilike(f"%{query}%"))
    rows = status.order_summaries(db.session.scalars(stmt.limit(100)))
    return render_template("bridge/orders.html", rows=rows, q=query)


@bp.route("/settings", methods=["GET", "POST"])
@requires("bridge.order.read")
def settings():
    current, errors = services.get_settings(), {}
    if request.method == "POST":
        from flask_login import current_user

        if not current_user.can("bridge.settings.write"):
            from werkzeug.exceptions import Forbidden

            raise Forbidden()
        try:
            form = request.form
            services.update_settings({
                "invoice_policy": form.get("invoice_policy"),
                "shortage_blocking": form.get("shortage_blocking") == "on",
                "overdue_days": int(form.get("overdue_days") or 0),
                "renewal_days": int(form.get("renewal_days") or 0)})
            flash("Bridge settings saved.", "success")
            return redirect(url_for("bridge.settings"))
        except ValueError:
            errors = {"overdue_days": ["A whole number of days."]}
        except ValidationFailed as exc:
            errors = exc.errors
        db.session.rollback()
        current = services.get_settings()
    return render_template("bridge/settings.html", settings=current, policies=INVOICE_POLICIES,
                           errors=errors), (422 if errors else 200)


@bp.route("/reconcile", methods=["GET", "POST"])
@requires("bridge.reconcile.run")
def reconcile_page():
    fix = request.method == "POST"
    found = reconcile.reconcile(fix=fix)
    if fix:
        flash(f"{sum(d['fixed'] for d in found)} drift(s) repaired.", "success")
        return redirect(url_for("bridge.reconcile_page"))
    return render_template("bridge/reconcile.html", drift=found)


@bp.route("/revenue")
@requires("bridge.revenue.read")
def revenue_page():
    import marshmallow as ma

    from plugins.bridge.schemas import RevenueArgsSchema

    try:
        args = RevenueArgsSchema().load({k: v for k, v in request.args.items() if v})
    except ma.ValidationError as exc:
        view = revenue.revenue_view()
        return render_template("bridge/revenue.html", view=view, errors=exc.messages,
                               form=request.args), 422
    view = revenue.revenue_view(args.get("date_from"), args.get("date_to"))
    return render_template("bridge/revenue.html", view=view, errors={}, form=request.args)


@bp.route("/health")
@requires("bridge.order.read")
def health():
    return render_template("bridge/health.html", health=handoffs.health())


@bp.route("/handoffs/<int:failure_id>/retry", methods=["POST"])
@requires("bridge.reconcile.run")
@action
def retry_handoff(failure_id):
    failure = handoffs.retry(failure_id)
    if failure.resolved_at:
        flash(f"{failure.event} went through on retry.", "success")
    else:
        flash(f"{failure.event} failed again: {failure.reason}", "error")
    return redirect(url_for("bridge.health"))


@bp.route("/deals/<int:deal_id>/contract", methods=["POST"])
@requires("bridge.order.write")
@action
def mark_recurring(deal_id):
    from plugins.bridge import deals

    try:
        term = int(request.form.get("term_months") or "")
    except ValueError:
        raise ValidationFailed({"term_months": ["A whole number of months, 1 to 120."]}) from None
    contract = deals.mark_recurring(deal_id, request.form.get("period", ""), term)
    flash(f"Once won, this deal is billed {contract.period} for {contract.term_months} month(s).", "success")
    return redirect(url_for("crm.deal_detail", record_id=deal_id))


# --- cases resolved with a credit note ---


@bp.route("/cases/<int:case_id>/resolve", methods=["POST"])
@requires("crm.case.write")
@action
def case_resolve(case_id):
    """CRM's resolve form as the bridge extends it: the resolution and the credit it agrees."""
    from plugins.bridge import cases
    from plugins.crm.records import CASE

    case = CASE.get(case_id)
    try:
        case = cases.resolve_case(case, request.form.get("resolution", ""), _credit_from_form())
    except ValidationFailed as exc:
        raise ValidationFailed(_readable(exc.errors)) from exc
    credit = cases.credit_of_case(case.id)
    flash(f"Case “{case.subject}” resolved" + (f" with credit note {credit.number} ({credit.amount} "
                                               f"{credit.currency})." if credit else "."), "success")
    return redirect(url_for("crm.case_detail", record_id=case.id))


def _credit_from_form() -> dict | None:
    """The credit the resolve form asks for (None: none), read by the API's schema."""
    import marshmallow as ma

    from plugins.bridge.schemas import CaseCreditSchema

    form = request.form
    mode = form.get("credit_mode", "none")
    if mode == "none":
        return None
    raw = {"invoice_id": form.get("credit_invoice_id"), "mode": mode, "reason": form.get("credit_reason")}
    if mode == "amount":
        raw["amount"] = (form.get("credit_amount") or "").strip() or None
    if mode == "lines":
        raw["lines"] = [{"line_id": key.removeprefix("credit_line_"), "quantity": value.strip()}
                        for key, value in form.items() if key.startswith("credit_line_") and value.strip()]
    try:
        return CaseCreditSchema().load({k: v for k, v in raw.items() if v is not None})
    except ma.ValidationError as exc:
        raise ValidationFailed({"credit": exc.messages}) from None


LABELS = {"credit": "", "invoice_id": "invoice", "mode": "credit", "line_id": "", "_schema": ""}


def _readable(errors: dict, path: str = "") -> dict[str, list[str]]:
    """Nested field errors flattened for a flash message, each naming its field:
    ``{"credit": {"lines": {0: {"quantity": [m]}}}}`` -> ``{"credit.lines.0.quantity": ["Line 1 quantity: m"]}``."""
    flat = {}
    for key, found in errors.items():
        name = f"{path}.{key}" if path else str(key)
        if isinstance(found, dict):
            flat.update(_readable(found, name))
        else:
            label = _label(name)
            flat[name] = [f"{label}: {m}" if label else m for m in (found if isinstance(found, list) else [found])]
    return flat


def _label(name: str) -> str:
    """``credit.lines.0.quantity`` -> "Line 1 quantity"; ``credit.amount`` -> "Amount"."""
    words: list[str] = []
    for part in name.split("."):
        if part.isdigit():
            words[-1:] = [f"line {int(part) + 1}"]  # "lines 0" reads "line 1"
        elif word := LABELS.get(part, part.replace("_", " ")):
            words.append(word)
    return " ".join(words).capitalize()
