"""Events: recorded once per key, handled inside the caller's transaction."""
import pytest
import sqlalchemy as sa

from core import lifecycle
from core.db import db, transaction
from core.events import EventHandlerError, emit
from core.models import Event
from tests.conftest import ApiClient, make_app, token_for
from tests.fake_plugins.probe import hooks as probe_hooks
from tests.fake_plugins.probe.hookspecs import ProbeHappened


@pytest.fixture
def probe_app(full_db):
    app = make_app(full_db, TANDEM_EXTRA_PLUGINS=["tests.fake_plugins.probe"])
    with app.app_context(), transaction():
        lifecycle.install("probe")
    probe_hooks.CALLS.clear()
    yield app
    probe_hooks.CALLS.clear()


def _events(app, key):
    with app.app_context():
        return db.session.scalars(sa.select(Event).where(Event.key == key)).all()


def test_the_same_key_twice_has_one_effect(probe_app):
    with probe_app.app_context():
        with transaction():
            assert emit("on_probe_happened", ProbeHappened(number=1), key="probe:1") is True
        with transaction():
            assert emit("on_probe_happened", ProbeHappened(number=1), key="probe:1") is False
    assert probe_hooks.CALLS == [("probe", 1)]
    [event] = _events(probe_app, "probe:1")
    assert event.name == "on_probe_happened" and event.payload == {"number": 1}


def test_a_failing_handler_rolls_back_the_event_and_names_the_plugin(probe_app):
    with probe_app.app_context():
        with pytest.raises(EventHandlerError) as exc:
            with transaction():
                emit("on_probe_happened", ProbeHappened(number=-1), key="probe:-1")
    assert exc.value.plugin == "probe"
    assert "negative numbers are not allowed" in exc.value.message
    assert _events(probe_app, "probe:-1") == []


def test_handlers_of_uninstalled_plugins_are_not_called(probe_app):
    with probe_app.app_context():
        with transaction():
            lifecycle.uninstall("probe")
        with transaction():
            emit("on_probe_happened", ProbeHappened(number=2), key="probe:2")
    assert probe_hooks.CALLS == []


def test_a_refusing_handler_undoes_the_whole_api_action(probe_app):
    api = ApiClient(probe_app.test_client(), token_for(probe_app))
    response = api.post("/api/v1/crm/accounts", json={"name": "FAIL Corp"})
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "event_handler_failed"
    assert "probe" in body["message"] and "refused" in body["message"]
    names = [a["name"] for a in api.get("/api/v1/crm/accounts?per_page=200").get_json()["items"]]
    assert "FAIL Corp" not in names  # nothing half-written
    assert api.post("/api/v1/crm/accounts", json={"name": "Fine Corp"}).status_code == 201
    assert ("account", "Fine Corp") in probe_hooks.CALLS


def test_events_page_and_api_list_recorded_events(probe_app):
    from tests.conftest import login

    api = ApiClient(probe_app.test_client(), token_for(probe_app))
    api.post("/api/v1/crm/accounts", json={"name": "Eventful Ltd"})
    listed = api.get("/api/v1/admin/events?name=on_account_changed").get_json()
    assert listed["total"] >= 1 and listed["items"][0]["payload"]["name"] == "Eventful Ltd"
    page = login(probe_app.test_client()).get("/events").get_data(as_text=True)
    assert "on_account_changed" in page and "Eventful Ltd" in page


def test_an_event_comes_back_from_its_json_as_it_was():
    import datetime as dt
    from decimal import Decimal

    from core.events import jsonable, rebuild, type_name
    from plugins.erp_finance.hookspecs import PaymentReceived
    from plugins.erp_inventory.hookspecs import DeliveryDone, MovedLine

    payment = PaymentReceived(1, "PAY/1", 2, Decimal("10.50"), "EUR", dt.date(2026, 1, 2),
                              ((3, Decimal("5.25")), (4, Decimal("5.25"))), Decimal("0.00"), None)
    delivery = DeliveryDone(1, "OUT/1", "SO/1", 3, (MovedLine(1, "A", Decimal("2"), Decimal("1.5")),), None)
    again = rebuild(type_name(payment), jsonable(payment))
    assert again == payment and isinstance(again.allocations[0][1], Decimal)
    again = rebuild(type_name(delivery), jsonable(delivery))
    assert again == delivery and isinstance(again.lines[0], MovedLine)
