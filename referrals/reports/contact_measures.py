"""The custody contact measures of DESIGN.md section 6: what is counted, and the SQL that
counts it.

Custody contacts are the second kind of unit the reports count (referrals are the first,
see ``measures``): everyone seen in custody about drugs or alcohol, whether or not they
were referred, counted in the month they were seen, by the council area they live in (the
suite's council for no fixed abode) and by the custody suite that saw them. For every
contact these facts are counted:

- contacts: the contact itself;
- offered: offered arrest referral;
- referral made: the outcome was a referral made, the referral is saved and it is not
  closed as entered in error (a referral as the referral measures count it; a contact
  whose referral is still to be typed in, or was typed in wrongly and not yet again, is
  an offer without a referral until it is);
- not carrying: the person did not already carry naloxone;
- naloxone supplied: offered naloxone and supplied with a kit.

The rates are offer rate = offered / contacts, referral success rate = referral made /
offered and naloxone supply rate = naloxone supplied / not carrying, for every complete
period (nothing is followed up). Kinds of person are the sex and age groups of the
referrals (contacts have no pathway). Nothing here knows about Flask.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import CloseReason
from ..contacts.choices import ContactOutcome, NaloxoneStatus
from ..contacts.models import CustodyContact
from ..models import Referral
from .measures import AGE_GROUP, SEX_GROUP, Window, _month, _value

CONTACT_BASE = ("contacts", "offered", "referral_made", "not_carrying", "naloxone_supplied")
CB = {name: i for i, name in enumerate(CONTACT_BASE)}
CONTACT_DIMENSIONS = (2, 5)  # sex and age groups, as for referrals
CONTACT_KEYS = {"area": CustodyContact.council_area_id, "suite": CustodyContact.custody_suite_id}


def referral_saved() -> sa.ColumnElement[bool]:
    """Whether a contact's referral was made and saved, and is not closed as entered in
    error: the numerator of the referral success rate (DESIGN §6.8, referrals / offers;
    §6.1 leaves referrals entered in error out)."""
    c = CustodyContact
    in_error = sa.exists().where(
        Referral.id == c.referral_id, Referral.close_reason == CloseReason.ENTERED_IN_ERROR
    )
    return sa.and_(
        c.outcome == ContactOutcome.REFERRAL_MADE, c.referral_id.is_not(None), ~in_error
    )


def contact_flags() -> list[sa.ColumnElement]:
    """One contact's facts as 0 or 1, in CONTACT_BASE order after ``contacts``."""
    c = CustodyContact

    def flag(condition) -> sa.ColumnElement:
        return sa.case((condition, 1), else_=0)

    return [
        flag(c.offered.is_(True)).label("offered"),
        flag(referral_saved()).label("referral_made"),
        flag(c.naloxone != NaloxoneStatus.ALREADY_CARRIES).label("not_carrying"),
        flag(c.naloxone == NaloxoneStatus.SUPPLIED).label("naloxone_supplied"),
    ]


def possible_contact(profile) -> bool:
    """Whether a profile of facts is possible for one contact: a referral is made only
    after an offer, and a kit is supplied only to someone not already carrying one."""
    f = dict(zip(CONTACT_BASE, profile, strict=True))
    return (
        f["contacts"] == 1
        and f["referral_made"] <= f["offered"]
        and f["naloxone_supplied"] <= f["not_carrying"]
    )


def contact_unit_rows(session: Session, key: sa.ColumnElement, window: Window) -> Iterator[tuple]:
    """(area key, month, (sex, age) group, profile, contacts): how many contacts of each
    area, month and kind of person had each profile of facts, in one GROUP BY over the
    contacts seen before the window's end."""
    c = CustodyContact
    month = _month(c.contact_on)
    flags = contact_flags()
    query = (
        sa.select(key.label("k"), month.label("m"), c.sex, c.age_band, *flags, sa.func.count())
        .where(c.contact_on < window.end)
        .group_by(key, month, c.sex, c.age_band, *flags)
    )
    for k, m, sex, age, *bits, n in session.execute(query):
        combo = (SEX_GROUP[_value(sex)], AGE_GROUP[_value(age)])
        yield k, int(m), combo, (1, *(int(b) for b in bits)), n


def monthly_totals(units: dict[tuple, dict[tuple, int]]) -> dict[int, list[int]]:
    """The nation's contact facts by month."""
    totals: dict[int, list[int]] = {}
    for (_, month, _), held in units.items():
        row = totals.setdefault(month, [0] * len(CONTACT_BASE))
        for profile, n in held.items():
            for i, bit in enumerate(profile):
                row[i] += bit * n
    return totals
