from core.manifest import Manifest

MANIFEST = Manifest(name="unknown_dep", version="1.0.0", summary="Needs a missing plugin",
                    depends=("no_such_plugin",))
