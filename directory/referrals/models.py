"""Clients, their needs and consents, referrals, and the append-only log of outreach attempts.

A referral's status is derived from its attempts (``rules.derive_status``) and cached on the row in the
same transaction that adds an attempt; attempts themselves are never changed or deleted — a correction
is a new attempt pointing at the one it corrects (enforced by the ORM guard in ``guards.py`` and by
database triggers created in the migration).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.extensions import db
from directory.models_base import UTCDateTime, new_id, utcnow

SEXES = ("female", "male")
NEED_STATUSES = ("open", "met", "withdrawn", "unreachable")
CLOSING_STATUSES = ("met", "withdrawn", "unreachable")

CHANNELS = ("phone", "visit", "wechat", "sms", "email", "letter", "in_person", "lianjie")
PARTIES = ("provider", "client", "family", "other")
OUTCOMES = (
    "no_answer",
    "left_message",
    "call_back_later",
    "refused",
    "accepted",
    "waitlisted",
    "needs_documents",
    "service_delivered",
    "other",
)
REFUSERS = ("provider", "client", "family")
REFUSAL_REASONS = (
    "not_eligible",
    "no_capacity",
    "stigma_drug",
    "stigma_hiv",
    "cost",
    "distance",
    "documents_missing",
    "not_interested",
    "family_unwilling",
    "no_response",
    "other",
)
# What a consent may let an organization see; substance_use, hiv and health are PIPL art. 28
# sensitive personal information.
CONSENT_FIELDS = ("name", "age_sex", "phone", "address", "need", "substance_use", "hiv", "health", "family", "finances")
SENSITIVE_FIELDS = ("substance_use", "hiv", "health")
# The legal grounds on which a supervisor may share a client's information without consent (PIPL art. 13):
# to protect someone's life, health or property in an emergency (13(4)), to perform a legal duty (13(3)),
# or on the order of a court or other authority.
LEGAL_BASES = ("vital_interests", "legal_duty", "authority_order")
PURPOSES = ("referral", "case_coordination", "emergency")
GUARDIAN_AGE = 14  # below this age a guardian gives consent


class Client(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(80))  # an alias is enough
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    # The "near" point for search, resolved from the address or district when saved.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    place_name: Mapped[str | None] = mapped_column(String(200))
    # Eligibility facts in the evaluator's vocabulary (docs/eligibility.md); absent = unknown.
    facts: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    seed_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Sensitive consent fields (SENSITIVE_FIELDS) the client refused to share with anyone: no consent
    # override may ever include them.
    withheld_fields: Mapped[list | None] = mapped_column(JSON)
    # Demo data (`flask seed`): shown like any other, removed by `flask delete-demo-data` (directory/demo.py).
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __mapper_args__ = {"version_id_col": version}

    owner = relationship("User")
    needs: Mapped[list[Need]] = relationship(back_populates="client", order_by="Need.created_at")
    consents: Mapped[list[Consent]] = relationship(back_populates="client", order_by="Consent.created_at")
    referrals: Mapped[list[Referral]] = relationship(back_populates="client", order_by="Referral.created_at")
    overrides: Mapped[list[ConsentOverride]] = relationship(order_by="ConsentOverride.granted_at", viewonly=True)


class Need(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id"), index=True)
    category: Mapped[str] = mapped_column(String(64))  # a taxonomy term code
    goal: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closing_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="needs")
    referrals: Mapped[list[Referral]] = relationship(back_populates="need", order_by="Referral.created_at")
    closed_by = relationship("User")


class Consent(db.Model):
    """Which organization (or kind of service) may receive which fields, for what, from when until when."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id"), index=True)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"))
    category: Mapped[str | None] = mapped_column(String(64))  # a taxonomy code: "any methadone clinic"
    fields: Mapped[list] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(30), default="referral")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    given_by: Mapped[str] = mapped_column(String(20), default="client")  # client | guardian
    guardian_name: Mapped[str | None] = mapped_column(String(80))
    guardian_relation: Mapped[str | None] = mapped_column(String(40))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revocation_note: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client] = relationship(back_populates="consents")
    organization = relationship("Organization")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])


# The report indexes (directory/reports/queries.py): each starts with what one breakdown groups by, then
# holds every column its figures count and filter on, so the breakdown reads the index in order, already
# grouped (no sort, no look-up of the row). The need and service ones also serve the foreign keys. On
# SQLite, three more are on expressions (the local month, the days to acceptance and to delivery): in
# migration 6fe56adf551c only, as SQLite's reflection cannot compare them. No index on the status alone:
# it selects a large share of the referrals, row by row, and SQLite would prefer it to these.
REPORT_FILTERS = ("created_at", "category", "district", "organization_id", "caseworker_id")


def _report_index(table: str, name: str, *columns: str) -> Index:
    rest = [c for c in REPORT_FILTERS if c not in columns]
    return Index(f"ix_{table}_report_{name}", *columns, *rest)


class Referral(db.Model):
    __table_args__ = (
        _report_index("referral", "service", "service_id", "organization_id", "status", "need_status"),
        _report_index("referral", "need", "need_id", "need_status", "status"),
        _report_index("referral", "category", "category", "status", "need_status"),
        _report_index("referral", "district", "district", "status", "need_status"),
        _report_index(
            "referral", "caseworker", "caseworker_id", "status", "need_status", "next_follow_up", "last_activity_at"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id"), index=True)
    need_id: Mapped[str] = mapped_column(ForeignKey("need.id"))
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("location.id"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The consent it was made under, or the override that stood in for one.
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consent.id"))
    consent_override_reason: Mapped[str | None] = mapped_column(Text)
    override_fields: Mapped[list | None] = mapped_column(JSON)
    # Eligibility when referred; a referral despite "ineligible" records who confirmed it and why.
    eligibility_status: Mapped[str | None] = mapped_column(String(20))
    eligibility_override_reason: Mapped[str | None] = mapped_column(Text)
    # Cached from the attempts in the transaction that adds one (rules.derive_status).
    status: Mapped[str] = mapped_column(String(20), default="sent")
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_follow_up: Mapped[date | None] = mapped_column(Date, index=True)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Also cached (rules.summarize_attempts), for the reports: they never read the attempts for these.
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at_attempt: Mapped[int | None] = mapped_column(Integer)
    refused_before_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # Kept on the referral for the reports (one table to read): the need's category and status (close_need
    # updates it), the client's caseworker, and the district where it was made (its location's, else the
    # client's at that time).
    category: Mapped[str] = mapped_column(String(64))
    need_status: Mapped[str] = mapped_column(String(20), default="open")
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    district: Mapped[str | None] = mapped_column(String(20))
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # its client's

    client: Mapped[Client] = relationship(back_populates="referrals")
    need: Mapped[Need] = relationship(back_populates="referrals")
    service = relationship("Service")
    location = relationship("Location")
    organization = relationship("Organization")
    consent: Mapped[Consent | None] = relationship()
    created_by = relationship("User", foreign_keys=[created_by_id])
    override: Mapped[ConsentOverride | None] = relationship(back_populates="referral", uselist=False)
    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="referral", order_by="Attempt.number", passive_deletes="all"
    )


class ConsentOverride(db.Model):
    """A supervisor's referral without the client's consent: on a legal basis, for named fields, until a
    date, revocable. The agency sees its fields only while it stands (``services.visible_fields``); the
    client's access report lists these rows."""

    __tablename__ = "consent_override"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referral.id"), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    legal_basis: Mapped[str] = mapped_column(String(30))  # LEGAL_BASES; "unrecorded" for older overrides
    reason: Mapped[str] = mapped_column(Text)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_on: Mapped[date] = mapped_column(Date)  # the last day it holds
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revocation_note: Mapped[str | None] = mapped_column(Text)

    referral: Mapped[Referral] = relationship(back_populates="override")
    organization = relationship("Organization")
    granted_by = relationship("User", foreign_keys=[granted_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])


class Attempt(db.Model):
    """One outreach attempt or answer. Append-only: a correction is a new row with ``corrects_id``."""

    __tablename__ = "outreach_attempt"
    __table_args__ = (UniqueConstraint("referral_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referral.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the referral
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    channel: Mapped[str] = mapped_column(String(20))
    party: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(30))
    refused_by: Mapped[str | None] = mapped_column(String(20))
    refusal_reason: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    next_follow_up: Mapped[date | None] = mapped_column(Date)
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("outreach_attempt.id"))
    # Its place in the log's hash chain, set when it is flushed (directory/logchain.py).
    chain_seq: Mapped[int | None] = mapped_column(Integer, unique=True, index=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    # An attempt of a demo referral: kept outside the hash chain, the only attempt that may be deleted.
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    referral: Mapped[Referral] = relationship(back_populates="attempts")
    actor = relationship("User")


# What the reports filter and group refusals by, copied from the referral onto each Refusal row.
REFERRAL_DIMENSIONS = ("created_at", "service_id", "organization_id", "category", "district", "caseworker_id")


class Refusal(db.Model):
    """A standing refusal of a referral, with the referral's report dimensions: the table the refusal
    reports read (no join, no look at corrections). Kept by ``services.record_attempt``, which rewrites a
    referral's rows each time an attempt is added; derived data, never edited on its own."""

    __tablename__ = "referral_refusal"
    __table_args__ = (
        _report_index("referral_refusal", "service", "service_id", "refused_by", "refusal_reason"),
        _report_index("referral_refusal", "category", "category", "refused_by", "refusal_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referral.id"), index=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("outreach_attempt.id"), unique=True)
    refused_by: Mapped[str | None] = mapped_column(String(20))
    refusal_reason: Mapped[str | None] = mapped_column(String(30))
    # The referral's REFERRAL_DIMENSIONS, copied (none of them changes after the referral is made).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    service_id: Mapped[str] = mapped_column(String(36))
    organization_id: Mapped[str] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(20))
    caseworker_id: Mapped[int] = mapped_column(Integer)
