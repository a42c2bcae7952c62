from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from directory.accounts.auth import authenticate, end_session, start_session
from directory.accounts.forms import LoginForm
from directory.extensions import db, limiter
from directory.redirects import safe_next

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("catalog.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            start_session(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        error = _("Wrong username or password.")
    return render_template("accounts/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    end_session(current_user._get_current_object())
    db.session.commit()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("catalog.home"))


@bp.post("/language/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))
