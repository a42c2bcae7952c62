"""Login sessions: loading the user, logging in and out."""

from __future__ import annotations

import secrets

from flask import Flask, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user

from directory.accounts.models import User
from directory.accounts.passwords import verify_password
from directory.extensions import db
from directory.models_base import utcnow


def init_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        user_id, _, token = session_id.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not secrets.compare_digest(user.session_token, token):
            return None
        return user


def authenticate(username: str, password: str) -> User | None:
    """The user for these credentials, or None. Same work for unknown user and wrong password."""
    user = db.session.scalar(db.select(User).filter_by(username=username.strip()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    return user


def start_session(user: User) -> None:
    """Log in with a fresh session, so nothing from before login carries over."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    user.last_login_at = utcnow()
    login_user(user)
    session.permanent = True


def end_session(user: User) -> None:
    """Log out. Rotating the token ends this login everywhere: a copied old cookie stops working."""
    user.session_token = new_session_token()
    logout_user()
    session.clear()


def new_session_token() -> str:
    return secrets.token_hex(16)
