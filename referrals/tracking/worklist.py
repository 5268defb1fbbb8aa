"""The provider's worklist: overdue, new, awaiting first attendance, awaiting treatment
start (only at services that treat), and attending services with no treatment stage;
each referral with its contact details, contact attempts, updates from the referrer and
flags, and the changes the user may still undo.

The page costs the same number of statements however many referrals there are: one
finds the open referrals once (along the ``(service_id, status, referred_on, id)``
index), each with its section, counts every section from them and reads the shown
referrals of all sections with what they show, as plain rows (see
``worklist_rows.py``); then their contact attempts and release dates, the undoable
changes, and the outcomes due after treatment starts (the oldest ``SHOWN`` and how many
there are), one statement each. The statements are built once per process for each
shape of page and run with parameters. A section, and the outcomes due, show their
oldest ``SHOWN``; the rest are a page at a time by keyset (``?section=new&after=<id>``,
``?section=outcomes&after=<id>``, and ``before`` to go back).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import TREATMENT_TYPE_CODES, ReferralStatus
from ..database import as_id
from ..dates import short_date
from ..models import (
    Organisation,
    Referral,
    ServiceType,
    User,
    service_type_links,
)
from ..workdays import overdue_cutoff, region
from .actions import ACTIONS, Action
from .outcomes import due_referrals, retention_started_before
from .recent_changes import Undoable, recent_changes
from .scope import scope_clause, scope_shape
from .worklist_rows import (
    Item,
    Links,
    OutcomeItem,
    from_pivot,
    items,
    listed,
    outcome_items,
    outcomes_statement,
    page_order,
)

# Each section shows its oldest 10 and pages on through the rest; the counts at the top
# stay whole. A provider works a section from its oldest, a few at a time: 25 a section
# made a page of 270 KB, some 18,000 pixels tall on a phone, most of it never reached,
# and cost its decrypted names and phone numbers on every visit.
SHOWN = 10


@dataclass
class Section:
    key: str
    title: str
    count: int
    referrals: list[Item]
    action: Action | None
    empty: str
    newer: int | None = None  # pass as ``before`` for the page before this one
    older: int | None = None  # pass as ``after`` for the page after this one
    at: SectionPage | None = None  # this page of the section, where its buttons return


@dataclass(frozen=True)
class SectionPage:
    """Which section is paged, and from where (the other sections show their start)."""

    key: str | None = None
    after: int | None = None
    before: int | None = None

    @classmethod
    def parse(cls, key: object, after: object, before: object) -> SectionPage:
        if key not in SECTION_KEYS and key != OUTCOMES:
            return cls()
        return cls(str(key), as_id(after), None if as_id(after) else as_id(before))

    @classmethod
    def sent(cls, form, key: str | None = None) -> SectionPage:
        """The page a worklist form was sent from (its ``section``, ``after`` and
        ``before`` fields; ``key`` when it names no section)."""
        return cls.parse(form.get("section", key), form.get("after"), form.get("before"))

    def of(self, key: str) -> SectionPage:
        """Where section ``key`` is: its page, if it is the one paged, or its start."""
        return self if self.key == key else SectionPage(key)

    def values(self) -> dict[str, str]:
        """The address's parameters (and a form's fields) that come back here."""
        found = {"section": self.key} if self.key else {}
        if self.after:
            found["after"] = str(self.after)
        elif self.before:
            found["before"] = str(self.before)
        return found


@dataclass(frozen=True)
class OutcomesDue:
    count: int  # referrals with an outcome to record
    referrals: list[OutcomeItem]  # ``SHOWN`` of them, oldest first (the oldest at first)
    date_box: str  # what their date boxes hold at first: today, as a date box shows it
    newer: int | None = None  # pass as ``before`` for the page before this one
    older: int | None = None  # pass as ``after`` for the page after this one
    key: str = "outcomes"  # the ``section`` parameter that pages through them
    at: SectionPage | None = None  # this page of them, where their forms return


UNDO_SHOWN = 5  # changes listed to undo before "Show N earlier changes"


@dataclass
class Worklist:
    organisation: str | None  # the user's organisation, if they belong to one
    sections: list[Section]
    undoable: list[Undoable]
    outcomes: OutcomesDue
    # The section a button was pressed in, come back to (``section`` in the address):
    # the message saying what was saved is shown there, not at the top of the page.
    returned_to: str | None = None

    @property
    def latest_changes(self) -> list[Undoable]:
        """The user's latest changes, shown at the top; the rest are behind "Show N
        earlier changes", so that a run of buttons does not push the sections down."""
        return self.undoable[:UNDO_SHOWN]

    @property
    def earlier_changes(self) -> list[Undoable]:
        return self.undoable[UNDO_SHOWN:]


def treating_services() -> sa.Select:
    return (
        sa.select(service_type_links.c.service_id)
        .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
        .where(ServiceType.code.in_(TREATMENT_TYPE_CODES))
    )


SECTION_KEYS = ("overdue", "new", "accepted", "engaged", "attending")
OUTCOMES = "outcomes"  # the outcomes due after treatment starts, paged like a section


def _plan(working_days: int) -> list[tuple[str, str, str | None, str]]:
    return [
        (
            "overdue",
            f"Overdue: no response within {working_days} working days",
            "accept",
            "Nothing overdue.",
        ),
        (
            "new",
            "New: awaiting acceptance",
            "accept",
            "No new referrals. New referrals from custody appear here.",
        ),
        ("accepted", "Awaiting first attendance", "attend", "None at the moment."),
        ("engaged", "Awaiting treatment start", "start_treatment", "None at the moment."),
        (
            "attending",
            "Attending a service with no treatment stage",
            None,
            "None at the moment. Referrals to harm-reduction and support services (naloxone, "
            "injecting equipment, housing and others) end here once the person attends: "
            "close them when they stop coming.",
        ),
    ]


def _conditions(
    cutoff: dt.date | sa.BindParameter, treating_ids: sa.Select
) -> dict[str, sa.ColumnElement[bool]]:
    """What puts an open referral in each section (``treating_ids``: the services that
    treat, as ``treating_services`` lists them)."""
    made = Referral.status == ReferralStatus.MADE
    engaged = Referral.status == ReferralStatus.ENGAGED
    treating = Referral.service_id.in_(treating_ids)
    return {
        "overdue": sa.and_(made, Referral.referred_on < cutoff),
        "new": sa.and_(made, Referral.referred_on >= cutoff),
        "accepted": Referral.status == ReferralStatus.ACCEPTED,
        "engaged": sa.and_(engaged, treating),
        "attending": sa.and_(engaged, ~treating),
    }


OPEN = (ReferralStatus.MADE, ReferralStatus.ACCEPTED, ReferralStatus.ENGAGED)
_CUTOFF = sa.bindparam("cutoff", type_=sa.Date)


def _constant(text: str) -> sa.ColumnElement[str]:
    """A section's key written into the statement (a constant of the code, not a
    parameter: fewer values to bind on every run)."""
    return sa.literal_column(f"'{text}'", sa.String)


def _open_referrals(scope: sa.ColumnElement[bool]) -> sa.CTE:
    """The open referrals in ``scope`` with the section each is in (``id``,
    ``referred_on``, ``section``), found once, along the ``(service_id, status, ...)``
    index, and kept (a materialised CTE) for the counts and every section's page.

    Found on their own, and only then sorted per section: otherwise PostgreSQL walks the
    whole table in date order looking for the few of one organisation, or plans a walk
    of every attended referral in the country for the sections after attendance (a
    statement per section found them so, five times slower)."""
    treating = treating_services().cte("treating")
    conditions = _conditions(_CUTOFF, sa.select(treating.c.service_id))
    section = sa.case(*((condition, _constant(key)) for key, condition in conditions.items()))
    return (
        sa.select(Referral.id, Referral.referred_on, section.label("section"))
        .where(scope, Referral.status.in_(OPEN))
        .cte("worklist")
        .prefix_with("MATERIALIZED")
    )


def _section_ids(
    found: sa.CTE, key: str, paged: str | None, shown: int, scope: sa.ColumnElement[bool]
) -> sa.Select:
    """The ids of one section's shown referrals (and one more, to know there are more),
    oldest first, or, going back a page (``paged`` is "before"), newest first from where
    the page ends (the ``pivot`` parameter)."""
    page = sa.select(found.c.id).where(found.c.section == _constant(key))
    if paged:
        page = page.where(from_pivot(found.c.referred_on, found.c.id, paged, scope))
    page = page.order_by(*page_order(found.c.referred_on, found.c.id, paged))
    page = page.limit(sa.literal_column(str(shown + 1), sa.Integer)).subquery()
    return sa.select(page.c.id, _constant(key).label("section"))


@dataclass(frozen=True)
class Statements:
    page: sa.Select  # the sections' counts, and the referrals they show
    listed_from: int  # where a row of ``page`` has the columns of ``listed``
    outcomes: sa.Select


@lru_cache(maxsize=64)
def _statements(scope_kind: str, paged_key: str | None, paged: str | None, shown: int):
    """The page's statements for one shape (whose referrals, which section is paged and
    which way, how many a section shows), built once per process and run with the
    parameters ``cutoff``, ``started_before``, ``organisation_id`` and ``pivot``:
    building them costs more than running them.

    The page's statement is sent on every visit, so its text is kept under 4 KB
    (``test_the_worklist_statements_are_short_enough_to_be_parsed_once``): psycopg
    parses a longer text for its parameters again on every run. Hence the section keys
    written in (``_constant``), and the services that treat named once (a CTE)."""
    scope = scope_clause(scope_kind)
    found = _open_referrals(scope)
    counts = sa.select(
        *(
            sa.func.count().filter(found.c.section == _constant(key)).label(key)
            for key in SECTION_KEYS
        ),
        # The name of the user's organisation, which the page starts with.
        sa.select(Organisation.name)
        .where(Organisation.id == sa.bindparam("user_organisation_id", type_=sa.Integer))
        .scalar_subquery()
        .label("organisation"),
    )
    ids = sa.union_all(
        *(
            _section_ids(found, key, paged if key == paged_key else None, shown, scope)
            for key in SECTION_KEYS
        )
    ).subquery()
    due = due_referrals(scope, sa.bindparam("started_before", type_=sa.Date))
    # The counts ride on every row (and come alone when no referral is shown).
    tally = counts.subquery("tally")
    columns, joined = listed(ids)
    page = (
        sa.select(tally, *columns)
        .select_from(tally.outerjoin(joined, sa.true()))
        .order_by(Referral.referred_on, Referral.id)
    )
    outcomes_paged = paged if paged_key == OUTCOMES else None
    return Statements(page, len(tally.c), outcomes_statement(due, shown, scope, outcomes_paged))


def _one_page(found: list, key: str, paging: SectionPage) -> tuple[list, bool, bool]:
    """A list's page from the ``SHOWN + 1`` rows read for it (oldest first), and whether
    there is a page of newer ones before it and of older ones after it."""
    backwards = paging.key == key and paging.before is not None
    more = len(found) > SHOWN
    if more:
        found = found[1:] if backwards else found[:SHOWN]
    is_paged = paging.key == key and bool(paging.after or paging.before)
    has_newer = bool(found) and (more if backwards else is_paged)
    has_older = bool(found) and (is_paged if backwards else more)
    return found, has_newer, has_older


def _ends(shown: list, has_newer: bool, has_older: bool) -> tuple[int | None, int | None]:
    """The ids to pass as ``before`` and ``after`` for the pages either side of
    ``shown`` (``None`` at an end)."""
    return (shown[0].id if has_newer else None), (shown[-1].id if has_older else None)


# The same for every request of a day in one bank-holiday region: worked out once.
_overdue_cutoff = lru_cache(maxsize=16)(overdue_cutoff)


def build_worklist(
    session: Session,
    user: User,
    today: dt.date,
    now: dt.datetime,
    working_days: int,
    links: Links,
    paging: SectionPage | None = None,
) -> Worklist:
    paging = paging or SectionPage()
    scope_kind, params = scope_shape(user)
    paged = "after" if paging.after else "before" if paging.before else None
    statements = _statements(scope_kind, paging.key if paged else None, paged, SHOWN)
    params |= {
        "cutoff": _overdue_cutoff(today, working_days, region()),
        "started_before": retention_started_before(today),
        "pivot": paging.after or paging.before,
        "user_organisation_id": user.organisation_id,
    }
    connection = session.connection()
    rows = connection.execute(statements.page, params).all()
    counts = rows[0]
    plan = _plan(working_days)
    # Each section's page, as read (its referral's columns only), before the page
    # puts them in words: the row read past a page's end is left aside.
    start = statements.listed_from
    read: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        if row[start] is not None:  # the section: none when no referral is shown
            read[row[start]].append(row[start:])
    pages = {key: _one_page(read[key], key, paging) for key, *_ in plan}
    by_section = items(
        session,
        [row for found, _has_newer, _has_older in pages.values() for row in found],
        links,
        {key: action for key, _t, action, _e in plan},
        working_days,
    )
    sections = []
    for key, title, action, empty in plan:
        shown = by_section.get(key, [])
        _found, has_newer, has_older = pages[key]
        newer, older = _ends(shown, has_newer, has_older)
        button = ACTIONS[action] if action else None
        sections.append(
            Section(
                key,
                title,
                getattr(counts, key),
                shown,
                button,
                empty,
                newer,
                older,
                paging.of(key),
            )
        )
    due = connection.execute(statements.outcomes, params).all()
    found, has_newer, has_older = _one_page(due, OUTCOMES, paging)
    shown = outcome_items(found, user, today, links)
    newer, older = _ends(shown, has_newer, has_older)
    count = due[0].found if due else 0
    at = paging.of(OUTCOMES)
    outcomes = OutcomesDue(count, shown, short_date(today), newer, older, at=at)
    undoable = recent_changes(session, user, now, links.undo)
    return Worklist(counts.organisation, sections, undoable, outcomes, paging.key)
