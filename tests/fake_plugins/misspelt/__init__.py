from core.manifest import Manifest

MANIFEST = Manifest(name="misspelt", version="1.0.0", summary="Implements a hook that does not exist")
