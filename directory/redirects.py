"""One rule for every ``next`` parameter: only a path on this site, never another site; and pages that moved."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import redirect, request, url_for
from werkzeug.wrappers import Response


def is_safe_path(target: object) -> bool:
    """True for a path on this site (``/search?q=…``); False for anything a browser could take elsewhere.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so ``/%09/evil.example``
    and ``/\\evil.example`` both lead to ``//evil.example``; any control character, whitespace or
    backslash is refused, as is anything that does not start with exactly one slash.
    """
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return False
    if any(ch == "\\" or ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: object, default: str | None = None) -> str:
    """``target`` when it is a path on this site, else ``default`` (the home page)."""
    if is_safe_path(target):
        return target  # type: ignore[return-value]
    return default if default is not None else url_for("catalog.home")


def moved(endpoint: str, drop: tuple[str, ...] = (), **values: str) -> Response:
    """A permanent redirect (308) from an old address to ``endpoint``: the query string goes along, without
    the parameters in ``drop`` (those the new address carries in its path)."""
    query = [(name, value) for name, value in request.args.items(multi=True) if name not in drop]
    target = url_for(endpoint, **values)
    return redirect(f"{target}?{urlencode(query)}" if query else target, 308)
