"""Handlers that record what they saw; names starting with FAIL make them raise."""
from core import hookimpl
from core.errors import RuleViolation

CALLS: list = []


@hookimpl
def on_probe_happened(event):
    CALLS.append(("probe", event.number))
    if event.number < 0:
        raise ValueError("negative numbers are not allowed")


@hookimpl(optionalhook=True)
def on_account_changed(event):
    CALLS.append(("account", event.name))
    if event.name.startswith("FAIL"):
        raise RuleViolation(f"accounts named {event.name!r} are refused")
