"""The Apps page, the events page, the home dashboard, search and the API documents."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="admin",
    version="0.1.0",
    summary="Apps, events, dashboard, search and API documentation",
    essential=True,
    category="Kernel",
)
