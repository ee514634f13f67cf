"""The campaigns report adds won amounts in one currency only: with finance, each won deal at
the rate of its win date in the company currency; what has no rate stays in its own."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from tests.bridge.conftest import ok

API = "/api/v1/crm"


def won_deal(api, campaign_id, amount, currency, won_on=None):
    deal = ok(api.post(f"{API}/deals", json={"title": f"{amount} {currency}", "amount": amount,
                                             "currency": currency, "campaign_id": campaign_id}))
    ok(api.post(f"{API}/deals/{deal['id']}/win", json={}))
    return deal["id"], won_on


def set_won_on(app, dates: dict[int, dt.date]):
    """Move wins into the past (a planted history: raw SQL, no service)."""
    from core.db import db, transaction
    from plugins.crm.models import Deal

    with app.app_context(), transaction():
        for deal_id, day in dates.items():
            db.session.execute(sa.update(Deal).where(Deal.id == deal_id)
                               .values(won_at=dt.datetime.combine(day, dt.time(15, 30))))


def test_won_amounts_in_the_company_currency_at_each_win_dates_rate(app, api):
    for day, rate in (("2026-01-01", "0.50"), ("2026-02-01", "0.80")):
        ok(api.post("/api/v1/finance/exchange-rates", json={"currency": "USD", "date": day, "rate": rate}))
    fair = ok(api.post(f"{API}/campaigns", json={"name": "Trade fair", "cost": "300.00", "currency": "USD"}))
    ok(api.post(f"{API}/deals", json={"title": "Still open", "amount": "999.00", "currency": "USD",
                                      "campaign_id": fair["id"]}))
    wins = [won_deal(api, fair["id"], "100.00", "EUR", dt.date(2026, 1, 20)),
            won_deal(api, fair["id"], "100.00", "USD", dt.date(2026, 1, 20)),  # at 0.50
            won_deal(api, fair["id"], "50.00", "USD", dt.date(2026, 2, 15)),  # at 0.80
            won_deal(api, fair["id"], "30.00", "GBP", dt.date(2026, 2, 15))]  # no GBP rate
    set_won_on(app, dict(wins))
    rows = ok(api.get(f"{API}/reports/campaigns"))["rows"]
    assert [(r["campaign"], r["won_value"], r["currency"]) for r in rows] == [
        ("Trade fair", "190.00", "EUR"),  # 100 + 100 x 0.50 + 50 x 0.80
        ("Trade fair", "30.00", "GBP")]
    first, second = rows
    assert (first["cost"], first["cost_currency"], first["deals"]) == ("300.00", "USD", 5)
    assert (second["cost"], second["deals"], second["leads"]) == (None, None, None)
    ok(api.post("/api/v1/finance/exchange-rates", json={"currency": "GBP", "date": "2026-02-01", "rate": "1.20"}))
    rows = ok(api.get(f"{API}/reports/campaigns"))["rows"]
    assert [(r["won_value"], r["currency"]) for r in rows] == [("226.00", "EUR")]


def test_the_campaigns_page_and_csv_label_each_sum_with_its_currency(app, api, admin):
    fair = ok(api.post(f"{API}/campaigns", json={"name": "Webinar", "cost": "10.00", "currency": "EUR"}))
    set_won_on(app, dict([won_deal(api, fair["id"], "70.00", "JPY", dt.date(2026, 3, 3))]))
    csv = admin.get("/crm/reports/campaigns.csv").get_data(as_text=True).splitlines()
    assert csv[0] == "campaign,cost,cost_currency,leads,converted,conversion_rate,deals,won_value,currency"
    assert csv[1:] == ["Webinar,10.00,EUR,0,0,,1,70.00,JPY"]  # no JPY rate: in yen, said so
    assert "70.00" in admin.get("/crm/reports/campaigns").get_data(as_text=True)
