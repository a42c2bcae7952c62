"""Catalog models, named after Open Referral HSDS 3.0 tables."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.catalog.hours import WEEKDAYS, recurrence_of  # noqa: F401  (WEEKDAYS re-exported)
from directory.extensions import db
from directory.geo.areas import Area
from directory.geo.districts import DISTRICTS  # noqa: F401  (re-exported for older importers)
from directory.models_base import UTCDateTime, new_id, utcnow

SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
# The service fields an agency edits directly (collections such as locations are handled apart).
SERVICE_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "status",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "accepting_referrals",
    "capacity_note",
    "alert",
    "url",
    "email",
)

service_taxonomy = Table(
    "service_taxonomy",
    db.metadata,
    Column("service_id", String(36), ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "taxonomy_term_id",
        String(36),
        ForeignKey("taxonomy_term.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class Taxonomy(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(50))


class TaxonomyTerm(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("taxonomy_term.id"), index=True)
    taxonomy_id: Mapped[str | None] = mapped_column(ForeignKey("taxonomy.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[TaxonomyTerm | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[TaxonomyTerm]] = relationship(back_populates="parent", order_by="TaxonomyTerm.position")
    taxonomy: Mapped[Taxonomy | None] = relationship()

    def label(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" and self.name_en else self.name

    def ancestors(self) -> list[TaxonomyTerm]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Organization(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(300), index=True)
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    services: Mapped[list[Service]] = relationship(back_populates="organization", order_by="Service.name")
    locations: Mapped[list[Location]] = relationship(back_populates="organization", order_by="Location.name")
    phones: Mapped[list[Phone]] = relationship(cascade="all, delete-orphan")


class Service(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), default="active", index=True)
    application_process: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    eligibility_rules: Mapped[list] = mapped_column(JSON, default=list)
    assured_date: Mapped[date | None] = mapped_column(Date)
    assurer_email: Mapped[str | None] = mapped_column(String(200))
    alert: Mapped[str | None] = mapped_column(Text)
    accepting_referrals: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity_note: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    organization: Mapped[Organization] = relationship(back_populates="services")
    taxonomy_terms: Mapped[list[TaxonomyTerm]] = relationship(
        secondary=service_taxonomy, order_by="TaxonomyTerm.position"
    )
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="Schedule.opens_at"
    )
    schedule_exceptions: Mapped[list[ScheduleException]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="ScheduleException.starts_on"
    )
    languages: Mapped[list[Language]] = relationship(cascade="all, delete-orphan")
    required_documents: Mapped[list[RequiredDocument]] = relationship(cascade="all, delete-orphan")
    phones: Mapped[list[Phone]] = relationship(cascade="all, delete-orphan")
    service_areas: Mapped[list[ServiceArea]] = relationship(
        cascade="all, delete-orphan", order_by="ServiceArea.position"
    )

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def locations(self) -> list[Location]:
        return [sal.location for sal in self.service_at_locations]


class Location(db.Model):
    """A place. HSDS lets a location belong to no organization (a civic centre many agencies use):
    then only admins edit it."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), index=True)
    location_type: Mapped[str] = mapped_column(String(20), default="physical")
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    address_1: Mapped[str | None] = mapped_column(String(300))
    district: Mapped[str] = mapped_column(String(20), index=True)
    city: Mapped[str] = mapped_column(String(50), default="广州市")
    state_province: Mapped[str] = mapped_column(String(50), default="广东省")
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2), default="CN")
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    transportation: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(200))  # not in HSDS's location table; shown on the service page
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    organization: Mapped[Organization | None] = relationship(back_populates="locations")
    phones: Mapped[list[Phone]] = relationship(cascade="all, delete-orphan")


class ServiceAtLocation(db.Model):
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("location.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="service_at_locations")
    location: Mapped[Location] = relationship()


class Phone(db.Model):
    """A phone number of exactly one organization, service or location (HSDS)."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), index=True)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str | None] = mapped_column(ForeignKey("location.id"), index=True)
    number: Mapped[str] = mapped_column(String(50))
    extension: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)


class Schedule(db.Model):
    """Regular opening hours (HSDS schedule). ``closes_at`` <= ``opens_at`` means it runs past midnight.

    Most are weekly: ``freq`` WEEKLY, ``interval`` 1, ``byday`` "MO,TU,WE". Others recur as RFC 5545 rules
    (see ``directory.catalog.hours.Recurrence``): every ``interval`` weeks from ``dtstart``, or monthly on
    ``byday`` with an ordinal ("1MO" the first Monday, "-1FR" the last Friday) or on ``bymonthday``
    ("1,15", "-1" the last day).
    """

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    freq: Mapped[str] = mapped_column(String(10), default="WEEKLY", server_default="WEEKLY")
    interval: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    byday: Mapped[str] = mapped_column(String(100))  # "MO,TU,WE"; monthly also "1MO,-1FR"; "" with bymonthday
    bymonthday: Mapped[str | None] = mapped_column(String(100))  # monthly: "1,15,-1"
    dtstart: Mapped[date | None] = mapped_column(Date)  # the first day it may apply (counts the intervals)
    wkst: Mapped[str] = mapped_column(String(2), default="MO", server_default="MO")  # week start, for intervals
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="schedules")

    @property
    def days(self) -> list[str]:
        """The weekday codes of ``byday``, without ordinals."""
        return [d.lstrip("+-0123456789") for d in self.byday.split(",") if d]

    @property
    def recurrence(self):
        """None for plain weekly hours; else the rule (``directory.catalog.hours.Recurrence``)."""
        return recurrence_of(self)


class ScheduleException(db.Model):
    """Holiday hours: closed on a date range, or other hours replacing the weekly ones."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=True)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="schedule_exceptions")


class Language(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(50))


class RequiredDocument(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(String(500))


class ServiceArea(db.Model):
    """Where a service is available, wherever its office is (HSDS service_area): the whole city
    (``district`` empty), a district, or one 街道/镇 of a district (``street``). See directory/geo/areas.py."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    district: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def area(self) -> Area:
        return Area(district=self.district or None, street=self.street or None)


class ChangeRecord(db.Model):
    """Append-only change history of a listing: who, when, which field, old → new."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # None for a location of no organization (only admins edit those).
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(20))  # create | update | deactivate | verify
    field: Mapped[str | None] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)

    user = relationship("User")
