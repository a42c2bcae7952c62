from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from directory.accounts import throttle
from directory.accounts.auth import authenticate, end_session, new_session_token, start_session
from directory.accounts.forms import AccountForm, ChangePasswordForm, LoginForm
from directory.accounts.passwords import hash_password, password_problems, verify_password
from directory.extensions import limiter
from directory.redirects import safe_next

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("start.page"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        username = form.username.data
        wait = throttle.wait_seconds(username)
        if wait:
            error, status = _throttled_message(wait), 429
        else:
            user = authenticate(username, form.password.data)
            if user is not None:
                throttle.clear(username)
                start_session(user)
                return redirect(safe_next(request.args.get("next"), url_for("start.page")))
            throttle.record_failure(username)
            error, status = _("Wrong username or password."), 401
            if wait := throttle.wait_seconds(username):  # that failure started a delay: say so now
                error = f"{error} {_throttled_message(wait)}"
    return render_template("accounts/login.html", form=form, error=error), status


def _throttled_message(seconds: int) -> str:
    if seconds < 120:
        return _("Too many failed logins for this account. Wait %(seconds)d seconds, then try again.", seconds=seconds)
    return _(
        "Too many failed logins for this account. Wait %(minutes)d minutes, then try again.",
        minutes=-(-seconds // 60),
    )


@bp.post("/logout")
@login_required
def logout():
    end_session(current_user._get_current_object())
    flash(_("You have been logged out."), "info")
    return redirect(url_for("catalog.home"))


@bp.post("/language/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
    return redirect(safe_next(request.form.get("next")))


PASSWORD_PROBLEMS = {
    "too_short": _l("The password must have at least 8 characters."),
    "too_common": _l("This password is too common or contains your username."),
    "too_weak": _l(
        "This password is too easy to guess. Use a longer one, for example three or four unrelated words, "
        "and not your name."
    ),
}


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password (the current one is asked); every other login of the user ends."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        new = form.new_password.data
        if wait := throttle.wait_seconds(user.username):  # guesses here count like failed logins
            form.current_password.errors = [_throttled_message(wait)]
        elif not verify_password(user.password_hash, form.current_password.data):
            throttle.record_failure(user.username)
            form.current_password.errors = [_("The current password is not right.")]
        elif problems := password_problems(new, user.username, [user.display_name, user.email]):
            form.new_password.errors = [str(PASSWORD_PROBLEMS[p]) for p in problems]
        else:
            user.password_hash = hash_password(new)
            user.session_token = new_session_token()  # other browsers' sessions stop working …
            start_session(user)  # … and this one starts afresh with the new token
            flash(_("Your password was changed. Your other logins have ended."), "success")
            return redirect(url_for("catalog.home"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/password.html", form=form), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """One's own account: the work phone printed on the lists clients keep; a link to change the password."""
    user = current_user._get_current_object()
    form = AccountForm(obj=user)
    if form.validate_on_submit():
        user.work_phone = form.work_phone.data or None
        flash(_("Your account was saved."), "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form), (400 if form.errors else 200)
