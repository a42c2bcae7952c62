"""Login sessions: loading the user, logging in and out."""

from __future__ import annotations

import hashlib
import secrets
import time

from flask import Flask, current_app, flash, request, session
from flask_babel import gettext as _
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
    # "strong": a login session used from another address or browser is dropped. Flask-Login does this
    # only for non-permanent sessions, so the login cookie lasts for the browser session (see
    # start_session) and idle sessions end on the server's clock (expire_idle_session).
    login_manager.session_protection = "strong"
    login_manager._session_identifier_generator = session_identifier

    @app.before_request
    def expire_idle_session():
        if "_user_id" not in session:
            return
        now = int(time.time())
        seen = session.get("_seen")
        if not isinstance(seen, int) or now - seen > current_app.config["SESSION_IDLE_TIMEOUT"]:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            flash(_("You were logged out after a long time without activity. Please log in again."), "info")
        elif now - seen >= 60:  # activity, noted at most once a minute (each note is a new cookie)
            session["_seen"] = now

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
    session.permanent = False  # a browser-session cookie: Flask-Login's strong protection needs it
    session["_sid"] = secrets.token_urlsafe(16)  # a new id for every login, whatever came before
    session["_seen"] = int(time.time())


def end_session(user: User) -> None:
    """Log out. Rotating the token ends this login everywhere: a copied old cookie stops working."""
    user.session_token = new_session_token()
    logout_user()
    session.clear()


def session_identifier() -> str:
    """What binds a login session to its browser: the client address (as ProxyFix gives it, from the
    configured trusted proxies only, never a header anyone can send) and the User-Agent."""
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha512(f"{request.remote_addr}|{agent}".encode("utf-8", "replace")).hexdigest()


def new_session_token() -> str:
    return secrets.token_hex(16)
