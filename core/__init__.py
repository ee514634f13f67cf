"""Tandem's kernel: the app factory, the plugin manager and what every plugin shares."""
import gc

import pluggy

PROJECT = "tandem"

#: Marks a function of a ``hookspecs.py`` module as a hook specification.
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a function of a plugin's ``hooks.py`` module as a hook implementation.
hookimpl = pluggy.HookimplMarker(PROJECT)


def create_app(config=None):
    """Build a Tandem application (see ``core.app.create_app``).

    The cyclic garbage collector is paused meanwhile: start-up makes hundreds of thousands
    of long-lived objects (mapped classes, schemas, routes) and no garbage, and the
    collections they triggered were a tenth of the start-up time.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        from core.app import create_app as _create_app

        return _create_app(config)
    finally:
        if collecting:
            gc.enable()


__all__ = ["PROJECT", "create_app", "hookimpl", "hookspec"]
