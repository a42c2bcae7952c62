"""The ``page`` query parameter of paged lists, read so that no value can fail the query."""

from __future__ import annotations

from flask import request

MAX_PAGE = 1_000_000


def page_number() -> int:
    """The page asked for: 1 when ``page`` is not a whole number, at most MAX_PAGE.

    Flask-SQLAlchemy reads ``page`` with ``int()``: a 30-digit page became an OFFSET too large for a
    SQLite INTEGER (OverflowError, a 500). A past-the-end page is an empty page (``error_out=False``).
    """
    raw = (request.args.get("page") or "1").strip()
    if not raw.isascii() or not raw.isdigit():
        return 1
    return max(1, min(int(raw) if len(raw) <= 7 else MAX_PAGE, MAX_PAGE))
