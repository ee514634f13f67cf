"""CRM deal events: the checks before a win, and the order a won deal becomes.

``create_order`` runs inside the win's transaction (``on_deal_won``): any failing step
raises a RuleViolation naming the step, and the whole win rolls back.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import RuleViolation, TandemError
from core.states import lock, require_state
from plugins.bridge import services
from plugins.bridge.models import Contract, OrderInvoice, SalesOrder, SalesOrderLine
from plugins.crm.hookspecs import DealProblem, DealToWin
from plugins.crm.models import Deal, Quote

ZERO = Decimal("0")


def accepted_quote(deal_id: int) -> Quote | None:
    """The deal's accepted quote (the latest one), if any."""
    return db.session.scalar(sa.select(Quote).where(Quote.deal_id == deal_id, Quote.state == "accepted")
                             .order_by(Quote.id.desc()).limit(1))


def order_for_deal(deal_id: int) -> SalesOrder | None:
    """The order a won deal became, if any."""
    return db.session.scalar(sa.select(SalesOrder).where(SalesOrder.deal_id == deal_id))


def _stock_product(ref: str | None):
    """The stocked inventory product a line's reference names (None for services/free text)."""
    if not ref or not services.installed("erp_inventory"):
        return None
    from plugins.erp_inventory import services as inventory

    product = inventory.product_by_sku(ref)
    return product if product is not None and product.type != "service" else None


# --- check_deal_won ---

OVERRIDE = "bridge.override"


def problems(deal: DealToWin) -> list[DealProblem]:
    """Credit limit and overdue invoices (finance), stock shortages (inventory). Changes
    nothing; holds the finance customer's row until the transaction ends."""
    found = []
    settings = services.get_settings()
    if services.installed("erp_finance") and deal.account_id is not None:
        found += _credit_problems(deal, settings.overdue_days)
    if services.installed("erp_inventory"):
        quote = accepted_quote(deal.deal_id)
        for line in quote.lines if quote else []:
            found += _shortage(line.product_ref, line.quantity, settings.shortage_blocking)
    return found


def _credit_problems(deal: DealToWin, overdue_days: int) -> list[DealProblem]:
    fin = services.finance()
    customer_id = services.account_customer_id(deal.account_id)
    if customer_id is None:
        return []
    fin.lock_customer(customer_id)  # concurrent wins for one customer check its credit one after another
    status = fin.customer_status(customer_id)
    found = []
    amount = deal.amount * fin.rate_for(deal.currency, dt.date.today()) \
        if deal.currency != status.currency else deal.amount
    # a limit of 0 means credit is not managed for this customer: nothing to check
    if status.credit_limit > 0:
        pending = _won_not_invoiced(customer_id, status.currency)
        if status.balance + pending + amount > status.credit_limit:
            owed = f"the customer owes {status.balance} {status.currency}" + (
                f" and has {pending:.2f} won but not yet invoiced" if pending else "")
            found.append(DealProblem(
                code="credit_limit", plugin="bridge", override_permission=OVERRIDE,
                message=f"{owed}; with this deal ({amount:.2f}) that is over its credit limit "
                        f"of {status.credit_limit}"))
    min_days = max(overdue_days, 1)
    # the status already knows the oldest overdue day: list the invoices only when one is late enough
    overdue = fin.overdue_invoices(min_days=min_days, customer_id=customer_id) \
        if status.oldest_overdue_days >= min_days else []
    if overdue:
        numbers = ", ".join(r["number"] for r in overdue[:5])
        found.append(DealProblem(code="overdue_invoices", plugin="bridge", override_permission=OVERRIDE,
                                 message=f"invoices overdue by more than {overdue_days} days: {numbers}"))
    return found


def _won_not_invoiced(customer_id: int, currency: str) -> Decimal:
    """What the customer's open orders will still invoice (net, in ``currency``): orders
    invoiced on delivery count against the credit limit from the day they are won."""
    fin = services.finance()
    pending = ZERO
    orders = db.session.scalars(sa.select(SalesOrder).where(
        SalesOrder.customer_id == customer_id, SalesOrder.state == "open",
        SalesOrder.invoice_policy == "on_delivery",
        ~sa.exists().where(Contract.deal_id == SalesOrder.deal_id))  # contracts bill by schedule
        .options(sa.orm.selectinload(SalesOrder.lines)))
    for order in orders:
        rate = fin.rate_for(order.currency, dt.date.today()) if order.currency != currency else 1
        pending += sum((line.net * (line.quantity - line.invoiced) / line.quantity * rate
                        for line in order.lines if line.quantity > line.invoiced), ZERO)
    return pending.quantize(Decimal("0.01"))


def _shortage(ref: str | None, quantity: Decimal, blocking: bool) -> list[DealProblem]:
    product = _stock_product(ref)
    if product is None or product.type != "stockable":
        return []
    from plugins.erp_inventory import services as inventory

    free = inventory.availability(product.id).available
    if free >= quantity:
        return []
    return [DealProblem(code="stock_shortage", plugin="bridge", blocking=blocking,
                        override_permission=OVERRIDE,
                        message=f"{product.sku}: {quantity} ordered, {max(free, ZERO)} available")]


# --- on_deal_won ---


def _step(name: str, action, *args):
    """Run one step of the hand-off; a failure names the step in the reason."""
    try:
        return action(*args)
    except TandemError as exc:
        if str(exc.code).startswith("bridge_") and str(exc.code).endswith("_failed"):
            raise  # a step inside this one already named itself
        raise RuleViolation(f"{name}: {exc.message}", code=f"bridge_{name}_failed") from exc
    except Exception as exc:  # noqa: BLE001 - any failure refuses the win with a reason
        raise RuleViolation(f"{name}: {type(exc).__name__}: {exc}", code=f"bridge_{name}_failed") from exc


def create_order(deal_id: int, override_reason: str | None = None) -> SalesOrder:
    """The order of a won deal, from its accepted quote (or its amount as one line);
    with inventory stock is reserved and a delivery prepared; with finance the customer is
    linked and the invoice made (now, or on delivery), or a billing schedule for a contract.

    Idempotent: a deal that has its order gets nothing more.
    """
    existing = order_for_deal(deal_id)
    if existing is not None:
        return existing
    deal = db.session.get(Deal, deal_id)
    settings = services.get_settings()
    order = _step("order", _new_order, deal, settings.invoice_policy, override_reason)
    if services.installed("erp_inventory"):
        _step("stock", reserve_and_deliver, order)
    if services.installed("erp_finance") and deal.account_id is not None:
        order.customer_id = _step("customer", services.account_customer_id, deal.account_id, True)
        contract = contract_of(deal.id)
        if contract is not None:
            _step("schedule", _schedule_contract, order, contract)
        elif settings.invoice_policy == "on_order" or not any(l.delivered < l.quantity and _stock_product(l.product_ref)
                                                                for l in order.lines):
            _step("invoice", invoice_order, order, None, None)
    db.session.flush()
    return order


def _new_order(deal: Deal, policy: str, override_reason: str | None) -> SalesOrder:
    quote = accepted_quote(deal.id)
    order = SalesOrder(number=f"SO-{deal.id:05d}", deal_id=deal.id, account_id=deal.account_id,
                       quote_id=quote.id if quote else None, currency=quote.currency if quote else deal.currency,
                       invoice_policy=policy, state="open", override_reason=override_reason)
    if quote is not None:
        order.lines = [SalesOrderLine(position=l.position, description=l.description, product_ref=l.product_ref,
                                      quantity=l.quantity, unit_price=l.unit_price, discount=l.discount,
                                      tax_rate=l.tax_rate, net=l.net) for l in quote.lines]
    elif deal.amount > 0:
        order.lines = [SalesOrderLine(position=0, description=deal.title, quantity=Decimal("1"),
                                      unit_price=deal.amount, net=deal.amount)]
    order.amount = sum((l.net for l in order.lines), Decimal("0.00"))
    db.session.add(order)
    db.session.flush()
    return order


def reserve_and_deliver(order: SalesOrder) -> None:
    """Reserve what is available of each product line and prepare its delivery (ready);
    the shortfall goes on a draft backorder delivery, reserved when it is confirmed."""
    from plugins.erp_inventory import services as inventory

    ready, short = [], []
    products = {line.id: _stock_product(line.product_ref) for line in order.lines}
    # what is free is read under the products' locks, so the reservation below gets it all
    # (two wins of the last units: the second reserves what is left and backorders the rest)
    inventory.lock_products(p.id for p in products.values() if p is not None)
    for line in order.lines:
        product = products[line.id]
        if product is None:
            continue
        free = inventory.availability(product.id).available if product.type == "stockable" else line.quantity
        take = min(line.quantity, max(free, ZERO))
        if take > 0:
            _step("reservation", inventory.reserve_stock, order.number, product.id, take)
            ready.append({"product_id": product.id, "quantity": take})
        if line.quantity > take:
            short.append({"product_id": product.id, "quantity": line.quantity - take})
        line.reserved, line.backordered = take, line.quantity - take
    first = _step("delivery", inventory.create_delivery, order.number, ready) if ready else None
    if short:
        _step("delivery", inventory.create_document, {
            "kind": "delivery", "reference": order.number, "lines": short,
            "backorder_of_id": first.id if first else None, "notes": f"Backorder of {order.number}"})


def _sale_tax_id(rate: Decimal) -> int | None:
    """The active sale tax of finance with this rate (None for 0 %)."""
    from plugins.erp_finance import services as finance

    return finance.sale_tax_for_rate(rate)


def invoice_order(order: SalesOrder, quantities: dict[int, Decimal] | None, delivery_id: int | None):
    """Invoice and post ``quantities`` of the order's lines (line id -> quantity; None: all
    that is not invoiced yet). Returns the OrderInvoice, or None when nothing is due."""
    fin = services.finance()
    rows, billed = [], []
    for line in order.lines:
        wanted = (line.quantity - line.invoiced) if quantities is None else quantities.get(line.id, ZERO)
        if wanted <= 0:
            continue
        rows.append({"description": line.description, "product_ref": line.product_ref, "quantity": wanted,
                     "unit_price": line.unit_price, "discount": line.discount,
                     "tax_id": _sale_tax_id(line.tax_rate)})
        billed.append((line, wanted))
    if not rows or sum((l.unit_price * q for l, q in billed), ZERO) <= 0:
        return None
    invoice = fin.create_invoice({"customer_id": order.customer_id, "currency": order.currency,
                                  "reference": order.number, "lines": rows})
    record = OrderInvoice(order_id=order.id, invoice_id=invoice.id, delivery_id=delivery_id,
                          state="draft", amount=invoice.amount_total)
    order.invoices.append(record)
    for line, wanted in billed:
        line.invoiced += wanted
    db.session.flush()
    fin.post_invoice(invoice)  # on_invoice_posted finds the record and notes it on the deal
    record.number, record.state = invoice.number, invoice.state
    db.session.flush()
    return record


def _schedule_contract(order: SalesOrder, contract: Contract) -> None:
    from plugins.erp_finance.schedules import add_months

    fin = services.finance()
    contract.starts_on = dt.date.today()
    contract.ends_on = add_months(contract.starts_on, contract.term_months) - dt.timedelta(days=1)
    schedule = fin.create_schedule({
        "name": f"{order.number} contract", "customer_id": order.customer_id, "period": contract.period,
        "start_date": contract.starts_on, "end_date": contract.ends_on, "currency": order.currency,
        "lines": [{"description": l.description, "product_ref": l.product_ref, "quantity": l.quantity,
                   "unit_price": l.unit_price, "discount": l.discount, "tax_id": _sale_tax_id(l.tax_rate)}
                  for l in order.lines]})
    contract.schedule_id = schedule.id
    db.session.flush()


def mark_recurring(deal_id: int, period: str, term_months: int) -> Contract:
    """Mark an open deal recurring: once won it is billed by a schedule and renewed."""
    from core.errors import ValidationFailed
    from plugins.bridge.models import PERIODS

    from plugins.crm.records import DEAL

    deal = DEAL.get(deal_id)  # within the user's record rules: 404 for someone else's deal
    if period not in PERIODS:
        raise ValidationFailed({"period": [f"Choose one of {', '.join(PERIODS)}."]})
    if not 1 <= int(term_months) <= 120:
        raise ValidationFailed({"term_months": ["Between 1 and 120 months."]})
    lock(deal)  # two clicks at once make one contract
    require_state(deal, ("open",), "made recurring")
    contract = contract_of(deal_id) or Contract(deal_id=deal_id)
    contract.period, contract.term_months = period, int(term_months)
    db.session.add(contract)
    db.session.flush()
    return contract


def contract_of(deal_id: int) -> Contract | None:
    """The contract of a deal marked recurring, if any."""
    return db.session.scalar(sa.select(Contract).where(Contract.deal_id == deal_id))
