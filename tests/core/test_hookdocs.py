"""docs/hooks.md is generated from the hookspecs and must be kept up to date."""
from pathlib import Path

from core.hookdocs import hook_reference

DOC = Path(__file__).parents[2] / "docs" / "hooks.md"


def test_hook_reference_is_up_to_date(app):
    with app.app_context():
        expected = hook_reference(app.extensions["tandem"])
    assert DOC.read_text() == expected, "docs/hooks.md is out of date: run 'tandem hooks-doc'"


def test_the_reference_documents_every_kernel_hook(app):
    from core import hookspecs

    with app.app_context():
        text = hook_reference(app.extensions["tandem"])
    for name in ("register_blueprints", "panels", "search", "load_demo_data", "on_module_installed"):
        assert f"### `{name}(" in text
        assert (getattr(hookspecs, name).__doc__ or "").strip().splitlines()[0] in text
