"""Tandem's kernel: the app factory, the plugin manager and what every plugin shares."""
import pluggy

PROJECT = "tandem"

#: Marks a function of a ``hookspecs.py`` module as a hook specification.
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a function of a plugin's ``hooks.py`` module as a hook implementation.
hookimpl = pluggy.HookimplMarker(PROJECT)


def create_app(config=None):
    """Build a Tandem application (see ``core.app.create_app``)."""
    from core.app import create_app as _create_app

    return _create_app(config)


__all__ = ["PROJECT", "create_app", "hookimpl", "hookspec"]
