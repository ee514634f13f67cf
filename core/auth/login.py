"""Flask-Login wiring: who the current user is, from the session or a bearer token."""
import sqlalchemy as sa
from flask import request


def init_login(login_manager) -> None:
    """Flask-Login: sessions for pages, bearer tokens for the API."""
    from core.auth.models import User
    from core.auth.services import user_for_token
    from core.db import db

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id):
        # the roles with the user: every page checks a permission next
        user = db.session.get(User, int(user_id), options=[sa.orm.joinedload(User.roles)])
        return user if user and user.active else None

    @login_manager.request_loader
    def load_from_bearer(req):
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        user = user_for_token(header[7:].strip())
        if user is not None:
            request.bearer_authenticated = True  # a token is not a cookie: no CSRF risk
        return user

