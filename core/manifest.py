"""The manifest every plugin declares in its package ``__init__``.

A manifest is plain data: the kernel reads it before importing anything heavy
from the plugin, so a broken plugin can still be listed with its name and error.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Manifest:
    """What a plugin is and what it needs.

    name:         the plugin's identifier; table prefix, permission prefix, URL segment.
    version:      the code version; a higher version than the database records means
                  the module is "to upgrade" until ``tandem db upgrade`` runs.
    summary:      one line shown on the Apps page.
    depends:      plugins that must be installed first; this plugin may import them.
    optional:     plugins this one cooperates with when they are installed; it must
                  not import them at module level and its hooks for them are
                  ``optionalhook=True``.
    auto_install: sets of plugins; when every plugin of one set is installed, this
                  plugin installs itself (``True`` means "when ``depends`` are").
    essential:    part of the kernel; always installed, never uninstalled.
    short_name:   the name used in table names, URLs and permissions when it differs
                  from ``name`` (``erp_finance`` -> ``finance``: ``finance_invoice``,
                  ``/api/v1/finance``, ``finance.invoice.post``).
    """

    name: str
    version: str
    summary: str
    depends: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    auto_install: bool | tuple[frozenset[str], ...] = False
    essential: bool = False
    category: str = "Other"
    short_name: str = ""

    @property
    def prefix(self) -> str:
        """Prefix of the plugin's permissions and URLs."""
        return self.short_name or self.name

    @property
    def auto_install_sets(self) -> tuple[frozenset[str], ...]:
        if self.auto_install is True:
            return (frozenset(self.depends),)
        if not self.auto_install:
            return ()
        return tuple(frozenset(s) for s in self.auto_install)

    @property
    def table_prefix(self) -> str:
        """Every table of the plugin starts with this (``core_`` for the kernel's own)."""
        return "core_" if self.essential else f"{self.prefix}_"
