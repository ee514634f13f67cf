"""How the admin plugin plugs into the kernel."""
from core import hookimpl
from core.contrib import MenuItem, Permission


@hookimpl
def register_blueprints():
    from core.admin import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [
        Permission("admin.module.read", "See the Apps page"),
        Permission("admin.module.write", "Install and uninstall modules"),
        Permission("admin.event.read", "See the event log"),
    ]


@hookimpl
def register_menu():
    return [
        MenuItem("Apps", "admin.apps", "admin.module.read", order=900, icon="apps"),
        MenuItem("Events", "admin.events", "admin.event.read", order=920, icon="events"),
    ]
