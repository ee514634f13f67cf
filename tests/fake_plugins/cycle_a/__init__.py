from core.manifest import Manifest

MANIFEST = Manifest(name="cycle_a", version="1.0.0", summary="Half of a cycle", depends=("cycle_b",))
