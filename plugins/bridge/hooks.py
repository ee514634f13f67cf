"""How the bridge plugs into the kernel and into the CRM's pages."""
from core import hookimpl
from core.contrib import MenuItem, Panel, Permission
from core.registry import current_registry


@hookimpl
def register_blueprints():
    from plugins.bridge import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [
        Permission("bridge.link.read", "See links between CRM accounts and finance customers"),
        Permission("bridge.link.write", "Link CRM accounts to finance customers"),
    ]


@hookimpl
def register_menu():
    return [MenuItem("Integration", "bridge.links", "bridge.link.read", order=800, icon="link")]


@hookimpl
def panels(slot, obj):
    """'Financial status' on the CRM account page, when finance is installed."""
    if slot != "crm.account" or not current_registry().is_installed("erp_finance"):
        return None
    from flask_login import current_user

    if not current_user.can("bridge.link.read"):
        return None
    from plugins.bridge.services import link_for_account
    from plugins.erp_finance.services import get_customer

    link = link_for_account(obj.id)
    customer = get_customer(link.customer_id) if link else None
    return [Panel("Financial status", "bridge/panel_financial.html",
                  {"account": obj, "link": link, "customer": customer}, order=10)]
