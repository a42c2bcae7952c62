"""One rule for every ``next`` parameter: only a path on this site, never another site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


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
