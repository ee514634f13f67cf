"""How the bridge plugs into the kernel, into CRM's events and pages, and (when installed)
into finance's and inventory's events."""
from core import hookimpl
from core.contrib import MenuItem, Panel, Permission, Role, ScheduledJob, Widget

PERMISSIONS = (
    ("bridge.link.read", "See links between CRM accounts and finance customers"),
    ("bridge.link.write", "Link CRM accounts to finance customers and resolve sync conflicts"),
    ("bridge.order.read", "See the orders won deals became, and their ERP state"),
    ("bridge.order.write", "Mark deals recurring"),
    ("bridge.settings.write", "Change the bridge settings (invoice policy, shortages, overdue days)"),
    ("bridge.override", "Win a deal despite a credit, overdue or stock problem, with a reason"),
    ("bridge.case.credit", "Resolve a case with a credit note on one of its account's invoices "
                           "(posted in finance at once)"),
    ("bridge.reconcile.run", "Run the reconciliation and repair drift"),
    ("bridge.revenue.read", "See the revenue view: forecast next to recognised revenue, and the "
                            "payments expected from each deal"),
)


@hookimpl
def register_blueprints():
    from plugins.bridge import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [Permission(name, text) for name, text in PERMISSIONS]


@hookimpl
def register_roles():
    every = tuple(name for name, _ in PERMISSIONS)
    return [Role("Integration manager", "Runs the CRM-ERP hand-off: settings, reconciliation, overrides",
                 every),
            Role("Integration viewer", "Sees links, orders and their ERP state",
                 ("bridge.link.read", "bridge.order.read")),
            Role("Revenue viewer", "Sees forecast against recognised revenue and expected payments",
                 ("bridge.revenue.read",))]


@hookimpl
def register_menu():
    return [MenuItem("Revenue", "bridge.revenue_page", "bridge.revenue.read", order=30, icon="chart"),
            MenuItem("Integration", "bridge.links", "bridge.link.read", order=800, icon="link")]


@hookimpl
def register_dashboard_widgets():
    from plugins.bridge import revenue

    return [Widget(name="bridge.revenue", title="Forecast vs recognised revenue",
                   template="bridge/widget_revenue.html", permission="bridge.revenue.read",
                   context=revenue.revenue_view, order=14, wide=True)]


@hookimpl
def register_cli_commands():
    from plugins.bridge.cli import group

    return [group]


@hookimpl
def register_scheduled_jobs():
    from plugins.bridge.contracts import run_renewals

    return [ScheduledJob("bridge.renewals", 3600, run_renewals)]


@hookimpl
def load_demo_data(progress):
    from plugins.bridge.demo import load

    load(progress)


# --- CRM ---


@hookimpl
def check_deal_won(deal):
    from plugins.bridge.deals import problems

    return problems(deal)


@hookimpl
def on_deal_won(event):
    from plugins.bridge.deals import create_order

    create_order(event.deal_id, event.override_reason)


@hookimpl
def on_account_changed(event):
    """Carry shared fields the CRM changed to finance (conflicts stay for a person)."""
    from plugins.bridge import services

    if event.created or event.merged_into or not services.installed("erp_finance"):
        return
    link = services.link_for_account(event.account_id)
    if link is not None and {"name", "address"} & set(event.changed):
        services.sync_link(link)


@hookimpl
def product_catalog(query, limit):
    from plugins.bridge import catalog

    return catalog.products(query, limit)


@hookimpl
def exchange_rates(pairs):
    from plugins.bridge import revenue

    return revenue.exchange_rates(pairs)


@hookimpl
def product_availability(refs):
    from plugins.bridge import catalog

    return catalog.availability(refs)


# --- finance and inventory (optional) ---


@hookimpl(optionalhook=True)
def on_invoice_posted(event):
    from plugins.bridge.handoffs import feed_back

    feed_back("on_invoice_posted", event)


@hookimpl(optionalhook=True)
def on_payment_received(event):
    from plugins.bridge.handoffs import feed_back

    feed_back("on_payment_received", event)


@hookimpl(optionalhook=True)
def on_invoice_paid(event):
    from plugins.bridge.handoffs import feed_back

    feed_back("on_invoice_paid", event)


@hookimpl(optionalhook=True)
def on_credit_note_issued(event):
    from plugins.bridge.handoffs import feed_back

    feed_back("on_credit_note_issued", event)


@hookimpl(optionalhook=True)
def on_delivery_done(event):
    from plugins.bridge.handoffs import feed_back

    feed_back("on_delivery_done", event)


# --- panels on CRM pages ---


@hookimpl
def panels(slot, obj):
    from flask_login import current_user

    from plugins.bridge import cases, services, status

    found = []
    if slot == "crm.account" and current_user.can("bridge.link.read") and services.installed("erp_finance"):
        link = services.link_for_account(obj.id)
        found.append(Panel("Financial status", "bridge/panel_financial.html",
                           {"account": obj, "link": link, "status": status.financial_status(obj.id),
                            "conflicts": services.sync_status(link) if link else []}, order=10))
    if slot == "crm.account" and current_user.can("bridge.order.read"):
        found.append(Panel("Orders and deliveries", "bridge/panel_orders.html",
                           {"orders": status.account_orders(obj.id)}, order=11))
    if slot == "crm.deal" and current_user.can("bridge.order.read"):
        from plugins.bridge.deals import contract_of
        from plugins.bridge.models import PERIODS

        found.append(Panel("Order", "bridge/panel_deal.html",
                           {"deal": obj, "order": status.deal_status(obj.id),
                            "contract": contract_of(obj.id), "periods": PERIODS}, order=10))
    if slot == "crm.case" and current_user.can("bridge.order.read"):
        found.append(Panel("Credit note", "bridge/panel_case.html",
                           {"credit": cases.credit_of_case(obj.id)}, order=10))
    return found


@hookimpl
def case_resolve_form(case):
    """CRM's resolve form with the credit note a resolution may agree, when the case's
    account has an invoice left to credit and the user may credit it."""
    from flask_login import current_user

    from plugins.bridge import cases

    if not current_user.can(cases.CREDIT_PERMISSION):
        return None
    invoices = cases.creditable_invoices(case.account_id)
    return Panel("Resolve", "bridge/case_resolve_form.html", {"case": case, "invoices": invoices}) \
        if invoices else None
