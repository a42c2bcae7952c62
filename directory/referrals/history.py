"""A year of synthetic referral history for the demo (``flask seed``), so the reports have something to say.

About 1,200 invented clients of eight demo caseworkers, their needs, consents, referrals to the demo
services and every outreach attempt, over the twelve calendar months up to the day before ``today``,
with the mix the field reports (docs/seed-data.md): success rates that differ by kind of service (methadone clinics
high, employment low), refusals with coded reasons (employers refusing a drug record among them),
caseworkers who try another service after a refusal (2 to 6 referrals for one need), agencies that
answer in a day or in weeks, waiting lists, documents to bring, quieter months around the Spring
Festival and the October holiday, and, near the end, referrals still under way with follow-ups due,
overdue or gone quiet.

Deterministic: the same ``seed`` and ``today`` give the same rows (ids included), whatever the clock.
Every row is demo data (``demo`` on clients, referrals and attempts; the caseworkers are the
``HISTORY_USERS``): the attempts stay outside the hash chain and ``flask delete-demo-data`` removes it
all (directory/demo.py). Statuses and the referral's cached figures come from the app's own rules
(``rules.summarize_attempts``, ``rules.standing_refusals``); the rows are inserted in bulk with
SQLAlchemy Core (the ORM, a few thousand rows a second, would take too long).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from directory.accounts.models import User
from directory.catalog.models import (
    Location,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
    service_taxonomy,
)
from directory.extensions import db
from directory.referrals import rules
from directory.referrals.models import REFERRAL_DIMENSIONS, Attempt, Client, Consent, Need, Referral, Refusal

SEED = 23
MONTHS = 12  # the history covers twelve calendar months, up to the day before ``today``
CLIENTS = 1300  # drawn; those whose needs all fall before the history's months are left out
LEAD_DAYS = 60  # needs may begin this long before the history; only their referrals in it are kept
FIRST_KEY = "history-0001"  # the first history client's seed_key: present once the history is loaded
BATCH = 2_000

# The demo caseworkers of the history besides demo-caseworker (seed_data/users.yaml), who takes a smaller
# share. They cannot log in (no usable password, inactive): they exist for the reports' caseworker rows.
HISTORY_USERS = (
    ("demo-history-wang", "王社工（示例）"),
    ("demo-history-li", "李社工（示例）"),
    ("demo-history-zhang", "张社工（示例）"),
    ("demo-history-liu", "刘社工（示例）"),
    ("demo-history-huang", "黄社工（示例）"),
    ("demo-history-zhou", "周社工（示例）"),
    ("demo-history-wu", "吴社工（示例）"),
)
MAIN_CASEWORKER = "demo-caseworker"
AGENCY_USER = "demo-agency"  # answers its organization's referrals through Lianjie
# The demo agency's organization (the city's big psychiatric and addiction hospital) gets referrals this
# many times more often than a service of the same popularity elsewhere: enough for its own figures, by
# service and by month, to show.
AGENCY_POPULARITY = 15

# Relative number of new needs by calendar month: the Spring Festival (February) and the National Day
# holiday (October) are quiet; spring, September and the year's end busy.
MONTH_WEIGHTS = {
    1: 1.0,
    2: 0.55,
    3: 1.15,
    4: 1.05,
    5: 1.0,
    6: 0.95,
    7: 0.9,
    8: 0.85,
    9: 1.1,
    10: 0.75,
    11: 1.15,
    12: 1.1,
}
DISTRICT_WEIGHTS = {
    "越秀区": 8,
    "荔湾区": 7,
    "海珠区": 11,
    "天河区": 11,
    "白云区": 16,
    "黄埔区": 7,
    "番禺区": 13,
    "花都区": 8,
    "南沙区": 5,
    "从化区": 4,
    "增城区": 8,
}
SURNAMES = "陈李张黄王刘林吴周梁何罗郭谢冯邓曾彭蔡苏潘钟"
GIVEN = ("明", "强", "芳", "丽", "华", "军", "伟", "敏", "杰", "娟", "东", "平", "勇", "霞", "斌", "燕")

PROVIDER_REASONS_DEFAULT = (("not_eligible", 35), ("no_capacity", 35), ("documents_missing", 20), ("other", 10))
RECONSIDERED = ("documents_missing", "no_capacity", "not_eligible")
CLIENT_REASONS = (("not_interested", 35), ("distance", 25), ("cost", 20), ("no_response", 10), ("other", 10))
CHANNELS = (("phone", 50), ("wechat", 20), ("visit", 8), ("in_person", 10), ("sms", 5), ("lianjie", 7))
NOTES = {
    "stigma_drug": "对方表示有吸毒史的人员不予接收。",
    "stigma_hiv": "对方得知感染情况后拒绝。",
    "no_capacity": "名额已满。",
    "not_eligible": "不符合申请条件。",
    "documents_missing": "缺少所需证件，暂不受理。",
    "cost": "费用负担不起。",
    "distance": "路途太远，交通不便。",
    "not_interested": "案主暂时不想去。",
    "family_unwilling": "家人不同意。",
    "no_response": "多次联系无回应。",
    "other": "对方另有安排（示例）。",
}


@dataclass(frozen=True)
class Profile:
    """How one kind of service answers: the share of needs, the provider's yes, the days to answer, to
    deliver, waiting lists, documents asked for, a client's change of mind, and the provider's reasons."""

    weight: float
    accept: float  # the provider accepts (else refuses) once reached
    answer_days: tuple[int, int]  # from referral to the provider's decision
    deliver_days: tuple[int, int]  # from acceptance to the service
    waitlist: float = 0.1
    documents: float = 0.1
    client_drop: float = 0.12  # the client (or family) refuses after acceptance
    reasons: tuple[tuple[str, int], ...] = PROVIDER_REASONS_DEFAULT
    walk_in: float = 0.05  # the client is served at the first contact (a clinic's dose, a food parcel)


# By top-level category (seed_data/taxonomy.yaml); a code of its own (methadone clinics) overrides its branch.
PROFILES: dict[str, Profile] = {
    "drug-treatment": Profile(
        16,
        0.85,
        (1, 4),
        (1, 7),
        0.05,
        0.15,
        0.08,
        (("no_capacity", 30), ("not_eligible", 30), ("documents_missing", 25), ("cost", 15)),
    ),
    "methadone-clinic": Profile(
        0,
        0.93,
        (0, 2),
        (0, 3),
        0.02,
        0.2,
        0.05,
        (("documents_missing", 50), ("not_eligible", 40), ("other", 10)),
        walk_in=0.3,
    ),
    "medical": Profile(
        11,
        0.8,
        (2, 8),
        (3, 14),
        0.15,
        0.1,
        0.1,
        (("not_eligible", 25), ("no_capacity", 20), ("stigma_hiv", 20), ("stigma_drug", 20), ("cost", 15)),
    ),
    "hiv": Profile(
        6,
        0.85,
        (1, 5),
        (2, 10),
        0.05,
        0.2,
        0.08,
        (("not_eligible", 40), ("documents_missing", 35), ("no_capacity", 25)),
    ),
    "financial-aid": Profile(
        12,
        0.5,
        (7, 25),
        (7, 30),
        0.05,
        0.45,
        0.05,
        (("not_eligible", 45), ("documents_missing", 35), ("no_capacity", 10), ("other", 10)),
    ),
    "employment": Profile(
        14,
        0.22,
        (3, 12),
        (5, 20),
        0.1,
        0.2,
        0.3,
        (
            ("stigma_drug", 45),
            ("not_eligible", 15),
            ("no_capacity", 15),
            ("documents_missing", 10),
            ("stigma_hiv", 5),
            ("other", 10),
        ),
        walk_in=0,
    ),
    "recovery-employer": Profile(
        0,
        0.45,
        (2, 8),
        (5, 15),
        0.15,
        0.2,
        0.3,
        (("no_capacity", 55), ("not_eligible", 25), ("stigma_drug", 20)),
        walk_in=0,
    ),
    "government": Profile(6, 0.75, (3, 15), (3, 20), 0.05, 0.3, 0.05),
    "housing-shelter": Profile(
        8,
        0.4,
        (2, 15),
        (3, 30),
        0.35,
        0.2,
        0.15,
        (("no_capacity", 45), ("not_eligible", 25), ("documents_missing", 15), ("stigma_drug", 10), ("cost", 5)),
    ),
    "legal-aid": Profile(3, 0.7, (3, 10), (5, 20), 0.1, 0.25, 0.1),
    "counselling": Profile(7, 0.8, (2, 7), (3, 14), 0.2, 0.05, 0.2),
    "children-family": Profile(
        6,
        0.5,
        (3, 14),
        (5, 25),
        0.3,
        0.1,
        0.15,
        (("no_capacity", 50), ("not_eligible", 20), ("cost", 15), ("stigma_drug", 15)),
    ),
    "social-services": Profile(5, 0.85, (1, 6), (2, 10), 0.05, 0.05, 0.1, walk_in=0.25),
    "food-relief": Profile(5, 0.9, (0, 3), (0, 5), 0.02, 0.1, 0.05, walk_in=0.5),
    "anti-drug": Profile(3, 0.7, (2, 10), (3, 15), 0.05, 0.1, 0.1),
}
SENSITIVE_BY_BRANCH = {
    "drug-treatment": ["substance_use"],
    "anti-drug": ["substance_use"],
    "hiv": ["hiv"],
    "medical": ["health"],
    "financial-aid": ["finances"],
    "children-family": ["family"],
}


@dataclass
class HistoryReport:
    """What was inserted (rows per table) and the caseworkers made; ``skipped``: it was there already."""

    rows: dict[str, int] = field(default_factory=dict)
    skipped: bool = False


@dataclass
class _Made:
    """A referral made, its attempts and the report rows of its standing refusals (kept or not)."""

    referral: dict
    attempts: list[dict]
    refusals: list[dict]


class _Log:
    """What ``rules`` reads of an attempt."""

    __slots__ = ("id", "number", "occurred_at", "outcome", "next_follow_up", "corrects_id")

    def __init__(self, row: dict):
        for name in self.__slots__:
            setattr(self, name, row[name])


def _pick(rng: random.Random, weighted) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights)[0]


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Catalog:
    """The services a need of each category can go to (active, accepting referrals), with their locations."""

    def __init__(self, rng: random.Random, busy_organization: str | None = None):
        # Every list is sorted here, in Python: the same order on SQLite and PostgreSQL (whose collation may
        # sort "a-b" and "ab" the other way round), so the same seed draws the same rows.
        terms = sorted(db.session.execute(select(TaxonomyTerm.id, TaxonomyTerm.code, TaxonomyTerm.parent_id)).all())
        code_of = {term_id: code for term_id, code, _ in terms}
        parent_of = {code: code_of.get(parent) for _, code, parent in terms}
        self.names = dict(db.session.execute(select(TaxonomyTerm.code, TaxonomyTerm.name)).all())

        def ancestry(code: str) -> list[str]:
            chain = [code]
            while parent_of.get(chain[-1]):
                chain.append(parent_of[chain[-1]])
            return chain

        self.top = {code: ancestry(code)[-1] for code in parent_of}
        self.services: dict[str, tuple[str, str]] = {}  # id → organization id
        rows = sorted(
            db.session.execute(
                select(Service.id, Service.organization_id).where(
                    Service.status == "active", Service.accepting_referrals.is_(True)
                )
            ).all()
        )
        self.services = {service_id: org_id for service_id, org_id in rows}
        self.by_code: dict[str, list[str]] = defaultdict(list)  # a code → services under it
        self.codes_of: dict[str, list[str]] = defaultdict(list)  # a service → its own codes
        links = sorted(db.session.execute(select(service_taxonomy.c.service_id, service_taxonomy.c.taxonomy_term_id)))
        for service_id, term_id in links:
            if service_id not in self.services or term_id not in code_of:
                continue
            self.codes_of[service_id].append(code_of[term_id])
            for code in ancestry(code_of[term_id]):
                if service_id not in self.by_code[code]:
                    self.by_code[code].append(service_id)
        self.locations: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        places = db.session.execute(
            select(ServiceAtLocation.service_id, Location.id, Location.district).join(
                Location, Location.id == ServiceAtLocation.location_id
            )
        )
        for service_id, location_id, district in sorted(places, key=lambda p: (p[0], p[1])):
            self.locations[service_id].append((location_id, district))
        # Some services are known and used much more than others.
        self.popularity = {service_id: rng.lognormvariate(0, 0.8) for service_id in self.services}
        for service_id, organization_id in self.services.items():
            if organization_id == busy_organization:
                self.popularity[service_id] *= AGENCY_POPULARITY
        # The need categories of each branch: the codes services are filed under, as often as they are used.
        self.need_codes: dict[str, list[tuple[str, int]]] = defaultdict(list)
        counts: dict[str, int] = defaultdict(int)
        for codes in self.codes_of.values():
            for code in codes:
                counts[code] += 1
        for code in sorted(counts):
            self.need_codes[self.top[code]].append((code, counts[code]))

    def profile(self, code: str) -> Profile:
        return PROFILES.get(code) or PROFILES.get(self.top.get(code, ""), PROFILES["social-services"])

    def choose(self, rng: random.Random, code: str, district: str, tried: set[str]) -> str | None:
        candidates = [s for s in self.by_code.get(code, []) if s not in tried]
        if not candidates:
            candidates = [s for s in self.by_code.get(self.top.get(code, code), []) if s not in tried]
        if not candidates:
            return None
        near = {s: any(d == district for _, d in self.locations.get(s, [])) for s in candidates}
        weights = [self.popularity[s] * (4 if near[s] else 1) for s in candidates]
        return rng.choices(candidates, weights)[0]


class _Clock:
    """Local working-hour moments, as UTC, on the history's days."""

    def __init__(self, today: date, zone: str):
        self.today, self.zone = today, ZoneInfo(zone)
        self.end = datetime.combine(today, time.min, tzinfo=self.zone).astimezone(UTC)  # nothing at or after
        self.start = datetime.combine(history_start(today), time.min, tzinfo=self.zone).astimezone(UTC)

    def at(self, day: date, rng: random.Random) -> datetime:
        minutes = rng.randrange(9 * 60, 17 * 60 + 30)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def history_start(today: date) -> date:
    """The first day of the history: the first of the month eleven months before yesterday's, so that the
    history covers twelve calendar months, the last one up to the day before ``today``."""
    last = today - timedelta(days=1)
    months = last.year * 12 + last.month - 1 - (MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


def _need_days(rng: random.Random, today: date, n: int) -> list[date]:
    """``n`` days of the history (and of the ``LEAD_DAYS`` before it), more on weekdays and in busy months."""
    start = history_start(today) - timedelta(days=LEAD_DAYS)
    days = [start + timedelta(days=offset) for offset in range((today - start).days)]
    weights = [MONTH_WEIGHTS[d.month] * (1.0 if d.weekday() < 5 else 0.25) for d in days]
    return rng.choices(days, weights, k=n)


class _Generator:
    def __init__(self, rng: random.Random, catalog: _Catalog, clock: _Clock, workers: list[int], agency: int | None):
        self.rng, self.catalog, self.clock = rng, catalog, clock
        self.workers, self.agency_user = workers, agency
        self.agency_org = None
        self.rows: dict[str, list[dict]] = defaultdict(list)
        # Some caseworkers give up sooner than others.
        self.persistence = {w: 0.65 + 0.3 * rng.random() for w in workers}

    # --- one referral: its attempts, as planned, cut at the end of the history ----------------------------

    def _attempt(self, referral_id: str, moment: datetime, outcome: str, party: str, actor: int, **extra) -> dict:
        rng = self.rng
        channel = "lianjie" if actor == self.agency_user else _pick(rng, CHANNELS)
        return {
            "id": _new_id(rng),
            "referral_id": referral_id,
            "occurred_at": moment,
            "recorded_at": min(moment + timedelta(minutes=rng.randrange(1, 90)), self.clock.end - timedelta(seconds=1)),
            "actor_id": actor,
            "channel": channel,
            "party": party,
            "outcome": outcome,
            "refused_by": extra.get("refused_by"),
            "refusal_reason": extra.get("refusal_reason"),
            "note": extra.get("note"),
            "next_follow_up": None,
            "corrects_id": None,
            "demo": True,
        }

    def _plan(self, referral_id: str, created: datetime, profile: Profile, owner: int, answerer: int, shy: bool):
        """The attempts a referral would have, and how it would end ("delivered" or "refused")."""
        rng, plan = self.rng, []
        t = created + timedelta(hours=rng.uniform(2, 40))

        def later(low: float, high: float) -> datetime:
            return plan[-1]["occurred_at"] + timedelta(days=rng.uniform(low, high)) if plan else t

        # Reaching the provider (or the client, for a client who is hard to reach) can take a few tries.
        misses = 0
        while rng.random() < (0.45 if shy else 0.28) and misses < 4:
            party = "client" if shy and rng.random() < 0.6 else "provider"
            outcome = _pick(rng, (("no_answer", 50), ("left_message", 30), ("call_back_later", 20)))
            plan.append(self._attempt(referral_id, later(1, 3), outcome, party, owner))
            misses += 1
        if not plan and rng.random() < profile.walk_in:
            plan.append(self._attempt(referral_id, t, "service_delivered", "client", owner))
            return plan, "delivered"
        answer = later(*profile.answer_days) if plan else t + timedelta(days=rng.uniform(*profile.answer_days))
        if rng.random() >= profile.accept:
            reason = _pick(rng, profile.reasons)
            refusal = self._attempt(
                referral_id, answer, "refused", "provider", answerer, refused_by="provider", refusal_reason=reason
            )
            refusal["note"] = NOTES[reason] if reason == "other" or rng.random() < 0.5 else None
            plan.append(refusal)
            # Documents brought, a place freed, the caseworker's case made: some refusals are reconsidered.
            if reason not in RECONSIDERED or rng.random() >= 0.3:
                return plan, "refused"
            answer = later(3, 20)
        if rng.random() < profile.documents:
            plan.append(self._attempt(referral_id, answer, "needs_documents", "provider", answerer))
            answer = later(2, 10)
        if rng.random() < profile.waitlist:
            plan.append(self._attempt(referral_id, answer, "waitlisted", "provider", answerer))
            answer = later(7, 35)
        plan.append(self._attempt(referral_id, answer, "accepted", "provider", answerer))
        if rng.random() < profile.client_drop:
            family = rng.random() < 0.25
            reason = "family_unwilling" if family else _pick(rng, CLIENT_REASONS)
            who = "family" if family else "client"
            refusal = self._attempt(
                referral_id, later(1, 6), "refused", who, owner, refused_by=who, refusal_reason=reason
            )
            refusal["note"] = NOTES[reason] if reason == "other" or rng.random() < 0.5 else None
            plan.append(refusal)
            return plan, "refused"
        party = "client" if rng.random() < 0.6 else "provider"
        plan.append(self._attempt(referral_id, later(*profile.deliver_days), "service_delivered", party, owner))
        return plan, "delivered"

    def _cut(self, plan: list[dict]) -> tuple[list[dict], bool]:
        """The planned attempts that happened before the history's end; the last one sets the follow-up (the
        day the next was planned). A few referrals went quiet: their follow-up passed with nothing done."""
        end = self.clock.end
        done = [a for a in plan if a["occurred_at"] < end]
        finished = len(done) == len(plan)
        if not finished and len(done) > 1 and self.rng.random() < 0.25:
            done = done[:-1]  # the caseworker did not follow up: overdue, and soon stale
        for here, following in zip(done, plan[1:], strict=False):
            here["next_follow_up"] = self.clock.local_day(following["occurred_at"])
        if done and finished:
            done[-1]["next_follow_up"] = None
        if not finished and not done:
            return [], False
        return done, finished

    def referral(self, client: dict, need: dict, service_id: str, created: datetime) -> tuple[_Made, str, datetime]:
        """Make one referral with its attempts; returns them, how it ended ("delivered", "refused", "open")
        and when it ended (or was last touched)."""
        rng, catalog = self.rng, self.catalog
        organization_id = catalog.services[service_id]
        referral_id = _new_id(rng)
        owner = client["owner_id"]
        answerer = self.agency_user if organization_id == self.agency_org and rng.random() < 0.7 else owner
        plan, ending = self._plan(
            referral_id, created, catalog.profile(need["category"]), owner, answerer, client["_shy"]
        )
        made, finished = self._cut(plan)
        for number, attempt in enumerate(made, start=1):
            attempt["number"] = number
        location_id, district = None, None
        near = [loc for loc, d in catalog.locations.get(service_id, []) if d == client["district"]]
        if near:
            location_id, district = rng.choice(near), client["district"]
        log = [_Log(a) for a in made]
        row = {
            "id": referral_id,
            "client_id": client["id"],
            "need_id": need["id"],
            "service_id": service_id,
            "location_id": location_id,
            "organization_id": organization_id,
            "created_by_id": owner,
            "created_at": created,
            "consent_id": client["_consents"][catalog.top.get(need["category"], need["category"])],
            "eligibility_status": "eligible" if rng.random() < 0.7 else "unknown",
            "category": need["category"],
            "need_status": "open",
            "caseworker_id": owner,
            "district": district or client["district"],
            "last_activity_at": max([created, *(a["recorded_at"] for a in made)]),
            "seed_key": None,
            "demo": True,
            **vars(rules.summarize_attempts(log)),
        }
        dimensions = {k: row[k] for k in REFERRAL_DIMENSIONS}
        by_id = {m["id"]: m for m in made}
        refusals = [
            {
                "referral_id": referral_id,
                "attempt_id": a.id,
                "refused_by": by_id[a.id]["refused_by"],
                "refusal_reason": by_id[a.id]["refusal_reason"],
                **dimensions,
            }
            for a in rules.standing_refusals(log)
        ]
        last = made[-1]["occurred_at"] if made else created
        return _Made(row, made, refusals), (ending if finished else "open"), last

    # --- one need: referrals until one delivers, the client gives up, or the history ends ------------------

    def need(self, client: dict, code: str, day: date) -> bool:
        """One need and its referrals; only the referrals made in the history's months are kept (a need that
        began before them comes in with its later referrals: the first month is not an empty start).
        Returns whether the need was kept."""
        rng, clock = self.rng, self.clock
        created = clock.at(day, rng)
        need = {
            "id": _new_id(rng),
            "client_id": client["id"],
            "category": code,
            "goal": f"{self.catalog.names.get(code, code)}（示例需求）",
            "status": "open",
            "closed_at": None,
            "closed_by_id": None,
            "closing_note": None,
            "created_at": created,
        }
        made: list[_Made] = []
        tried: set[str] = set()
        moment = created + timedelta(hours=rng.uniform(1, 72))
        persistence = self.persistence[client["owner_id"]]
        while moment < clock.end and len(made) < 6:
            service_id = self.catalog.choose(rng, code, client["district"], tried)
            if service_id is None:
                break
            tried.add(service_id)
            referral, ending, last = self.referral(client, need, service_id, moment)
            made.append(referral)
            if ending == "delivered":
                closed = last + timedelta(days=rng.uniform(1, 10))
                if closed < clock.end and rng.random() < 0.92:
                    self._close(need, made, "met", "示例：服务已落实。", closed, client["owner_id"])
                break
            if ending == "open":
                break
            if rng.random() > persistence * (0.9 if len(made) < 3 else 0.7):
                closed = last + timedelta(days=rng.uniform(3, 25))
                if closed < clock.end and rng.random() < 0.85:
                    status = "withdrawn" if rng.random() < 0.6 else "unreachable"
                    self._close(need, made, status, "示例：案主暂不再寻求此项服务。", closed, client["owner_id"])
                break
            moment = last + timedelta(days=rng.uniform(1, 7))
        kept = [m for m in made if m.referral["created_at"] >= clock.start]
        if not kept:
            return False
        self.rows["need"].append(need)
        for m in kept:
            self.rows["referral"].append(m.referral)
            self.rows["attempt"].extend(m.attempts)
            self.rows["refusal"].extend(m.refusals)
        return True

    @staticmethod
    def _close(need: dict, made: list[_Made], status: str, note: str, at: datetime, user: int) -> None:
        need.update(status=status, closed_at=at, closed_by_id=user, closing_note=note)
        for m in made:
            m.referral["need_status"] = status

    # --- clients ------------------------------------------------------------------------------------------

    def clients(self, count: int) -> None:
        rng, catalog, clock = self.rng, self.catalog, self.clock
        branches = [(b, PROFILES[b].weight) for b in sorted(PROFILES) if PROFILES[b].weight and catalog.need_codes[b]]
        weights = [1.0] * len(self.workers)
        weights[0] = 0.45  # demo-caseworker (first) has the story clients of clients.yaml besides
        first_days = sorted(_need_days(rng, clock.today, count))
        districts = list(DISTRICT_WEIGHTS)
        number = 0
        for first_day in first_days:
            owner = rng.choices(self.workers, weights)[0]
            district = rng.choices(districts, [DISTRICT_WEIGHTS[d] for d in districts])[0]
            needs = []
            for i in range(rng.choices((1, 2, 3), (55, 32, 13))[0]):
                branch = _pick(rng, branches)
                code = _pick(rng, catalog.need_codes[branch])
                day = first_day + timedelta(days=0 if i == 0 else rng.randrange(5, 120))
                if day < clock.today and all(code != c for c, _ in needs):
                    needs.append((code, day))
            drug = any(catalog.top[c] in ("drug-treatment", "anti-drug") for c, _ in needs) or rng.random() < 0.4
            client_created = clock.at(first_day - timedelta(days=rng.randrange(0, 21)), rng)
            facts = {"substances": [rng.choice(("opioids", "opioids", "stimulants"))]} if drug else {}
            if drug:
                facts["rehab_status"] = rng.choice(("community_detox", "community_rehab", "none"))
            client = {
                "id": _new_id(rng),
                "owner_id": owner,
                "display_name": f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}（示例）",
                "birth_year": clock.today.year - rng.randrange(19, 66),
                "sex": "male" if rng.random() < (0.72 if drug else 0.45) else "female",
                "district": district,
                "facts": facts,
                "created_at": client_created,
                "updated_at": client_created,
                "seed_key": None,  # numbered once kept
                "version": 1,
                "demo": True,
                "_shy": rng.random() < 0.15,
                "_consents": {},
            }
            consents = []
            for branch in sorted({catalog.top[c] for c, _ in needs}):
                consent_id = _new_id(rng)
                client["_consents"][branch] = consent_id
                consents.append(
                    {
                        "id": consent_id,
                        "client_id": client["id"],
                        "organization_id": None,
                        "category": branch,
                        "fields": ["name", "age_sex", "phone", "need", *SENSITIVE_BY_BRANCH.get(branch, [])],
                        "purpose": "referral",
                        "valid_from": clock.local_day(client_created),
                        "valid_until": None,
                        "given_by": "client",
                        "recorded_by_id": owner,
                        "created_at": client_created,
                    }
                )
            kept = {catalog.top[code] for code, day in needs if self.need(client, code, day)}
            if not kept:
                continue  # all of it before the history's months
            number += 1
            client["seed_key"] = f"history-{number:04d}"
            self.rows["client"].append(client)
            self.rows["consent"].extend(c for c in consents if c["category"] in kept)


def _history_users() -> tuple[list[int], int | None, str | None, int]:
    """The caseworkers (demo-caseworker first; the history's own made here), and the demo agency user."""
    existing = set(db.session.scalars(select(User.username).where(User.username.in_([u for u, _ in HISTORY_USERS]))))
    made = [
        {
            "username": username,
            "display_name": name,
            "password_hash": "!",  # no password matches: these caseworkers never log in
            "role": "caseworker",
            "active": False,
            "session_token": uuid.uuid5(uuid.NAMESPACE_URL, f"lianjie-demo/{username}").hex,
        }
        for username, name in HISTORY_USERS
        if username not in existing
    ]
    if made:
        db.session.execute(insert(User), made)
    ids = dict(db.session.execute(select(User.username, User.id).where(User.username.like("demo-%"))).all())
    main = ids.get(MAIN_CASEWORKER)
    workers = ([main] if main is not None else []) + [ids[u] for u, _ in HISTORY_USERS]
    agency = db.session.execute(select(User.id, User.organization_id).where(User.username == AGENCY_USER)).first()
    return workers, (agency[0] if agency else None), (agency[1] if agency else None), len(made)


def history_loaded() -> bool:
    return db.session.scalar(select(Client.id).where(Client.seed_key == FIRST_KEY)) is not None


def load_history(today: date, zone: str = "Asia/Shanghai", seed: int = SEED, clients: int = CLIENTS) -> HistoryReport:
    """Insert the history of the twelve months up to the day before ``today`` (``history_start``), unless it
    is there already. The caller commits: one transaction with the rest of the seed."""
    if history_loaded():
        return HistoryReport(skipped=True)
    rng = random.Random(seed)
    workers, agency_user, agency_org, users_made = _history_users()
    catalog = _Catalog(rng, agency_org)
    generator = _Generator(rng, catalog, _Clock(today, zone), workers, agency_user)
    generator.agency_org = agency_org
    generator.clients(clients)
    rows = generator.rows
    tables = (
        ("client", Client),
        ("consent", Consent),
        ("need", Need),
        ("referral", Referral),
        ("attempt", Attempt),
        ("refusal", Refusal),
    )
    report = HistoryReport(rows={"user": users_made})
    for name, model in tables:
        records = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows[name]]
        for start in range(0, len(records), BATCH):
            db.session.execute(insert(model), records[start : start + BATCH])
        report.rows[name] = len(records)
    return report
