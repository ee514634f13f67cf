from core.manifest import Manifest

MANIFEST = Manifest(name="broken_import", version="1.0.0", summary="Fails to import its hooks")
