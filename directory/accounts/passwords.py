"""Password policy and hashing (scrypt via Werkzeug)."""

from __future__ import annotations

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 8
_COMMON = frozenset(FREQUENCY_LISTS["passwords"])
# Hash of a random string, checked when the user does not exist so that both answers take as long.
_DUMMY_HASH = generate_password_hash("lianjie-timing-equaliser", method="scrypt")


def password_problems(password: str, username: str = "") -> list[str]:
    """Reasons the password is refused (empty list: acceptable). Messages are translation keys."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    lowered = password.lower()
    if lowered in _COMMON or (username and username.lower() in lowered):
        problems.append("too_common")
    return problems


def hash_password(password: str) -> str:
    """scrypt with Werkzeug's default cost unless PASSWORD_HASH_METHOD says otherwise (tests lower it)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


def verify_password(password_hash: str | None, password: str) -> bool:
    return check_password_hash(password_hash or _DUMMY_HASH, password) and password_hash is not None
