"""The revenue view: what sales expects next to what finance has recognised, month by month,
and the payments still expected, each traced to the deal and the rep it came from."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from core.auth.models import User
from core.db import read_session
from plugins.bridge import services
from plugins.bridge.models import OrderInvoice, SalesOrder
from plugins.crm import rules
from plugins.crm.hookspecs import ExchangeRates
from plugins.crm.models import Deal
from plugins.crm.services import forecast_by_month

ZERO = Decimal("0.00")


def month_range(date_from: dt.date, date_to: dt.date) -> list[str]:
    """Every 'YYYY-MM' from ``date_from``'s month to ``date_to``'s, in order."""
    months, year, month = [], date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def default_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """Six months back to five months ahead: recognised revenue behind, forecast ahead."""
    back = today.month - 6
    start = dt.date(today.year + (back - 1) // 12, (back - 1) % 12 + 1, 1)
    ahead = today.month + 5
    end_year, end_month = today.year + (ahead - 1) // 12, (ahead - 1) % 12 + 1
    after = dt.date(end_year + end_month // 12, end_month % 12 + 1, 1)
    return start, after - dt.timedelta(days=1)


def revenue_view(date_from: dt.date | None = None, date_to: dt.date | None = None,
                 today: dt.date | None = None) -> dict:
    """Per month: the open pipeline and its weighted forecast (deals by expected close, as the
    user may see them, in the company currency when finance is installed) next to finance's
    recognised revenue; and the open invoices (expected payments) with their deal and rep."""
    today = today or dt.date.today()
    if date_from is None or date_to is None:
        date_from, date_to = default_window(today)
    if date_from > date_to:
        from core.errors import ValidationFailed

        raise ValidationFailed({"date_to": ["The end of the period comes before its start."]})
    with_finance = services.installed("erp_finance")
    fin = services.finance() if with_finance else None
    currency = fin.get_settings().currency if fin else None
    months = {m: {"month": m, "pipeline": ZERO, "weighted": ZERO, "deals": 0, "recognised": None}
              for m in month_range(date_from, date_to)}
    for row in forecast_by_month():
        if row["month"] in months:
            rate = fin.rate_for(row["currency"], today) if fin and row["currency"] != currency else 1
            month = months[row["month"]]
            month["pipeline"] += (row["value"] * rate).quantize(ZERO)
            month["weighted"] += (row["weighted"] * rate).quantize(ZERO)
            month["deals"] += row["count"]
            currency = currency or row["currency"]
    if fin:
        for month in months.values():
            month["recognised"] = ZERO
        for row in fin.revenue_by_month(date_from, date_to)["rows"]:
            if row["month"] in months:
                months[row["month"]]["recognised"] = row["revenue"]
    rows = list(months.values())
    return {"date_from": date_from, "date_to": date_to, "currency": currency, "months": rows,
            "totals": {"pipeline": sum((r["pipeline"] for r in rows), ZERO),
                       "weighted": sum((r["weighted"] for r in rows), ZERO),
                       "recognised": sum((r["recognised"] or ZERO for r in rows), ZERO) if fin else None},
            "expected_payments": expected_payments(today) if fin else []}


def exchange_rates(pairs: list[tuple[str, dt.date]]):
    """CRM's ``exchange_rates`` answered from finance's rates into the company currency
    (None without finance: CRM reports then stay per currency)."""
    if not services.installed("erp_finance"):
        return None
    fin = services.finance()
    return ExchangeRates(currency=fin.get_settings().currency, rates=fin.rates_for(pairs))


def expected_payments(today: dt.date) -> list[dict]:
    """Open customer invoices, earliest due first, each with the deal and rep it came from
    (none for an invoice made in finance by hand). A rep sees only their deals' invoices."""
    invoices = services.finance().expected_payments(today=today)
    origin = _origins([row["invoice_id"] for row in invoices])
    sees_everyone = rules.owned_by_visible(Deal.owner_id) is None
    found = []
    for row in invoices:
        deal = origin.get(row["invoice_id"])
        if deal is None and not sees_everyone:
            continue
        found.append({**row, **(deal or {"deal_id": None, "deal": None, "order": None,
                                          "rep_id": None, "rep": None})})
    return found


def _origins(invoice_ids: list[int]) -> dict[int, dict]:
    """invoice id -> its order, deal and rep, for the invoices the user may see the deal of."""
    if not invoice_ids:
        return {}
    stmt = (sa.select(OrderInvoice.invoice_id, SalesOrder.number, Deal.id, Deal.title,
                      Deal.owner_id, User.name)
            .join(SalesOrder, SalesOrder.id == OrderInvoice.order_id)
            .join(Deal, Deal.id == SalesOrder.deal_id)
            .outerjoin(User, User.id == Deal.owner_id)
            .where(OrderInvoice.invoice_id.in_(invoice_ids)))
    clause = rules.owned_by_visible(Deal.owner_id)
    if clause is not None:
        stmt = stmt.where(clause)
    return {invoice_id: {"order": order, "deal_id": deal_id, "deal": title, "rep_id": rep_id,
                         "rep": rep}
            for invoice_id, order, deal_id, title, rep_id, rep in read_session().execute(stmt)}
