"""Authentication, permissions, CSRF and tokens."""
import sqlalchemy as sa

from core.auth.models import User
from core.db import db
from tests.conftest import ApiClient, create_user, csrf_from, login, token_for


def test_unauthenticated_api_gets_401_json_and_pages_redirect_to_login(app):
    client = app.test_client()
    response = client.get("/api/v1/crm/accounts")
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    page = client.get("/crm/accounts")
    assert page.status_code == 302 and "/login?next=/crm/accounts" in page.headers["Location"]


def test_missing_permission_gets_403_on_pages_and_api(app):
    create_user(app, "rep@example.com", ["Sales rep"])
    rep = login(app.test_client(), "rep@example.com", "user-pass-123")
    assert rep.get("/crm/accounts").status_code == 200
    assert rep.get("/finance/customers").status_code == 403
    assert "/finance/customers" not in rep.get("/").get_data(as_text=True)  # no menu entry
    api = ApiClient(app.test_client(), token_for(app, "rep@example.com"))
    assert api.get("/api/v1/crm/accounts").status_code == 200
    refused = api.post("/api/v1/finance/customers", json={"name": "X"})
    assert refused.status_code == 403 and "finance.customer.write" in refused.get_json()["message"]
    assert api.post("/api/v1/admin/modules/crm/uninstall", json={}).status_code == 403


def test_forms_need_a_csrf_token_but_bearer_api_calls_do_not(app):
    browser = login(app.test_client())
    refused = browser.post("/crm/accounts/new", data={"name": "No Token Ltd"})
    assert refused.status_code == 400
    token = csrf_from(browser.get("/crm/accounts/new"))
    accepted = browser.post("/crm/accounts/new", data={"name": "Token Ltd", "csrf_token": token})
    assert accepted.status_code == 302
    api = ApiClient(app.test_client(), token_for(app))
    assert api.post("/api/v1/crm/accounts", json={"name": "Api Ltd"}).status_code == 201
    # a session (cookie) call to the API is a browser call: it needs the token too
    assert browser.post("/api/v1/crm/accounts", json={"name": "Cookie Ltd"}).status_code == 400


def test_login_rejects_wrong_password_and_is_rate_limited(app):
    client = app.test_client()
    token = csrf_from(client.get("/login"))
    for _ in range(10):
        bad = client.post("/login", data={"email": "admin@example.com", "password": "nope",
                                          "csrf_token": token})
        assert bad.status_code == 401 and "Wrong email or password" in bad.get_data(as_text=True)
    blocked = client.post("/login", data={"email": "admin@example.com", "password": "admin-pass-123",
                                          "csrf_token": token})
    assert blocked.status_code == 429


def test_passwords_are_hashed_with_a_key_derivation_function(app):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "admin@example.com"))
        assert user.password_hash.startswith("scrypt:")
        assert "admin-pass-123" not in user.password_hash


def test_login_does_not_redirect_off_site(app):
    client = app.test_client()
    token = csrf_from(client.get("/login"))
    response = client.post("/login", data={"email": "admin@example.com", "password": "admin-pass-123",
                                           "next": "https://evil.example/", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_tokens_are_stored_hashed_and_can_be_revoked_from_the_api(app):
    api = ApiClient(app.test_client(), token_for(app))
    created = api.post("/api/v1/auth/tokens", json={"name": "integration"})
    assert created.status_code == 201
    plain = created.get_json()["token"]
    with app.app_context():
        from core.auth.models import ApiToken

        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                                 .where(ApiToken.token_hash == plain)) == 0
    second = ApiClient(app.test_client(), plain)
    assert second.get("/api/v1/auth/me").get_json()["email"] == "admin@example.com"
    assert api.delete(f"/api/v1/auth/tokens/{created.get_json()['id']}").status_code == 204
    assert second.get("/api/v1/auth/me").status_code == 401


def test_tokens_from_the_cli_and_the_profile_page(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "admin@example.com", "--name", "cli"])
    assert result.exit_code == 0
    plain = result.output.strip().splitlines()[-1]
    api = ApiClient(app.test_client(), plain)
    assert api.get("/api/v1/auth/me").status_code == 200
    token_id = result.output.split()[1]
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert api.get("/api/v1/auth/me").status_code == 401

    browser = login(app.test_client())
    page = browser.get("/profile")
    made = browser.post("/profile", data={"name": "from the page", "csrf_token": csrf_from(page)})
    assert made.status_code == 200 and "tdm_" in made.get_data(as_text=True)


def test_users_page_creates_a_user_with_roles_and_shows_errors(app):
    browser = login(app.test_client())
    token = csrf_from(browser.get("/admin/users/new"))
    bad = browser.post("/admin/users/new", data={"email": "not-an-email", "name": "Bo",
                                                 "password": "short", "csrf_token": token})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Not a valid email address." in text and 'value="Bo"' in text
    ok = browser.post("/admin/users/new", data={"email": "acc@example.com", "name": "Ann",
                                                "password": "long-enough-1", "roles": "Accountant",
                                                "csrf_token": token})
    assert ok.status_code == 302
    accountant = login(app.test_client(), "acc@example.com", "long-enough-1")
    assert accountant.get("/finance/customers").status_code == 200
    assert accountant.get("/crm/accounts").status_code == 403


def test_cli_init_and_users(kernel_app):
    runner = kernel_app.test_cli_runner()
    result = runner.invoke(args=["init", "--email", "boss@example.com"])
    assert result.exit_code == 0 and "Admin login: boss@example.com / " in result.output
    result = runner.invoke(args=["users", "create", "x@example.com", "--name", "X",
                                 "--password", "long-enough-2", "--role", "Administrator"])
    assert result.exit_code == 0
    result = runner.invoke(args=["users", "create", "x@example.com", "--name", "X",
                                 "--password", "long-enough-2"])
    assert result.exit_code != 0 and "already exists" in result.output
