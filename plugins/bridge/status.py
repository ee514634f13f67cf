"""What CRM pages show of the ERP side: an account's financial status and orders, a deal's
order, delivery, invoice and payment state."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from plugins.bridge import services
from plugins.bridge.models import SalesOrder


def delivery_state(order: SalesOrder) -> str:
    """The delivery state of an order (``none`` when nothing is to deliver or inventory is off)."""
    if not services.installed("erp_inventory"):
        return "none"
    from plugins.erp_inventory import services as inventory

    status = inventory.delivery_status(order.number)
    return status.state if status else "none"


def invoice_state(order: SalesOrder) -> str:
    """``not invoiced``, or the states of the order's invoices (``paid``, ``posted``...)."""
    states = sorted({r.state for r in order.invoices})
    return ", ".join(states) if states else "not invoiced"


def order_summary(order: SalesOrder) -> dict:
    """An order with its delivery and invoice state, for panels and the API."""
    return {"id": order.id, "number": order.number, "deal_id": order.deal_id, "state": order.state,
            "amount": order.amount, "currency": order.currency, "invoice_policy": order.invoice_policy,
            "delivery_state": delivery_state(order), "invoice_state": invoice_state(order),
            "invoices": [{"invoice_id": r.invoice_id, "number": r.number, "state": r.state,
                          "amount": r.amount} for r in order.invoices]}


def account_orders(account_id: int) -> list[dict]:
    """Every order of an account, newest first."""
    orders = db.session.scalars(sa.select(SalesOrder).where(SalesOrder.account_id == account_id)
                                .order_by(SalesOrder.id.desc()).limit(50))
    return [order_summary(o) for o in orders]


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
