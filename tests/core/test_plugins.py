"""Discovery: broken plugins are listed with their error, the kernel still starts."""
import sys

import pluggy
import pytest

from tests.conftest import login, make_app

FAKES = "tests.fake_plugins"


def test_broken_unknown_and_cyclic_plugins_are_reported_and_the_app_starts(kernel_db):
    app = make_app(kernel_db, TANDEM_EXTRA_PLUGINS=[
        f"{FAKES}.broken_import", f"{FAKES}.unknown_dep", f"{FAKES}.cycle_a", f"{FAKES}.cycle_b"])
    plugins = app.extensions["tandem"].plugins
    assert "ModuleNotFoundError" in plugins["broken_import"].error
    assert "a_module_that_does_not_exist" in plugins["broken_import"].error
    assert plugins["unknown_dep"].error == "depends on unknown plugin 'no_such_plugin'"
    assert plugins["cycle_a"].error.startswith("dependency cycle: ")
    assert "cycle_a" in plugins["cycle_a"].error and "cycle_b" in plugins["cycle_a"].error
    assert plugins["cycle_b"].error == plugins["cycle_a"].error
    assert not plugins["crm"].broken

    page = login(app.test_client()).get("/apps").get_data(as_text=True)
    assert "a_module_that_does_not_exist" in page
    assert "depends on unknown plugin" in page

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["modules", "list"]).output
    assert "broken" in listing and "dependency cycle" in listing

    result = runner.invoke(args=["modules", "install", "unknown_dep"])
    assert result.exit_code != 0 and "broken" in result.output


def test_a_misspelt_hook_implementation_stops_the_app_loudly(kernel_db):
    with pytest.raises(pluggy.PluginValidationError, match="on_deal_wom"):
        make_app(kernel_db, TANDEM_EXTRA_PLUGINS=[f"{FAKES}.misspelt"])


@pytest.fixture
def hello_entry_point(tmp_path):
    """Make the test-only package in tests/thirdparty visible as an installed distribution."""
    from pathlib import Path

    source = Path(__file__).parents[1] / "thirdparty"
    dist = tmp_path / "tandem_hello-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tandem-hello\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[tandem.plugins]\nhello = tandem_hello\n")
    sys.path[:0] = [str(tmp_path), str(source)]
    yield
    sys.path.remove(str(tmp_path))
    sys.path.remove(str(source))


def test_third_party_plugin_is_loaded_through_its_entry_point(kernel_db, hello_entry_point):
    app = make_app(kernel_db)
    info = app.extensions["tandem"].plugins["hello"]
    assert info.source == "entry point" and not info.broken
    client = login(app.test_client())
    assert client.get("/hello/").status_code == 404  # discovered, not installed
    runner = app.test_cli_runner()
    assert runner.invoke(args=["modules", "install", "hello"]).exit_code == 0
    page = client.get("/hello/")
    assert page.status_code == 200 and "Hello from a third-party plugin" in page.get_data(as_text=True)
    assert 'href="/hello/"' in client.get("/").get_data(as_text=True)  # its menu entry
