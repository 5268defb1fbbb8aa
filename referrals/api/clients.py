"""Registering, changing, rotating and revoking API clients, and what each may see.

A client's scope is exactly its role's: a custody system sees the referrals of its
suites, a provider's case system those sent to its organisation's services, and a
reports system (role ``lead``) sees no referral at all, only the published figures. Every
function takes the session and plain values, checks everything before changing
anything, and leaves the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import uuid4

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from ..audit import record
from ..choices import Role
from ..clock import now_utc
from ..models import UNUSABLE_PASSWORD, CustodySuite, Organisation, User
from ..tracking.scope import in_scope, suites_scope
from .models import ApiClient
from .tokens import make_token

CLIENT_ROLES = (Role.CUSTODY, Role.PROVIDER, Role.LEAD)
ROLE_LABELS = {
    Role.CUSTODY: "Custody system (for a set of custody suites)",
    Role.PROVIDER: "Provider case system (for one organisation)",
    Role.LEAD: "Reports system (reads the published figures, like an area lead)",
}


class ClientProblem(ValueError):
    """What is wrong with a client's details, by field, in words an administrator reads."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Issued:
    client: ApiClient
    token: str  # shown once, never stored


def client_scope(client: ApiClient) -> sa.ColumnElement[bool]:
    """The referrals ``client`` may see and change."""
    if client.role == Role.CUSTODY:
        return suites_scope(suite.id for suite in client.suites)
    return in_scope(client.user)


def _checked(
    session: Session,
    client: ApiClient | None,
    name: str,
    role: str,
    suite_ids: Sequence[int],
    organisation_id: int | None,
    contact_email: str | None,
) -> tuple[str, list[CustodySuite], Organisation | None, str | None]:
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = "Enter the name of the system, like “Custody system, West”."
    elif len(name) > 200:
        errors["name"] = "Use at most 200 characters for the name."
    else:
        same = sa.select(ApiClient.id).where(sa.func.lower(ApiClient.name) == name.lower())
        if client is not None:
            same = same.where(ApiClient.id != client.id)
        if session.scalar(same) is not None:
            errors["name"] = "Another system already has this name. Choose a different one."
    email = (contact_email or "").strip() or None
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["contact_email"] = "Enter an email address like name@example.org."
    suites: list[CustodySuite] = []
    organisation = None
    if role == Role.CUSTODY:
        wanted = sorted(set(suite_ids))
        if wanted:
            suites = list(
                session.scalars(
                    sa.select(CustodySuite)
                    .where(CustodySuite.id.in_(wanted))
                    .order_by(CustodySuite.name)
                )
            )
        if not wanted or len(suites) != len(wanted):
            errors["suite_ids"] = "Choose the custody suites this system records referrals for."
    elif role == Role.PROVIDER:
        organisation = session.get(Organisation, organisation_id) if organisation_id else None
        if organisation is None:
            errors["organisation_id"] = "Choose the organisation whose case system this is."
    elif role != Role.LEAD:
        errors["role"] = "Choose the kind of system."
    if errors:
        raise ClientProblem(errors)
    return name, suites, organisation, email


def register(
    session: Session,
    *,
    name: str,
    role: str,
    suite_ids: Sequence[int] = (),
    organisation_id: int | None = None,
    contact_email: str | None = None,
    by: User | None = None,
    actor: str | None = None,
) -> Issued:
    """Register a system and issue its first token."""
    name, suites, organisation, email = _checked(
        session, None, name, role, suite_ids, organisation_id, contact_email
    )
    role = Role(role)
    new = make_token(session)
    public_id = uuid4()
    account = User(
        email=f"api-client-{public_id}@api-clients.invalid",
        name=f"{name} (API client)",
        role=role,
        password_hash=UNUSABLE_PASSWORD,
        custody_suite_id=suites[0].id if suites else None,
        organisation_id=organisation.id if organisation else None,
    )
    client = ApiClient(
        uuid=public_id,
        name=name,
        contact_email=email,
        role=role,
        user=account,
        token_prefix=new.prefix,
        token_hash=new.digest,
        token_issued_at=now_utc(),
        created_at=now_utc(),
        created_by_id=by.id if by else None,
        suites=suites,
    )
    session.add(client)
    session.flush()
    record(
        "api_client_created",
        client,
        user=by,
        actor=actor,
        detail={"name": name, "role": role.value, "scope": scope_text(client)},
    )
    return Issued(client, new.token)


def client_values(client: ApiClient) -> dict[str, str | None]:
    """A client's values an administrator edits, as the audit log records a change and
    the edit form's mark (``state_mark``) reads them."""
    return {
        "name": client.name,
        "contact_email": client.contact_email,
        "scope": scope_text(client),
    }


def update(
    session: Session,
    client: ApiClient,
    *,
    name: str,
    suite_ids: Sequence[int] = (),
    organisation_id: int | None = None,
    contact_email: str | None = None,
    by: User | None = None,
) -> dict[str, list[str]]:
    """Change a client's name, contact or scope (not its role); return what changed."""
    name, suites, organisation, email = _checked(
        session, client, name, client.role, suite_ids, organisation_id, contact_email
    )
    before = client_values(client)
    client.name = name
    client.contact_email = email
    client.user.name = f"{name} (API client)"
    if client.role == Role.CUSTODY:
        client.suites = suites
        client.user.custody_suite_id = suites[0].id
    elif client.role == Role.PROVIDER:
        client.user.organisation = organisation
    after = client_values(client)
    changes = {k: [str(before[k]), str(after[k])] for k in after if before[k] != after[k]}
    if changes:
        record("api_client_updated", client, user=by, detail=changes)
    return changes


def rotate(session: Session, client: ApiClient, *, by: User | None = None) -> Issued:
    """Issue a new token; the old one stops working at once."""
    if not client.active:
        raise ClientProblem({"token": "This system's access was revoked: register it again."})
    old = client.token_prefix
    new = make_token(session)
    client.token_prefix, client.token_hash = new.prefix, new.digest
    client.token_issued_at = now_utc()
    record("api_client_token_rotated", client, user=by, detail={"old": old, "new": new.prefix})
    return Issued(client, new.token)


def revoke(session: Session, client: ApiClient, *, by: User | None = None) -> None:
    """Stop the client for good: its token and its account stop working at once."""
    if not client.active:
        return
    client.revoked_at = now_utc()
    client.revoked_by_id = by.id if by else None
    client.user.active = False
    client.user.session_version += 1
    record("api_client_revoked", client, user=by, detail={"token": client.token_prefix})


def scope_text(client: ApiClient) -> str:
    if client.role == Role.LEAD:
        return "Published reports"
    if client.role == Role.CUSTODY:
        return ", ".join(suite.name for suite in client.suites)
    organisation = client.user.organisation
    return organisation.name if organisation is not None else ""


def client_accounts() -> sa.Select:
    """The ids of the accounts API clients act through (kept off the users page)."""
    return sa.select(ApiClient.user_id)


def is_client_account(session: Session, user_id: int) -> bool:
    return session.scalar(sa.select(ApiClient.id).where(ApiClient.user_id == user_id)) is not None
