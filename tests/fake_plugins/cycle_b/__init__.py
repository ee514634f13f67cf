from core.manifest import Manifest

MANIFEST = Manifest(name="cycle_b", version="1.0.0", summary="Other half", depends=("cycle_a",))
