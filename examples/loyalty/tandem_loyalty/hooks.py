"""How loyalty plugs into Tandem: kernel hooks, and finance's events."""
from core import hookimpl
from core.contrib import MenuItem, Panel, Permission, Role, Widget

READ = "loyalty.points.read"


@hookimpl
def register_blueprints():
    from tandem_loyalty import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [Permission(READ, "See accounts' loyalty points")]


@hookimpl
def register_roles():
    # ensure_role adds to roles that exist: CRM's sales roles see the points too
    return [Role("Sales rep", "Works the customer relationship", (READ,)),
            Role("Sales manager", "Leads a sales team", (READ,)),
            Role("Loyalty viewer", "Sees accounts' loyalty points", (READ,))]


@hookimpl
def register_menu():
    return [MenuItem("Loyalty", "loyalty.balances", READ, order=25, icon="customers")]


@hookimpl
def register_dashboard_widgets():
    from tandem_loyalty.services import top_accounts

    return [Widget(name="loyalty.top_accounts", title="Top accounts by loyalty points",
                   template="loyalty/widget_top.html", permission=READ,
                   context=lambda: {"rows": top_accounts(5)}, order=30)]


@hookimpl
def panels(slot, obj):
    """"Loyalty points" on the CRM account page, for users who may see them."""
    from flask_login import current_user

    if slot != "crm.account" or not current_user.can(READ):
        return []
    from tandem_loyalty.services import account_points

    return [Panel("Loyalty points", "loyalty/panel_points.html", account_points(obj.id, recent=10),
                  order=20)]


@hookimpl
def on_invoice_paid(event):
    """Finance: an invoice became fully paid; its account earns its points (once)."""
    from tandem_loyalty.services import earn_for_paid_invoice

    earn_for_paid_invoice(event)


@hookimpl
def on_credit_note_issued(event):
    """Finance: a credit note was posted; the points of what it credits are taken back."""
    from tandem_loyalty.services import take_back_for_credit_note

    take_back_for_credit_note(event)


@hookimpl
def load_demo_data(progress):
    from tandem_loyalty.demo import load

    load(progress)
