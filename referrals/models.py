"""The data model (DESIGN.md sections 3 to 5), in one place.

Geography: council areas belong to one area group of each kind (ADP, police division,
health board). Directory: organisations run services, which run at locations. Referrals
carry their current state in columns and their history in append-only referral events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .choices import (
    AgeBand,
    AreaGroupKind,
    CloseReason,
    ContactMethod,
    DeclinedBy,
    DeclineReason,
    DiversionOutcome,
    Gender,
    Geography,
    Measure,
    Pathway,
    ProblemCategory,
    ReferralStatus,
    RetentionOutcome,
    Role,
    ServiceStatus,
    Sex,
)
from .clock import now_utc
from .encryption import EncryptedText, keyring
from .extensions import db
from .spatial import attach_to as attach_spatial_index

UTC = dt.UTC
# A password hash no password matches: for accounts that must never sign in.
UNUSABLE_PASSWORD = "!"  # noqa: S105


def utcnow() -> dt.datetime:
    """Column defaults read the app's clock too (``clock.now_utc``), so that a row written
    without an explicit time agrees with every other time the app works out."""
    return now_utc()


def uuid_column() -> Mapped[UUID]:
    """A stable public identifier kept beside the internal id: the APIs name records by
    it, so it never changes and never reveals how many records there are."""
    return mapped_column(sa.Uuid, unique=True, default=uuid4)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones, so values are stored there as naive UTC; PostgreSQL
    stores ``timestamp with time zone``. Naive datetimes are refused on the way in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def choice_column(enum_cls: type, name: str) -> sa.Enum:
    """A coded value stored as text, with a CHECK constraint listing the allowed codes."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda cls: [m.value for m in cls],
    )


# ---------------------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------------------


class AreaGroup(db.Model):
    """An ADP, police division or health board: a named group of council areas."""

    __tablename__ = "area_groups"
    __table_args__ = (sa.UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AreaGroupKind] = mapped_column(choice_column(AreaGroupKind, "area_group_kind"))
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    # The code the reference data names it by, kept when an administrator gives it a
    # new code, so that loading the reference data again finds it (None: made here).
    reference_code: Mapped[str | None] = mapped_column(sa.String(32))
    # Set when an administrator changes the group; seed-reference then leaves it alone.
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<AreaGroup {self.kind} {self.code}>"


class CouncilArea(db.Model):
    """The atomic area: a council (local authority) area with a GSS code."""

    __tablename__ = "council_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    adp_id: Mapped[int] = mapped_column(sa.ForeignKey("area_groups.id"), index=True)
    police_division_id: Mapped[int] = mapped_column(sa.ForeignKey("area_groups.id"), index=True)
    health_board_id: Mapped[int] = mapped_column(sa.ForeignKey("area_groups.id"), index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]
    population: Mapped[int | None]
    # The code the reference data (and official postcode and boundary files) name it
    # by, kept when an administrator gives it a new code, so that loading them again
    # finds it (None: made here). See ``areacodes.council_ids``.
    reference_code: Mapped[str | None] = mapped_column(sa.String(16))
    # Set when an administrator changes the area; seed-reference then leaves it alone.
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    adp: Mapped[AreaGroup] = relationship(foreign_keys=[adp_id])
    police_division: Mapped[AreaGroup] = relationship(foreign_keys=[police_division_id])
    health_board: Mapped[AreaGroup] = relationship(foreign_keys=[health_board_id])

    def __repr__(self) -> str:
        return f"<CouncilArea {self.code} {self.name}>"


class PostcodeDistrict(db.Model):
    """A postcode district (outcode, e.g. ``G31``) with an approximate centroid."""

    __tablename__ = "postcode_districts"

    district: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    area: Mapped[str] = mapped_column(sa.String(2), index=True)
    council_area_id: Mapped[int] = mapped_column(sa.ForeignKey("council_areas.id"), index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]

    council_area: Mapped[CouncilArea] = relationship()


class Postcode(db.Model):
    """An optional full postcode (e.g. from an ONS Postcode Directory extract)."""

    __tablename__ = "postcodes"

    postcode: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    latitude: Mapped[float]
    longitude: Mapped[float]
    council_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("council_areas.id"))


class Place(db.Model):
    """A town or city in the gazetteer, for place-name search."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    name_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    council_area_id: Mapped[int] = mapped_column(sa.ForeignKey("council_areas.id"), index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]
    population: Mapped[int | None]

    council_area: Mapped[CouncilArea] = relationship()


class AreaBoundary(db.Model):
    """A council area's boundary as simplified GeoJSON, for the choropleth."""

    __tablename__ = "area_boundaries"

    council_area_id: Mapped[int] = mapped_column(
        sa.ForeignKey("council_areas.id"), primary_key=True
    )
    geojson: Mapped[str] = mapped_column(sa.Text)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AreaGroupBoundary(db.Model):
    """An ADP's, police division's or health board's boundary as GeoJSON: the union of
    its councils' simplified boundaries, made when council boundaries are imported."""

    __tablename__ = "area_group_boundaries"

    area_group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("area_groups.id", ondelete="CASCADE"), primary_key=True
    )
    geojson: Mapped[str] = mapped_column(sa.Text)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AreaTile(db.Model):
    """One area's place on the tile map: a column and row on a hexagon grid laid out
    roughly like the country, and the short name written on the tile. ``level`` is
    ``council`` or an area group kind; ``code`` is the area's code at that level."""

    __tablename__ = "area_tiles"

    level: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    short_name: Mapped[str] = mapped_column(sa.String(24))
    col: Mapped[int]
    row: Mapped[int]


class NationSetting(db.Model):
    """One setting of the nation this installation serves (its name, the names of its
    geography levels, the postcode areas it covers, its bank-holiday region), loaded from
    the reference data pack's ``nation.csv``."""

    __tablename__ = "nation_settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(500))


# ---------------------------------------------------------------------------------------
# Directory
# ---------------------------------------------------------------------------------------

service_type_links = sa.Table(
    "service_type_links",
    db.metadata,
    sa.Column("service_id", sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("service_type_id", sa.ForeignKey("service_types.id"), primary_key=True),
)

service_areas = sa.Table(
    "service_areas",
    db.metadata,
    sa.Column("service_id", sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("council_area_id", sa.ForeignKey("council_areas.id"), primary_key=True),
)


class ServiceType(db.Model):
    """A service type of the taxonomy in DESIGN.md section 4."""

    __tablename__ = "service_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[UUID] = uuid_column()
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    colour: Mapped[str] = mapped_column(sa.String(7))
    # A short label shown on map markers, so colour is not the only clue to the type.
    abbreviation: Mapped[str] = mapped_column(sa.String(4), default="", server_default="")
    sort_order: Mapped[int] = mapped_column(default=0)


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[UUID] = uuid_column()
    external_id: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    website: Mapped[str | None] = mapped_column(sa.String(500))
    # Where new referrals are announced when a service has no inbox of its own.
    referral_email: Mapped[str | None] = mapped_column(sa.String(254))

    services: Mapped[list[Service]] = relationship(back_populates="organisation")


class Service(db.Model):
    __tablename__ = "services"
    __table_args__ = (
        sa.CheckConstraint(
            "min_age IS NULL OR max_age IS NULL OR min_age <= max_age", name="age_range"
        ),
        sa.CheckConstraint("typical_wait_days IS NULL OR typical_wait_days >= 0", name="wait"),
        # The few services whose address is hidden, which every search reads wherever
        # they are (placed at their town's centre): found without reading them all.
        sa.Index(
            "ix_services_confidential",
            "id",
            postgresql_where=sa.text("confidential_address"),
            sqlite_where=sa.text("confidential_address = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[UUID] = uuid_column()
    external_id: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    primary_type_id: Mapped[int] = mapped_column(sa.ForeignKey("service_types.id"), index=True)
    # Eligibility
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    gender: Mapped[Gender] = mapped_column(choice_column(Gender, "gender"), default=Gender.ANY)
    veterans_only: Mapped[bool] = mapped_column(default=False)
    self_referral: Mapped[bool] = mapped_column(default=True)
    accepts_custody_referrals: Mapped[bool] = mapped_column(default=True)
    same_day_access: Mapped[bool] = mapped_column(default=False)
    # Contact and access
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    website: Mapped[str | None] = mapped_column(sa.String(500))
    referral_method: Mapped[str | None] = mapped_column(sa.Text)
    typical_wait_days: Mapped[int | None]
    # The team inbox told of each new referral (no personal data goes there, only the
    # reference and a link); without one, the organisation's referral inbox is used.
    referral_email: Mapped[str | None] = mapped_column(sa.String(254))
    # State
    status: Mapped[ServiceStatus] = mapped_column(
        choice_column(ServiceStatus, "service_status"), default=ServiceStatus.ACTIVE, index=True
    )
    alert: Mapped[str | None] = mapped_column(sa.String(500))
    confidential_address: Mapped[bool] = mapped_column(default=False)
    last_verified_on: Mapped[dt.date | None]
    last_verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="services")
    primary_type: Mapped[ServiceType] = relationship()
    types: Mapped[list[ServiceType]] = relationship(
        secondary=service_type_links, order_by="ServiceType.sort_order"
    )
    areas_served: Mapped[list[CouncilArea]] = relationship(
        secondary=service_areas, order_by="CouncilArea.name"
    )
    locations: Mapped[list[Location]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="Location.id"
    )
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        order_by="(OpeningHours.weekday, OpeningHours.opens)",
    )
    last_verified_by: Mapped[User | None] = relationship(foreign_keys=[last_verified_by_id])


class OpeningHours(db.Model):
    """One opening session: weekday 0 (Monday) to 6; ``closes`` before ``opens`` runs
    past midnight into the next day."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        sa.CheckConstraint("opens <> closes", name="not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]
    opens: Mapped[dt.time]
    closes: Mapped[dt.time]

    service: Mapped[Service] = relationship(back_populates="opening_hours")


class Location(db.Model):
    __tablename__ = "locations"
    # Nearest-service search scans a latitude band and filters longitude in the index.
    __table_args__ = (sa.Index("ix_locations_position", "latitude", "longitude", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[UUID] = uuid_column()
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(sa.String(200))
    address_1: Mapped[str] = mapped_column(sa.String(200))
    address_2: Mapped[str | None] = mapped_column(sa.String(200))
    town: Mapped[str] = mapped_column(sa.String(120))
    postcode: Mapped[str] = mapped_column(sa.String(8))
    latitude: Mapped[float]
    longitude: Mapped[float]
    council_area_id: Mapped[int] = mapped_column(sa.ForeignKey("council_areas.id"), index=True)

    service: Mapped[Service] = relationship(back_populates="locations")
    council_area: Mapped[CouncilArea] = relationship()


# The spatial index (an R-tree on SQLite, GiST on PostgreSQL): see ``spatial.py``.
attach_spatial_index(Location.__table__)


class ListingProblem(db.Model):
    """A problem with a listing reported by anyone; queued until resolved."""

    __tablename__ = "listing_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[ProblemCategory] = mapped_column(
        choice_column(ProblemCategory, "problem_category")
    )
    description: Mapped[str] = mapped_column(sa.Text)
    # A member of the public's email or phone: encrypted, erased after resolution.
    reporter_contact: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(sa.Text)

    service: Mapped[Service] = relationship()
    resolved_by: Mapped[User | None] = relationship()


# ---------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------


class CustodySuite(db.Model):
    __tablename__ = "custody_suites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    town: Mapped[str] = mapped_column(sa.String(120))
    council_area_id: Mapped[int] = mapped_column(sa.ForeignKey("council_areas.id"), index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]

    council_area: Mapped[CouncilArea] = relationship()


user_areas = sa.Table(
    "user_areas",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("council_area_id", sa.ForeignKey("council_areas.id"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role <> 'custody' OR custody_suite_id IS NOT NULL", name="custody_has_suite"
        ),
        sa.CheckConstraint(
            "role <> 'provider' OR organisation_id IS NOT NULL", name="provider_has_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(choice_column(Role, "role"))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    custody_suite_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("custody_suites.id"), index=True
    )
    # A lead of this arrest referral scheme (``referrals.schemes``), whatever the role.
    scheme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schemes.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Supervises their custody suite (custody staff) or manages their provider
    # organisation (providers): gets the overdue digest and their unit's own figures.
    manager: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Bumped on password reset or deactivation: it is part of the session id, so every
    # existing session of the user ends.
    session_version: Mapped[int] = mapped_column(default=1)
    # Multi-factor sign-in: the sign-in app's shared secret (encrypted), when it was
    # confirmed, and the last 30-second step whose code was used (a code works once).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText, deferred=True)
    totp_enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None]
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()
    custody_suite: Mapped[CustodySuite | None] = relationship()
    areas: Mapped[list[CouncilArea]] = relationship(
        secondary=user_areas, order_by="CouncilArea.name"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot sign in
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash or self.password_hash.startswith(UNUSABLE_PASSWORD):
            return False
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


# ---------------------------------------------------------------------------------------
# Referrals
# ---------------------------------------------------------------------------------------


class Referral(db.Model):
    """A referral from custody to a service; its current state, with dates per stage.

    The stage dates are the facts the measures aggregate; every change to them is also
    written as a ``ReferralEvent``.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        sa.CheckConstraint("consent_recorded", name="consent_recorded"),
        sa.CheckConstraint("NOT naloxone_supplied OR naloxone_offered", name="naloxone"),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.CheckConstraint(
            "(retention_outcome IS NULL) = (retention_outcome_on IS NULL)", name="retention"
        ),
        sa.CheckConstraint(
            "(diversion_outcome IS NULL) = (diversion_outcome_on IS NULL)", name="diversion"
        ),
        sa.CheckConstraint(
            "diversion_outcome IS NULL OR pathway = 'diversion'", name="diversion_pathway"
        ),
        sa.CheckConstraint(
            "bbv_test_taken_on IS NULL OR bbv_test_offered_on IS NOT NULL", name="bbv_test"
        ),
        # Covers every column the report measures read, so a year of referrals is
        # aggregated from the index alone, without visiting the (wide) table rows.
        sa.Index(
            "ix_referrals_measures",
            "referred_on",
            "council_area_id",
            "days_to_engagement",
            "days_to_treatment",
            "custody_suite_id",
            "service_id",
            "pathway",
            "sex",
            "age_band",
            "status",
            "close_reason",
            "accepted_on",
            "engaged_on",
            "treatment_started_on",
            "declined_on",
            "closed_on",
            "naloxone_supplied",
        ),
        sa.Index("ix_referrals_suite_referred_on", "custody_suite_id", "referred_on"),
        # The person-level lists, a page at a time by keyset (see keyset.py): custody's
        # referral list, everyone else's, and the worklist's sections.
        sa.Index("ix_referrals_suite_made_at", "custody_suite_id", "made_at", "id"),
        sa.Index("ix_referrals_made_at", "made_at", "id"),
        sa.Index("ix_referrals_service_status", "service_id", "status", "referred_on", "id"),
        # The referral API's list, oldest change first, a page at a time by cursor.
        sa.Index("ix_referrals_updated_at", "updated_at", "id"),
        # The worklist's outcomes after treatment starts: only attended referrals, with
        # what decides whether an outcome is due (read from the index alone on
        # PostgreSQL, instead of walking the whole table in date order).
        sa.Index(
            "ix_referrals_attended",
            "service_id",
            "referred_on",
            "id",
            postgresql_include=[
                "status",
                "retention_outcome",
                "treatment_started_on",
                "pathway",
                "diversion_outcome",
                "needs",
                "bbv_test_taken_on",
            ],
            postgresql_where=sa.text("status IN ('engaged', 'treatment_started')"),
            sqlite_where=sa.text("status IN ('engaged', 'treatment_started')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[UUID] = uuid_column()
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The referral date in local (Europe/London) time; the measures' period and clocks.
    referred_on: Mapped[dt.date]
    custody_suite_id: Mapped[int] = mapped_column(sa.ForeignKey("custody_suites.id"))
    referrer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    pathway: Mapped[Pathway] = mapped_column(choice_column(Pathway, "pathway"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"))
    # The person, pseudonymously. The custody record number is encrypted; it is found
    # through its keyed hash (see encryption.py). Both are erased by the retention job.
    person_ref: Mapped[str | None] = mapped_column(EncryptedText)
    person_ref_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    age_band: Mapped[AgeBand] = mapped_column(choice_column(AgeBand, "age_band"))
    sex: Mapped[Sex] = mapped_column(choice_column(Sex, "sex"))
    postcode_district: Mapped[str | None] = mapped_column(sa.String(4))
    council_area_id: Mapped[int] = mapped_column(sa.ForeignKey("council_areas.id"))
    consent_recorded: Mapped[bool]
    consent_date: Mapped[dt.date]
    substances: Mapped[str] = mapped_column(sa.String(200), default="")
    needs: Mapped[str] = mapped_column(sa.String(200), default="")
    naloxone_offered: Mapped[bool] = mapped_column(default=False)
    naloxone_supplied: Mapped[bool] = mapped_column(default=False)
    # Kept by the retention job ("children affected" counts it); None on referrals
    # erased before it was kept.
    children_in_household: Mapped[bool | None] = mapped_column(default=False)
    same_day_urgent: Mapped[bool] = mapped_column(default=False)
    # The most sensitive fields: encrypted, and erased by the retention job.
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    contact_name: Mapped[str | None] = mapped_column(EncryptedText)
    contact_phone: Mapped[str | None] = mapped_column(EncryptedText)
    # How the person asked to be contacted (or not to be): erased with the rest, so None
    # once erased.
    contact_method: Mapped[ContactMethod | None] = mapped_column(
        choice_column(ContactMethod, "contact_method")
    )
    personal_data_erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Lifecycle
    status: Mapped[ReferralStatus] = mapped_column(
        choice_column(ReferralStatus, "referral_status"), default=ReferralStatus.MADE
    )
    accepted_on: Mapped[dt.date | None]
    declined_on: Mapped[dt.date | None]
    declined_by: Mapped[DeclinedBy | None] = mapped_column(
        choice_column(DeclinedBy, "declined_by")
    )
    decline_reason: Mapped[DeclineReason | None] = mapped_column(
        choice_column(DeclineReason, "decline_reason")
    )
    engaged_on: Mapped[dt.date | None]
    treatment_started_on: Mapped[dt.date | None]
    closed_on: Mapped[dt.date | None]
    close_reason: Mapped[CloseReason | None] = mapped_column(
        choice_column(CloseReason, "close_reason")
    )
    # After treatment starts: the 12-week check, the diversion outcome (diversion pathway
    # only) and blood-borne virus testing where that need was recorded. Each is set by
    # ``tracking.lifecycle.record_outcome`` with an event, on the date it happened.
    retention_outcome: Mapped[RetentionOutcome | None] = mapped_column(
        choice_column(RetentionOutcome, "retention_outcome")
    )
    retention_outcome_on: Mapped[dt.date | None]
    diversion_outcome: Mapped[DiversionOutcome | None] = mapped_column(
        choice_column(DiversionOutcome, "diversion_outcome")
    )
    diversion_outcome_on: Mapped[dt.date | None]
    bbv_test_offered_on: Mapped[dt.date | None]
    bbv_test_taken_on: Mapped[dt.date | None]
    # Days from referral to first attendance and to treatment start, kept in step with
    # the dates (see ``_sync_waits``) so the report measures compare whole numbers
    # instead of doing date arithmetic on every row.
    days_to_engagement: Mapped[int | None]
    days_to_treatment: Mapped[int | None]
    # The referral this one was passed on from (that one is closed as "referred on"):
    # the person's journey is the chain, counted once by the measures.
    referred_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    # Made although a referral for the same custody record number went to the same
    # service within 28 days: flagged on the worklist.
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("referrals.id"), index=True
    )
    # Closed as entered in error, its custody contact went to this referral, made in its
    # place (``contacts.linking``): reopening it must take the contact back first. A
    # plain id (see the migration that added it).
    contact_moved_to_id: Mapped[int | None] = mapped_column(sa.Integer)
    # The one-time token of the form that made it: a second submit finds this referral.
    form_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    custody_suite: Mapped[CustodySuite] = relationship()
    referrer: Mapped[User] = relationship()
    service: Mapped[Service] = relationship()
    council_area: Mapped[CouncilArea] = relationship()
    referred_from: Mapped[Referral | None] = relationship(
        foreign_keys=[referred_from_id], remote_side=[id]
    )
    possible_duplicate_of: Mapped[Referral | None] = relationship(
        foreign_keys=[possible_duplicate_of_id], remote_side=[id]
    )
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", order_by="ReferralEvent.id"
    )

    @validates("person_ref")
    def _hash_person_ref(self, key: str, value: str | None) -> str | None:
        self.person_ref_hash = keyring().search_hash(value) if value else None
        return value


class ReferralEvent(db.Model):
    """One change of a referral: append-only, never updated or deleted."""

    __tablename__ = "referral_events"
    # A user's recent changes, for the offer to undo them.
    __table_args__ = (sa.Index("ix_referral_events_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    from_status: Mapped[ReferralStatus | None] = mapped_column(
        choice_column(ReferralStatus, "event_from_status")
    )
    to_status: Mapped[ReferralStatus] = mapped_column(
        choice_column(ReferralStatus, "event_to_status")
    )
    # The date the change happened (first attendance, treatment start, ...), which may be
    # earlier than ``at``, when it was recorded.
    event_date: Mapped[dt.date]
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    # Set on an undo: the change it took back (which stays in the history).
    undoes_event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("referral_events.id"), index=True
    )

    referral: Mapped[Referral] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class Target(db.Model):
    """A local target for one area, measure and period (DESIGN.md section 6 item 5)."""

    __tablename__ = "targets"
    __table_args__ = (
        sa.UniqueConstraint("geography", "area_code", "measure", "period_start"),
        sa.CheckConstraint("period_start <= period_end", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    geography: Mapped[Geography] = mapped_column(choice_column(Geography, "geography"))
    area_code: Mapped[str] = mapped_column(sa.String(32))
    measure: Mapped[Measure] = mapped_column(choice_column(Measure, "measure"))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    value: Mapped[float]
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    set_by: Mapped[User | None] = relationship()


class AuditEvent(db.Model):
    """Who did what, when, from where: append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        # The log newest first, a page at a time by keyset.
        sa.Index("ix_audit_events_at_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The email as given at the time (also for failed sign-ins of unknown addresses).
    actor: Mapped[str | None] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(80))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    detail: Mapped[str | None] = mapped_column(sa.Text)

    user: Mapped[User | None] = relationship()


class AppSetting(db.Model):
    """Small facts about this installation, e.g. whether demo data is loaded."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class FormSubmission(db.Model):
    """The one-time token of a form that made something (see ``once.py``), kept a day so
    that the same form sent again is answered as the first time, not saved twice."""

    __tablename__ = "form_submissions"

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None] = mapped_column(sa.Integer)
    # what was sent (``once.sent``): a changed form sent with the same token is new
    digest: Mapped[str | None] = mapped_column(sa.String(64))
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _sync_waits(mapper: Any, connection: Any, referral: Referral) -> None:
    def days(later: dt.date | None) -> int | None:
        return (later - referral.referred_on).days if later and referral.referred_on else None

    referral.days_to_engagement = days(referral.engaged_on)
    referral.days_to_treatment = days(referral.treatment_started_on)


event.listen(Referral, "before_insert", _sync_waits)
event.listen(Referral, "before_update", _sync_waits)


class AppendOnlyError(RuntimeError):
    """Raised on an attempt to change or delete an append-only record."""


def _refuse_change(mapper: Any, connection: Any, target: Any) -> None:
    raise AppendOnlyError(f"{type(target).__name__} records are append-only")


for _model in (ReferralEvent, AuditEvent):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
