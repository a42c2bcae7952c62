"""Saving a form over a versioned row (``version_id_col``): only over the version the form was shown with.

Two people editing one listing or client record: the second save must not silently undo the first. The
form carries the version it was shown with; the save goes through only when that is still the row's
version, and a concurrent commit that wins the race (``StaleDataError`` at flush) is rolled back the same
way. The route then shows the form again with what the user typed and a conflict message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm.exc import StaleDataError

from directory.extensions import db

T = TypeVar("T")


def save_versioned(row: Any, submitted_version: str | None, apply: Callable[[], T]) -> tuple[bool, T | None]:
    """Run ``apply`` (the change) and flush it when ``submitted_version`` is still ``row.version`` (the
    request commits it).

    Returns (saved, what ``apply`` returned); (False, None) when someone else saved first — nothing is
    written then.
    """
    if str(row.version) != (submitted_version or ""):
        return False, None
    try:
        result = apply()
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        return False, None
    return True, result
