"""A third-party plugin: one page, one permission, one menu entry."""
from core.manifest import Manifest

MANIFEST = Manifest(name="hello", version="0.1.0", summary="Says hello (third-party test plugin)")
