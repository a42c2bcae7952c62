"""Password policy and hashing (scrypt via Werkzeug).

A password must have at least 8 characters and be hard to guess: zxcvbn's score (0–4) must be 3 or
more, with the user's own names counted as easy guesses.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 8
MIN_SCORE = 3  # zxcvbn: 3 is "safely unguessable: moderate protection from offline slow-hash scenario"
CHECKED_LENGTH = 72  # zxcvbn refuses longer input (its time grows fast with the length)
_COMMON = frozenset(FREQUENCY_LISTS["passwords"])
# Hash of a random string, checked when the user does not exist so that both answers take as long.
_DUMMY_HASH = generate_password_hash("lianjie-timing-equaliser", method="scrypt")


def password_problems(password: str, username: str = "", user_inputs: Iterable[str | None] = ()) -> list[str]:
    """Reasons the password is refused (empty list: acceptable): too_short, too_common, too_weak.

    ``user_inputs`` are the user's other names (display name, email) that make a password easy to guess.
    """
    if len(password) < MIN_LENGTH:
        return ["too_short"]
    lowered = password.lower()
    if lowered in _COMMON or (username and username.lower() in lowered):
        return ["too_common"]
    inputs = [v for v in (username, *user_inputs) if v]
    inputs += [part for v in inputs if "@" in v for part in v.split("@", 1)]
    if zxcvbn(password[:CHECKED_LENGTH], user_inputs=inputs)["score"] < MIN_SCORE:
        return ["too_weak"]
    return []


def hash_password(password: str) -> str:
    """scrypt with Werkzeug's default cost unless PASSWORD_HASH_METHOD says otherwise (tests lower it)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


def verify_password(password_hash: str | None, password: str) -> bool:
    return check_password_hash(password_hash or _DUMMY_HASH, password) and password_hash is not None
