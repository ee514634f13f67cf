"""The stack's floor for a page and a write: Flask, Flask-SQLAlchemy and Jinja, nothing of Tandem.

``GET /``: the first 50 of 200 rows with their count and a 30-link menu, no login, no
permission check, no session or CSRF: what any list page on this stack costs at least.
``POST /write``: as many rows inserted and updated, in one transaction through the ORM,
as winning a deal writes (``WIN_INSERTS``, ``WIN_UPDATES``, counted by bench/o2c.py's
counter on a won deal with a two-line quote), nothing read, no JSON parsed.
``bench/http.py`` serves it under the same gunicorn settings as Tandem, as a baseline.
The database is ``FLOOR_DATABASE_URL`` (the benchmark's own backend); running this file
fills it, before gunicorn starts its workers.
"""
from __future__ import annotations

import os
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy
from orm_rows import use_tandem_pragmas  # this folder is on the path: gunicorn's PYTHONPATH, or run as a script

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["FLOOR_DATABASE_URL"]
db = SQLAlchemy(app)
with app.app_context():
    use_tandem_pragmas(db.engine)


class FloorDeal(db.Model):
    __tablename__ = "bench_floor_deal"
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    stage = db.Column(db.String(40), nullable=False)
    amount = db.Column(db.Numeric(18, 2), nullable=False)
    owner = db.Column(db.String(80), nullable=False)


PAGE = """<!doctype html><html lang="en"><head><title>Deals</title></head><body>
<nav>{% for i in range(30) %}<a href="/menu/{{ i }}">Menu item {{ i }}</a>{% endfor %}</nav>
<table><thead><tr><th>Title</th><th>Stage</th><th>Amount</th><th>Owner</th></tr></thead><tbody>
{% for d in deals %}<tr><td><a href="/deals/{{ d.id }}">{{ d.title }}</a></td><td>{{ d.stage }}</td>
<td>{{ d.amount }}</td><td>{{ d.owner }}</td></tr>{% endfor %}
</tbody></table><p>{{ total }} deals</p></body></html>"""


#: rows a won deal writes (order, lines, reservations, delivery, invoice, journal entry, notes...)
WIN_INSERTS, WIN_UPDATES = 54, 10


@app.post("/write")
def write():
    rows = [FloorDeal(title="Won deal's row", stage="Won", amount=Decimal("250.00"), owner="Ann")
            for _ in range(WIN_INSERTS)]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows[:WIN_UPDATES]:
        row.stage = "Invoiced"
    db.session.commit()
    return {"written": WIN_INSERTS + WIN_UPDATES}, 201


@app.get("/")
def deals():
    total = db.session.scalar(sa.select(sa.func.count()).select_from(FloorDeal).where(FloorDeal.id <= 200))
    rows = db.session.scalars(sa.select(FloorDeal).where(FloorDeal.id <= 200).order_by(FloorDeal.id).limit(50)).all()
    return render_template_string(PAGE, deals=rows, total=total)


if __name__ == "__main__":
    with app.app_context():
        db.create_all()
        db.session.execute(sa.delete(FloorDeal))
        db.session.add_all(FloorDeal(title=f"Deal {i}", stage="Qualified", amount=Decimal(i * 10), owner="Ann")
                           for i in range(200))
        db.session.commit()
