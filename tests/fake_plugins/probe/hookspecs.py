"""The probe's own event."""
from dataclasses import dataclass

from core import hookspec


@dataclass(frozen=True)
class ProbeHappened:
    """Something happened to the probe."""

    number: int


@hookspec
def on_probe_happened(event: ProbeHappened) -> None:
    """Called when the probe emits; used to count deliveries."""
