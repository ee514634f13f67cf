"""Demo data: the quote-to-cash story run end to end through the services, as a team would.

Open CRM demo deals with an account are taken in order: two get a two-product quote from
the inventory catalogue, one is marked recurring; they are won (orders, reservations,
deliveries, invoices); one delivery ships; one invoice is paid in full and one in part;
a service case on a paid deal is resolved with a credit (a credit note in finance); and
the renewals job opens the renewal deal of the contract ending soonest. Each step runs in
a savepoint: one the bridge refuses (over a credit limit, say) leaves the rest standing.
"""
from __future__ import annotations

import logging
from decimal import Decimal

import sqlalchemy as sa

from core.db import db, in_savepoint
from plugins.bridge import services
from plugins.bridge.models import SalesOrder
from plugins.crm.models import Deal, Stage

log = logging.getLogger(__name__)


def _attempt(step: str, action, *args):
    """Run one demo step in a savepoint; a refusal is logged and the story goes on."""
    result, exc = in_savepoint(action, *args)
    if exc is not None:  # a refused step is part of the story
        log.info("demo step %s skipped: %s", step, exc)
    return result


def load(progress) -> None:
    """Run the quote-to-cash story on up to six open demo deals (see the module docstring)."""
    deals = db.session.scalars(sa.select(Deal).join(Stage, Stage.id == Deal.stage_id).where(
        Stage.is_won.is_(False), Stage.is_lost.is_(False), Deal.account_id.is_not(None), Deal.amount > 0)
        .order_by(Deal.id).limit(6)).all()
    if not deals:
        return
    catalog = _stock_catalog()
    for deal, products in zip(deals[:2], (catalog[:2], catalog[2:4])):
        if len(products) == 2:
            _attempt("quote", _quote, deal, products)
    _attempt("contract", _recurring, deals[-1])
    progress(1)
    from plugins.crm.services import win_deal

    for deal in deals:
        _attempt("win", win_deal, deal)
        progress(1)
    orders = db.session.scalars(sa.select(SalesOrder).where(SalesOrder.deal_id.in_([d.id for d in deals]))
                                .order_by(SalesOrder.id)).all()
    if services.installed("erp_inventory"):
        shipped = next((o for o in orders if _attempt("delivery", _ship, o)), None)
        log.info("demo delivery shipped for %s", shipped.number if shipped else "no order")
    if services.installed("erp_finance"):
        invoiced = [o for o in orders if o.invoices]
        for order, share in zip(invoiced, (Decimal("1"), Decimal("0.5"))):
            _attempt("payment", _pay, order, share)
        if invoiced:
            _attempt("case credit", _credit_case, invoiced[0])
    from plugins.bridge.contracts import open_renewals

    _attempt("renewal", open_renewals, _soonest_contract_end())
    progress(1)


def _stock_catalog() -> list:
    """Stockable inventory products with stock to sell, cheapest first."""
    if not services.installed("erp_inventory"):
        return []
    from plugins.erp_inventory import services as inventory

    found = [p for p in inventory.search_catalog("", 60)
             if p.type == "stockable" and inventory.availability(p.id).available >= 5]
    return sorted(found, key=lambda p: (p.sale_price, p.sku))[:4]


def _quote(deal: Deal, products: list) -> None:
    from plugins.crm.work import accept_quote, create_quote, send_quote

    quote = create_quote({"deal_id": deal.id, "lines": [
        {"description": p.name, "product_ref": p.sku, "quantity": Decimal(n), "unit_price": p.sale_price}
        for p, n in zip(products, (2, 3))]})
    accept_quote(send_quote(quote))


def _recurring(deal: Deal) -> None:
    from plugins.bridge.deals import mark_recurring

    mark_recurring(deal.id, "monthly", 1)  # a one-month trial: its renewal is due now


def _ship(order: SalesOrder) -> bool:
    """Ship the order's ready delivery, if it has one."""
    from plugins.erp_inventory import services as inventory

    status = inventory.delivery_status(order.number)
    ready = [d for d in (status.documents if status else ()) if d["state"] == "ready"]
    if ready:
        inventory.validate_document(inventory.get_document(ready[0]["id"]))
    return bool(ready)


def _pay(order: SalesOrder, share: Decimal) -> None:
    fin = services.finance()
    record = order.invoices[0]
    invoice = fin.get_invoice(record.invoice_id)
    amount = ((invoice.amount_total - invoice.amount_paid) * share).quantize(Decimal("0.01"))
    if amount > 0:
        fin.register_payment({"customer_id": invoice.customer_id, "amount": amount,
                              "allocations": [{"invoice_id": invoice.id, "amount": amount}]})


def _credit_case(order: SalesOrder) -> None:
    from plugins.bridge.cases import resolve_case
    from plugins.crm.services import create_case

    record = order.invoices[0]
    credit = min(Decimal("25.00"), (record.amount / 10).quantize(Decimal("0.01")))
    case = create_case({"subject": f"Damaged item on {order.number}", "account_id": order.account_id,
                        "priority": "high"})
    resolve_case(case, "Apologised for the damaged item; agreed a credit.",
                 {"invoice_id": record.invoice_id, "mode": "amount", "amount": credit,
                  "reason": f"Damaged item on {order.number}"})


def _soonest_contract_end():
    """Today, or later if needed for the soonest contract end to fall in the notice period."""
    import datetime as dt

    from plugins.bridge.models import Contract

    today = dt.date.today()
    ends = db.session.scalar(sa.select(sa.func.min(Contract.ends_on)))
    notice = dt.timedelta(days=services.get_settings().renewal_days)
    return max(today, ends - notice) if ends else today
