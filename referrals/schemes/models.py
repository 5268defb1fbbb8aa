"""Arrest referral schemes: a named provider team serving a set of custody suites.

A custody suite is served by at most one scheme (the suite is the key of
``scheme_suites``), so grouping figures by scheme never counts a suite twice. Users
are made leads of a scheme through ``users.scheme_id``.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import CustodySuite, Organisation, UTCDateTime, utcnow

scheme_suites = sa.Table(
    "scheme_suites",
    db.metadata,
    sa.Column("custody_suite_id", sa.ForeignKey("custody_suites.id"), primary_key=True),
    sa.Column(
        "scheme_id", sa.ForeignKey("schemes.id", ondelete="CASCADE"), nullable=False, index=True
    ),
)


class Scheme(db.Model):
    __tablename__ = "schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A short stable code for reports, targets and links, e.g. ``ARS-G1``.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    suites: Mapped[list[CustodySuite]] = relationship(
        secondary=scheme_suites, order_by="CustodySuite.name"
    )

    def __repr__(self) -> str:
        return f"<Scheme {self.code}>"
