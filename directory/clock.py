"""The Guangzhou clock: the wall-clock time where the services are (``TIMEZONE``, Asia/Shanghai).

Hours, "open now", verification dates, follow-ups and referral dates all read it, so it lives below
every package that needs it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def local_zone() -> ZoneInfo:
    """The services' time zone (the ``TIMEZONE`` setting)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_now() -> datetime:
    """Wall-clock time where the services are (Asia/Shanghai), as a naive datetime."""
    return datetime.now(local_zone()).replace(tzinfo=None)


def local_today() -> date:
    return local_now().date()
