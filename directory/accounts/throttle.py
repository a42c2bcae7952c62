"""Failed logins per account, counted in the database: the count holds across workers, restarts and servers.

After ``FREE_FAILURES`` failed logins for a username, the next attempt must wait ``delay_for(failures)``
seconds after the last failure: 15 s, then 30 s, 1 min, 2 min … at most 15 min. Attempts made while the
delay runs are answered at once with how long to wait; their password is not checked and they do not
count, so the delay never grows beyond the ceiling and the right password works as soon as it ends: an
attacker slows guessing down to a few per quarter hour but cannot lock the owner out.

Unknown usernames are counted the same way (the answer does not tell whether an account exists), by a
hash of the normalised username. A count is forgotten a day after its last failure. This comes on top of
the per-address limit (Flask-Limiter, LOGIN_RATE_LIMIT).
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from directory.accounts.models import LoginThrottle
from directory.extensions import db
from directory.models_base import utcnow

FREE_FAILURES = 5
BASE_DELAY_S = 15
MAX_DELAY_S = 15 * 60
FORGET_AFTER = timedelta(days=1)


def delay_for(failures: int) -> int:
    """Seconds to wait after the last of ``failures`` failed logins."""
    if failures < FREE_FAILURES:
        return 0
    return min(BASE_DELAY_S * 2 ** min(failures - FREE_FAILURES, 20), MAX_DELAY_S)


def _key(username: str) -> str:
    return hashlib.sha256(username.strip().casefold().encode("utf-8")).hexdigest()


def wait_seconds(username: str, now: datetime | None = None) -> int:
    """How long this username must wait before its next login attempt is checked (0: not at all)."""
    now = now or utcnow()
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.key == _key(username)))
    if row is None or now - row.last_failed_at > FORGET_AFTER:
        return 0
    until = row.last_failed_at + timedelta(seconds=delay_for(row.failures))
    return max(0, math.ceil((until - now).total_seconds()))


def record_failure(username: str) -> None:
    """Count a failed login (in the caller's transaction; the caller commits)."""
    now = utcnow()
    key = _key(username)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.last_failed_at < now - FORGET_AFTER))
    bump = (
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=LoginThrottle.failures + 1, last_failed_at=now)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(bump).rowcount:
        return
    try:
        with db.session.begin_nested():  # another worker may insert the same key at the same moment
            db.session.execute(insert(LoginThrottle).values(key=key, failures=1, last_failed_at=now))
    except IntegrityError:
        db.session.execute(bump)


def clear(username: str) -> None:
    """A successful login starts the count afresh."""
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.key == _key(username)).execution_options(synchronize_session=False)
    )


__all__ = ["FREE_FAILURES", "clear", "delay_for", "record_failure", "wait_seconds"]
