"""What CRM pages show of the ERP side: an account's financial status and orders, a deal's
order, delivery, invoice and payment state."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from plugins.bridge import services
from plugins.bridge.models import SalesOrder


def delivery_states(orders: list[SalesOrder]) -> dict[str, str]:
    """The delivery state of each order by number (missing: ``none``, when nothing is to
    deliver or inventory is off), in one batch."""
    if not orders or not services.installed("erp_inventory"):
        return {}
    from plugins.erp_inventory import services as inventory

    return {ref: status.state for ref, status in inventory.delivery_statuses([o.number for o in orders]).items()}


def invoice_state(order: SalesOrder) -> str:
    """``not invoiced``, or the states of the order's invoices (``paid``, ``posted``...)."""
    states = sorted({r.state for r in order.invoices})
    return ", ".join(states) if states else "not invoiced"


def order_summaries(orders) -> list[dict]:
    """Orders with their delivery and invoice state, for panels, lists and the API; the
    same few queries for one order or a hundred."""
    orders = list(orders)
    deliveries = delivery_states(orders)
    return [{"id": order.id, "number": order.number, "deal_id": order.deal_id, "state": order.state,
             "amount": order.amount, "currency": order.currency, "invoice_policy": order.invoice_policy,
             "delivery_state": deliveries.get(order.number, "none"), "invoice_state": invoice_state(order),
             "invoices": [{"invoice_id": r.invoice_id, "number": r.number, "state": r.state,
                           "amount": r.amount} for r in order.invoices]} for order in orders]


def order_summary(order: SalesOrder) -> dict:
    """One order with its delivery and invoice state."""
    return order_summaries([order])[0]


def account_orders(account_id: int) -> list[dict]:
    """Every order of an account, newest first."""
    orders = db.session.scalars(sa.select(SalesOrder).where(SalesOrder.account_id == account_id)
                                .order_by(SalesOrder.id.desc()).limit(50))
    return order_summaries(orders)


def financial_status(account_id: int) -> dict | None:
    """Balance, overdue, credit limit, available credit, last payment and open invoices of the
    account's finance customer (None when finance is off or the account has no customer)."""
    if not services.installed("erp_finance"):
        return None
    link = services.link_for_account(account_id)
    if link is None:
        return None
    fin = services.finance()
    status = fin.customer_status(link.customer_id)
    return {"customer_id": link.customer_id, "customer": fin.get_customer(link.customer_id).name,
            "currency": status.currency, "balance": status.balance, "overdue": status.overdue_amount,
            "oldest_overdue_days": status.oldest_overdue_days, "credit_limit": status.credit_limit,
            "available_credit": status.available_credit, "over_limit": status.over_limit,
            "last_payment_date": status.last_payment_date, "last_payment_amount": status.last_payment_amount,
            "open_invoices": status.open_invoices}


def deal_status(deal_id: int) -> dict | None:
    """The order of a deal with its delivery, invoice and payment state, or None."""
    order = db.session.scalar(sa.select(SalesOrder).where(SalesOrder.deal_id == deal_id))
    return order_summary(order) if order else None
