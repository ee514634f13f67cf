"""A test plugin: emits its own event, records handler calls, and can fail on demand."""
from core.manifest import Manifest

MANIFEST = Manifest(name="probe", version="1.0.0", summary="Test probe", optional=("crm",))
