"""Users, roles, permissions, login and API tokens: the kernel's essential ``auth`` plugin."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="auth",
    version="0.1.0",
    summary="Users, roles, login and API tokens",
    essential=True,
    category="Kernel",
)
