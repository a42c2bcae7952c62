"""Load the demo clients (seed_data/clients.yaml) through the same services the app uses.

Each client is loaded in a savepoint: a bad record is reported as ``file:line [key]: reason`` and the
rest still loads. A client whose key exists already is left as it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from directory.accounts.models import User
from directory.catalog.models import Location, Service
from directory.clock import local_zone
from directory.extensions import db
from directory.models_base import id_from_key, utcnow
from directory.referrals import services
from directory.referrals.models import Client
from directory.seed import read_yaml


class _Clock:
    """Turns ``days_ago`` into dates and times relative to the day of loading."""

    def __init__(self, today: date, now: datetime):
        self.today, self.now = today, now

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=int(days_ago))

    def moment(self, days_ago: int) -> datetime:
        """10:30 in Guangzhou on the local day ``days_ago`` before today (now, for today)."""
        if not days_ago:
            return self.now
        local = datetime.combine(self.day(days_ago), time(10, 30), tzinfo=local_zone())
        return local.astimezone(UTC)


def _load_client(record: dict[str, Any], clock: _Clock, demo: bool = True) -> Client:
    owner = db.session.scalar(select(User).filter_by(username=record.get("owner")))
    if owner is None:
        raise ValueError(f"unknown owner '{record.get('owner')}'")
    values = {name: record.get(name) for name in services.CLIENT_FIELDS}
    client = services.create_client(owner, values, record.get("facts") or {})
    client.seed_key = record["key"]
    client.demo = demo  # its referrals and attempts too (services.create_referral, record_attempt)
    for consent in record.get("consents") or []:
        org_key = consent.get("organization")
        services.record_consent(
            client,
            {
                "organization_id": id_from_key("organization", org_key) if org_key else None,
                "category": consent.get("category"),
                "fields": consent.get("fields") or [],
                "purpose": consent.get("purpose", "referral"),
                "valid_from": clock.day(consent.get("days_ago", 0)),
                "valid_until": None,
                "given_by": consent.get("given_by", "client"),
                "guardian_name": consent.get("guardian_name"),
                "guardian_relation": consent.get("guardian_relation"),
            },
            owner,
            clock.today,
        )
    for need_record in record.get("needs") or []:
        need = services.add_need(client, need_record.get("category"), need_record.get("goal"), owner)
        need.created_at = clock.moment(need_record.get("days_ago", 0))
        for ref in need_record.get("referrals") or []:
            service = db.session.get(Service, id_from_key("service", ref.get("service", "")))
            if service is None:
                raise ValueError(f"need {need_record.get('key')}: unknown service '{ref.get('service')}'")
            location = None
            if ref.get("location"):
                location = db.session.get(Location, id_from_key("location", ref["location"]))
            try:
                referral = services.create_referral(
                    client,
                    need,
                    service,
                    location,
                    owner,
                    clock.day(ref.get("days_ago", 0)),
                    eligibility_override_reason=ref.get("eligibility_override"),
                )
            except services.ReferralError as exc:
                raise ValueError(f"need {need_record.get('key')}, service {ref.get('service')}: {exc}") from exc
            referral.created_at = referral.last_activity_at = clock.moment(ref.get("days_ago", 0))
            for attempt in ref.get("attempts") or []:
                moment = clock.moment(attempt.get("days_ago", 0))
                follow = attempt.get("next_follow_up_days_ago")
                values = {
                    "occurred_at": moment,
                    "channel": attempt.get("channel"),
                    "party": attempt.get("party"),
                    "outcome": attempt.get("outcome"),
                    "refused_by": attempt.get("refused_by"),
                    "refusal_reason": attempt.get("refusal_reason"),
                    "note": attempt.get("note"),
                    "next_follow_up": clock.day(follow) if follow is not None else None,
                }
                services.record_attempt(referral, values, owner, now=moment)
        closed = need_record.get("closed")
        if closed:
            services.close_need(need, closed.get("status"), closed.get("note"), owner)
            need.closed_at = clock.moment(closed.get("days_ago", 0))
    return client


def load_demo_clients(
    path: Path, errors: list[str], today: date, now: datetime | None = None, demo: bool = True
) -> int:
    """Create the demo clients that do not exist yet; return how many were created. They are demo data
    (removable, outside the hash chain) unless ``demo`` is False (tests of what real records get)."""
    if not path.exists():
        return 0
    clock = _Clock(today, now or utcnow())
    created = 0
    for record in read_yaml(path).get("clients") or []:
        key = record.get("key")
        if not key:
            errors.append(f"{path.name}:{record.get('__line__', '?')}: a client needs a key")
            continue
        if db.session.scalar(select(Client.id).where(Client.seed_key == key)) is not None:
            continue
        savepoint = db.session.begin_nested()
        try:
            _load_client(record, clock, demo)
            savepoint.commit()
            created += 1
        except (ValueError, KeyError, TypeError) as exc:
            savepoint.rollback()
            errors.append(f"{path.name}:{record.get('__line__', '?')} [{key}]: {exc}")
    return created
