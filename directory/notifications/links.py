"""Signed, single-purpose, expiring links: a token naming one object and one user, for one purpose.

The salt is the purpose, so a token made for one purpose is refused for every other; the signature uses
the app's SECRET_KEY (changing it ends every link). The token carries no client data."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class LinkInvalid(Exception):
    """Tampered with, made for another purpose, or not a token at all."""


class LinkExpired(LinkInvalid):
    """Genuine, but older than it may be."""


@dataclass(frozen=True)
class LinkGrant:
    object_id: str
    user_id: int


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"lianjie-link:{purpose}")


def make_token(purpose: str, object_id: str, user_id: int) -> str:
    return _serializer(purpose).dumps({"o": object_id, "u": user_id})


def read_token(purpose: str, token: str, max_age_seconds: int) -> LinkGrant:
    """The object and user the token grants, or LinkExpired / LinkInvalid."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise LinkExpired(str(exc)) from exc
    except BadSignature as exc:
        raise LinkInvalid(str(exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("o"), str) or not isinstance(data.get("u"), int):
        raise LinkInvalid("unexpected token content")
    return LinkGrant(data["o"], data["u"])
