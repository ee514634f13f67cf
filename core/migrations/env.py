"""Alembic environment shared by every plugin branch (see core.migrate)."""
from alembic import context

from core.db import db

config = context.config
prefix = config.attributes.get("table_prefix")


def include_object(obj, name, type_, reflected, compare_to):
    # Autogenerate for one plugin only looks at that plugin's tables.
    if type_ == "table" and prefix:
        return name.startswith(prefix)
    if prefix and getattr(obj, "table", None) is not None:
        return obj.table.name.startswith(prefix)
    return True


context.configure(
    connection=config.attributes["connection"],
    target_metadata=db.metadata,
    render_as_batch=True,
    include_object=include_object,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
