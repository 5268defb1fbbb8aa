"""What the worklist shows of each referral, read as plain rows (no ORM objects) and
put in words once, here, so that the page only places them.

- ``Item``: one referral in a section: its reference and flags, dates, service, where
  the person lives, how to contact them (decrypted only when the page shows it: not
  for erased referrals, nor for the one read past the end of a page), the contact
  attempts (how many, the last, and the streak that suggests closing it as not
  contactable) and the latest release date the referrer gave.
- ``OutcomeItem``: one referral with outcomes to record after treatment starts, and the
  questions asked (``outcomes.questions``, the same rules as the referral's page).

The addresses of the links and forms are made from patterns (``Links``) built once per
page, not once per row.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from ..encryption import keyring
from ..models import CouncilArea, Referral, Service, User
from ..phones import dialable
from ..templating import format_date, label
from ..workdays import region, respond_by
from .followup import FollowUp
from .models import ContactAttempt, ReferralUpdate
from .outcomes import Question, questions

ID = "{id}"  # where a referral's id goes in a ``Links`` pattern
UNATTENDED = ("overdue", "new", "accepted")  # sections before the first attendance
UNANSWERED = ("overdue", "new")  # sections still to be answered: shown with the date due
# A day's answer-by date is the same for every request in one bank-holiday region (the
# region is part of the key): worked out once.
_respond_by = lru_cache(maxsize=4096)(respond_by)


@dataclass(frozen=True)
class Links:
    """Addresses with ``{id}`` for the referral's id, e.g. ``/referrals/{id}``."""

    detail: str
    actions: dict[str, str]  # action name -> the address its form posts to
    outcome: str  # with ``{kind}`` for the question
    undo: str  # the undo form's address

    def of(self, pattern: str, referral_id: int) -> str:
        return pattern.replace(ID, str(referral_id))


@dataclass(slots=True)
class Item:
    id: int
    reference: str
    version: int
    urgent: bool
    children: bool
    duplicate_of: str | None  # the reference it may duplicate
    passed_on_from: str | None  # the reference it was passed on from
    made: str
    respond_by: str | None  # shown for referrals still to be answered
    service: str
    lives_in: str
    erased: bool
    contact_method: str
    contact_name: str | None
    phone: str | None
    tel: str | None  # the phone number in a tel: link
    release_on: str | None
    attempts: int
    last_attempt: str | None  # "2 Dec 2026: no answer"
    streak: int  # unsuccessful attempts since the person was last reached
    suggest_closing: bool  # shown while the referral waits for the person to attend
    detail_url: str
    action_url: str | None


@dataclass(slots=True)
class OutcomeItem:
    id: int
    reference: str
    version: int
    service: str
    referred_on: str
    detail_url: str
    questions: list[tuple[Question, str, str]]  # question, field prefix, form address


def listed(shown: sa.Subquery) -> tuple[list[sa.ColumnElement], sa.Join]:
    """What the page shows of the referrals ``shown`` lists (``id``, ``section``), in
    the order ``items`` takes the columns, and the join they are read from. The contact
    details come as stored (encrypted): ``items`` decrypts those of the referrals the
    page shows."""
    duplicate, source = aliased(Referral), aliased(Referral)
    r = Referral
    columns = [
        shown.c.section,
        r.id,
        r.reference,
        r.version,
        r.referred_on,
        r.same_day_urgent,
        r.children_in_household,
        r.personal_data_erased_at,
        r.contact_method,
        sa.type_coerce(r.contact_name, sa.Text).label("contact_name"),
        sa.type_coerce(r.contact_phone, sa.Text).label("contact_phone"),
        Service.name.label("service"),
        CouncilArea.name.label("lives_in"),
        duplicate.reference.label("duplicate_of"),
        source.reference.label("passed_on_from"),
    ]
    joined = (
        shown.join(r, shown.c.id == r.id)
        .join(Service, Service.id == r.service_id)
        .join(CouncilArea, CouncilArea.id == r.council_area_id)
        .outerjoin(duplicate, duplicate.id == r.possible_duplicate_of_id)
        .outerjoin(source, source.id == r.referred_from_id)
    )
    return columns, joined


def items(
    session: Session,
    rows: list[tuple],
    links: Links,
    actions: dict[str, str | None],
    working_days: int,
) -> dict[str, list[Item]]:
    """The referrals the page shows, by section, with their contact attempts and release
    dates: ``rows`` holds the columns of ``listed`` (in its order, oldest first);
    ``actions`` names the button each section offers."""
    follow_ups = _follow_ups(session, [row[1] for row in rows])
    decrypt = keyring().decrypt
    found: dict[str, list[Item]] = defaultdict(list)
    # Many referrals share a day, a method or an outcome: each is put in words once.
    days: dict[dt.date, str] = {}
    methods: dict[object, str] = {}
    outcomes: dict[object, str] = {}  # in lower case, as the last attempt reads
    holidays_in = region()
    detail = links.detail
    buttons = {key: links.actions[action] for key, action in actions.items() if action}

    def day_text(day: dt.date) -> str:
        text = days.get(day)
        if text is None:
            text = days[day] = format_date(day)
        return text

    def method_text(method: object) -> str:
        text = methods.get(method)
        if text is None:
            text = methods[method] = label(method)
        return text

    def outcome_text(outcome: object) -> str:
        text = outcomes.get(outcome)
        if text is None:
            text = outcomes[outcome] = label(outcome).lower()
        return text

    for (
        section,
        referral_id,
        reference,
        version,
        referred_on,
        urgent,
        children,
        erased_at,
        method,
        name,
        phone,
        service,
        lives_in,
        duplicate_of,
        passed_on_from,
    ) in rows:
        erased = erased_at is not None
        if erased:
            name = phone = None
        else:
            name = decrypt(name) if name is not None else None
            phone = decrypt(phone) if phone is not None else None
        attempts, last_attempt, streak, suggest, release_on = 0, None, 0, False, None
        follow = follow_ups.get(referral_id)
        if follow is not None:
            attempts = len(follow.attempts)
            last = follow.last_attempt
            if last is not None:
                streak = follow.streak
                suggest = section in UNATTENDED and follow.suggest_closing
                last_attempt = f"{day_text(last.attempted_on)}: {outcome_text(last.outcome)}"
            if follow.updates:
                release_on = follow.release_on
                release_on = day_text(release_on) if release_on else None
        due = None
        if section in UNANSWERED:
            due = day_text(_respond_by(referred_on, working_days, holidays_in))
        button = buttons.get(section)
        found[section].append(
            Item(
                id=referral_id,
                reference=reference,
                version=version,
                urgent=bool(urgent),
                children=bool(children),
                duplicate_of=duplicate_of,
                passed_on_from=passed_on_from,
                made=day_text(referred_on),
                respond_by=due,
                service=service,
                lives_in=lives_in,
                erased=erased,
                contact_method=method_text(method),
                contact_name=name,
                phone=phone,
                tel=dialable(phone) if phone else None,
                release_on=release_on,
                attempts=attempts,
                last_attempt=last_attempt,
                streak=streak,
                suggest_closing=suggest,
                detail_url=detail.replace(ID, str(referral_id)),
                action_url=button.replace(ID, str(referral_id)) if button else None,
            )
        )
    return found


@lru_cache(maxsize=2)
def _follow_ups_statement(dialect: str) -> sa.Select:
    """Contact attempts (kind 0) and release dates given (kind 1) of the referrals
    ``ids``, in the order they happened, for the database ``dialect`` names."""
    referral_ids = _ids_in(dialect)
    attempts = sa.select(
        ContactAttempt.referral_id,
        sa.literal(0).label("kind"),
        ContactAttempt.attempted_on.label("on"),
        ContactAttempt.id,
        ContactAttempt.outcome,
    ).where(referral_ids(ContactAttempt.referral_id))
    updates = sa.select(
        ReferralUpdate.referral_id,
        sa.literal(1).label("kind"),
        ReferralUpdate.release_on,
        ReferralUpdate.id,
        sa.null(),
    ).where(referral_ids(ReferralUpdate.referral_id), ReferralUpdate.release_on.is_not(None))
    both = sa.union_all(attempts, updates).subquery()
    # Attempts by the day they were made, updates in the order they were given.
    return sa.select(both).order_by(both.c.kind, sa.case((both.c.kind == 0, both.c.on)), both.c.id)


def _ids_in(dialect: str):
    """A condition that a column is one of the ids in the ``ids`` parameter.

    On PostgreSQL the ids go as one array parameter (``= ANY(...)``), so the
    statement's text is the same whatever the ids and is parsed and prepared once;
    elsewhere they are written into the statement (whole numbers read from the
    database): binding over a hundred parameters one by one costs more than the query.
    """
    if dialect == "postgresql":
        array = postgresql.ARRAY(sa.Integer)
        ids = sa.cast(sa.bindparam("ids", type_=array), array)
        return lambda column: column == sa.any_(ids)
    ids = sa.bindparam("ids", expanding=True, literal_execute=True)
    return lambda column: column.in_(ids)


class _Attempt(NamedTuple):
    attempted_on: dt.date
    outcome: str


class _Update(NamedTuple):
    release_on: dt.date


def _follow_ups(session: Session, referral_ids: list[int]) -> dict[int, FollowUp]:
    """The contact attempts and release dates of many referrals, in one statement, as
    ``FollowUp`` reads them (only the referrals with any are listed)."""
    found: dict[int, FollowUp] = {}
    if not referral_ids:
        return found
    connection = session.connection()
    statement = _follow_ups_statement(connection.dialect.name)
    for referral_id, kind, on, _id, outcome in connection.execute(
        statement, {"ids": referral_ids}
    ):
        follow = found.get(referral_id)
        if follow is None:
            follow = found[referral_id] = FollowUp([], [])
        if kind == 0:
            follow.attempts.append(_Attempt(on, outcome))
        else:
            follow.updates.append(_Update(on))
    return found


def from_pivot(
    referred_on, id_, paged: str, scope: sa.ColumnElement[bool]
) -> sa.ColumnElement[bool]:
    """Rows after (or before) the referral whose id is the ``pivot`` parameter, in the
    lists' order: oldest referral first, then by id. A pivot outside ``scope`` (the
    user's) places nothing: the page is empty, as for an unknown id."""
    pivot = sa.bindparam("pivot", type_=sa.Integer)
    pivot_on = (
        sa.select(Referral.referred_on)
        .where(Referral.id == pivot, scope)
        .correlate(None)
        .scalar_subquery()
    )
    mine, theirs = sa.tuple_(referred_on, id_), sa.tuple_(pivot_on, pivot)
    return mine > theirs if paged == "after" else mine < theirs


def page_order(referred_on, id_, paged: str | None) -> tuple:
    """Oldest first; newest first when going back a page from the pivot."""
    if paged == "before":
        return referred_on.desc(), id_.desc()
    return referred_on, id_


def outcomes_statement(
    due: sa.Select, shown: int, scope: sa.ColumnElement[bool], paged: str | None = None
) -> sa.Select:
    """``shown`` referrals of those ``due`` selects (``id``, ``referred_on``), and one
    more to know there are more, oldest first, with what the questions need and how many
    ``due`` found on every row: the oldest, or (``paged`` "after" or "before") those after
    or before the referral whose id is the ``pivot`` parameter."""
    counted = due.add_columns(sa.func.count().over().label("found"))
    found = counted.cte("outcomes_due").prefix_with("MATERIALIZED")
    page = sa.select(found.c.id, found.c.referred_on, found.c.found)
    if paged:
        page = page.where(from_pivot(found.c.referred_on, found.c.id, paged, scope))
    page = page.order_by(*page_order(found.c.referred_on, found.c.id, paged)).limit(shown + 1)
    page = page.subquery("outcomes_page")
    r = Referral
    return (
        sa.select(
            r.id,
            r.reference,
            r.version,
            r.referred_on,
            r.status,
            r.pathway,
            r.needs,
            r.treatment_started_on,
            r.retention_outcome,
            r.diversion_outcome,
            r.bbv_test_offered_on,
            r.bbv_test_taken_on,
            Service.name.label("service"),
            page.c.found,
        )
        .join(page, page.c.id == r.id)
        .join(Service, Service.id == r.service_id)
        .order_by(page.c.referred_on, page.c.id)
    )


def outcome_items(
    rows: list[sa.Row], user: User, today: dt.date, links: Links
) -> list[OutcomeItem]:
    """The referrals with outcomes to record that the page shows (``rows``, read by
    ``outcomes_statement``), with the questions asked of each."""
    shown = []
    for row in rows:
        prefix = f"o{row.id}-"
        outcome_url = links.of(links.outcome, row.id)
        shown.append(
            OutcomeItem(
                id=row.id,
                reference=row.reference,
                version=row.version,
                service=row.service,
                referred_on=format_date(row.referred_on),
                detail_url=links.of(links.detail, row.id),
                questions=[
                    (q, prefix + q.kind, outcome_url.replace("{kind}", q.kind))
                    for q in questions(row, user, today)
                ],
            )
        )
    return shown
