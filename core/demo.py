"""Demo data: each installed plugin fills its own tables through ``load_demo_data``."""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable

from core.db import db
from core.models import Module
from core.registry import current_registry


def load_demo(progress_for: Callable[[str], AbstractContextManager[Callable[[int], None]]],
              force: bool = False) -> list[str]:
    """Load demo data for every installed plugin that has none yet, in dependency order.

    ``progress_for(plugin)`` is a context manager giving the callback handed to that
    plugin's hook (the CLI draws a progress bar with it). Each
    plugin's data is committed on its own, so a failure leaves earlier plugins' data.
    Returns the plugins whose demo data was loaded.
    """
    registry = current_registry()
    registry.sync(db.session)
    loaded = []
    for info in registry.installed_in_order():
        row = db.session.get(Module, info.name)
        impls = [i for i in registry.pm.hook.load_demo_data.get_hookimpls()
                 if i.plugin_name == info.name]
        if row is None or not impls or (row.demo_loaded and not force):
            continue
        try:
            with progress_for(info.name) as progress:
                impls[0].function(progress=progress)
            row.demo_loaded = True
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        loaded.append(info.name)
    return loaded
