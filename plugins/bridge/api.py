"""``/api/v1/bridge``: account links and sync, settings, orders, status, reconciliation."""
import sqlalchemy as sa

from core.api import ApiBlueprint
from core.db import db
from core.errors import NotFound
from core.permissions import requires
from plugins.bridge import cases, deals, handoffs, reconcile, revenue, services, status
from plugins.bridge.models import AccountLink, SalesOrder
from plugins.bridge.schemas import (AccountLinkSchema, AccountStatusSchema, BridgeSettingsSchema,
                                    CaseResolutionSchema, ContractSchema, CreditableInvoiceSchema,
                                    DriftSchema, HandoffFailureSchema, HealthSchema,
                                    OrderStatusSchema, ReconcileArgsSchema, ResolvedCaseSchema,
                                    RevenueArgsSchema, RevenueViewSchema, SalesOrderSchema,
                                    SyncResultSchema, SyncSchema)

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
    """Link an account to its finance customer (matched by link, tax id, domain, name, or
    created); repeating is harmless."""
    return services.link_account(data["account_id"], data.get("tax_id"))


@blp.route("/links/<int:link_id>/sync")
@requires("bridge.link.read")
@blp.response(200, SyncResultSchema)
def sync_status(link_id):
    """The shared fields in conflict (changed on both sides since the last sync)."""
    return {"conflicts": services.sync_status(services.get_link(link_id))}


@blp.route("/links/<int:link_id>/sync", methods=["POST"])
@requires("bridge.link.write")
@blp.arguments(SyncSchema)
@blp.response(200, SyncResultSchema)
def sync_link(data, link_id):
    """Sync the shared fields; ``resolve`` picks the winning side of conflicts."""
    return {"conflicts": services.sync_link(services.get_link(link_id), data["resolve"])}


@blp.route("/settings")
@requires("bridge.order.read")
@blp.response(200, BridgeSettingsSchema)
def get_settings():
    """The invoice policy, shortage handling, overdue days and renewal notice."""
    return services.get_settings()


@blp.route("/settings", methods=["PATCH"])
@requires("bridge.settings.write")
@blp.arguments(BridgeSettingsSchema)
@blp.response(200, BridgeSettingsSchema)
def update_settings(data):
    """Change the bridge settings."""
    return services.update_settings(data)


@blp.route("/orders")
@requires("bridge.order.read")
@blp.response(200, SalesOrderSchema(many=True))
def list_orders():
    """The orders won deals became, newest first (at most 200)."""
    return db.session.scalars(sa.select(SalesOrder).order_by(SalesOrder.id.desc()).limit(200)).all()


@blp.route("/orders/<int:order_id>")
@requires("bridge.order.read")
@blp.response(200, SalesOrderSchema)
def get_order(order_id):
    """One order with its lines and invoices."""
    order = db.session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


@blp.route("/deals/<int:deal_id>/status")
@requires("bridge.order.read")
@blp.response(200, OrderStatusSchema)
def deal_status(deal_id):
    """The order of a deal with its delivery, invoice and payment state (404 without order)."""
    found = status.deal_status(deal_id)
    if found is None:
        raise NotFound(f"deal {deal_id} has no order")
    return found


@blp.route("/deals/<int:deal_id>/contract", methods=["POST"])
@requires("bridge.order.write")
@blp.arguments(ContractSchema)
@blp.response(200, ContractSchema)
def mark_recurring(data, deal_id):
    """Mark an open deal recurring (billing period and term in months)."""
    return deals.mark_recurring(deal_id, data["period"], data["term_months"])


@blp.route("/cases/<int:case_id>/invoices")
@requires(cases.CREDIT_PERMISSION)
@blp.response(200, CreditableInvoiceSchema(many=True))
def creditable_invoices(case_id):
    """The posted invoices of the case account's customer that can still be credited, newest
    first, with their lines: what a resolution's credit may name."""
    from plugins.crm.records import CASE

    return cases.creditable_invoices(CASE.get(case_id).account_id)


@blp.route("/cases/<int:case_id>/resolve", methods=["POST"])
@requires("crm.case.write")
@blp.arguments(CaseResolutionSchema)
@blp.response(200, ResolvedCaseSchema)
def resolve_case(data, case_id):
    """Resolve a case and, with ``credit`` (needs ``bridge.case.credit``), issue and post the
    credit note it agreed on one of its account's invoices, in one transaction: the whole
    invoice, chosen lines and quantities, or an amount spread over its taxes. Sending the
    same resolution again changes nothing."""
    from plugins.crm.records import CASE

    case = cases.resolve_case(CASE.get(case_id), data["resolution"], data["credit"])
    return {"id": case.id, "subject": case.subject, "account_id": case.account_id, "status": case.status,
            "resolution": case.resolution, "resolved_at": case.resolved_at,
            "credit_note": cases.credit_of_case(case.id)}


@blp.route("/accounts/<int:account_id>/status")
@requires("bridge.order.read")
@blp.response(200, AccountStatusSchema)
def account_status(account_id):
    """An account's financial status (when finance is installed and it is linked) and orders."""
    return {"account_id": account_id, "financial": status.financial_status(account_id),
            "orders": status.account_orders(account_id)}


@blp.route("/reconcile")
@requires("bridge.reconcile.run")
@blp.response(200, DriftSchema(many=True))
def list_drift():
    """Every drift between CRM and the ERP side, with its reason."""
    return reconcile.reconcile(fix=False)


@blp.route("/reconcile", methods=["POST"])
@requires("bridge.reconcile.run")
@blp.arguments(ReconcileArgsSchema)
@blp.response(200, DriftSchema(many=True))
def run_reconcile(data):
    """Reconcile; with ``fix`` repair what is safe to repair."""
    return reconcile.reconcile(fix=data["fix"])


@blp.route("/revenue")
@requires("bridge.revenue.read")
@blp.arguments(RevenueArgsSchema, location="query")
@blp.response(200, RevenueViewSchema)
def revenue_view(args):
    """Per month: open pipeline and weighted forecast next to recognised revenue; and the open
    invoices (expected payments) each traced to its deal and rep."""
    return revenue.revenue_view(args.get("date_from"), args.get("date_to"))


@blp.route("/health")
@requires("bridge.order.read")
@blp.response(200, HealthSchema)
def health():
    """Integration health: hand-offs still to retry, recently resolved ones, the latest
    events the bridge acts on, and how many drifts the reconciliation finds."""
    return handoffs.health()


@blp.route("/handoffs/<int:failure_id>/retry", methods=["POST"])
@requires("bridge.reconcile.run")
@blp.response(200, HandoffFailureSchema)
def retry_handoff(failure_id):
    """Run a failed hand-off again; ``resolved_at`` is set when it went through (409 when it
    already had)."""
    return handoffs.retry(failure_id)
