"""API clients: other systems (a custody system for a set of suites, a provider's case
system) that use the referral API with a bearer token.

Each client acts through an account of its own (``user``) with the matching role, so
the lifecycle, the referral form's checks and the audit log treat its calls exactly as
they treat a person in that role. That account can never sign in (it has no usable
password) and is managed here, not on the users page.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import Role
from ..encryption import EncryptedText
from ..extensions import db
from ..models import (
    CustodySuite,
    Organisation,
    User,
    UTCDateTime,
    choice_column,
    utcnow,
    uuid_column,
)

api_client_suites = sa.Table(
    "api_client_suites",
    db.metadata,
    sa.Column(
        "api_client_id", sa.ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("custody_suite_id", sa.ForeignKey("custody_suites.id"), primary_key=True),
)


class ApiClient(db.Model):
    __tablename__ = "api_clients"
    __table_args__ = (
        sa.CheckConstraint("role IN ('custody', 'provider', 'lead')", name="client_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[UUID] = uuid_column()
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # Who to call about this system (its supplier or owner).
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    role: Mapped[Role] = mapped_column(choice_column(Role, "api_client_role"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    # The token is shown once; only its prefix (to tell tokens apart) and a SHA-256 hash
    # are kept. Tokens are 256 random bits, so a fast hash is as safe as a slow one and
    # lets every request be checked cheaply.
    token_prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    token_issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Where status changes of its referrals are to be delivered, and the key that signs
    # them (webhooks, delivered through the notifications outbox; see ``webhooks/``).
    # The secret is shown once; it is kept encrypted, since signing needs it.
    webhook_url: Mapped[str | None] = mapped_column(sa.String(500))
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText)
    webhook_secret_issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    suites: Mapped[list[CustodySuite]] = relationship(
        secondary=api_client_suites, order_by="CustodySuite.name"
    )

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def reports_only(self) -> bool:
        """A system that reads the published reports only (scoped like an area lead)."""
        return self.role == Role.LEAD

    @property
    def organisation(self) -> Organisation | None:
        return self.user.organisation if self.role == Role.PROVIDER else None

    @property
    def token_hint(self) -> str:
        """What an administrator sees of the token: enough to tell which one a system has."""
        return f"{self.token_prefix}_…"

    def __repr__(self) -> str:
        return f"<ApiClient {self.name} {self.role}>"
