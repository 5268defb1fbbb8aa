"""Every measure against figures worked out by hand on small, deliberate data."""

import datetime as dt

import pytest

from referrals.choices import Role
from referrals.reports.measures import Params, grouped_counts
from referrals.reports.tables import area_table

from .factories import council, make_organisation, make_referral, make_service, make_user, suite

AS_OF = dt.date(2026, 6, 30)
START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)


def day(offset: int) -> dt.date:
    """A date ``offset`` days before the as-of date."""
    return AS_OF - dt.timedelta(days=offset)


@pytest.fixture
def maker(session):
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))

    def make(made_days_ago, council_name="Glasgow City", **stages):
        """A referral made ``made_days_ago`` before as-of; stages given as days after
        referral (accepted=2, engaged=10, started=30) or as other fields."""
        referred = day(made_days_ago)
        fields = {}
        status = "made"
        for stage, column, state in (
            ("accepted", "accepted_on", "accepted"),
            ("engaged", "engaged_on", "engaged"),
            ("started", "treatment_started_on", "treatment_started"),
        ):
            if stage in stages:
                fields[column] = referred + dt.timedelta(days=stages.pop(stage))
                status = state
        fields.update(stages)
        fields.setdefault("status", status)
        return make_referral(
            session,
            service=service,
            referrer=custody,
            referred_on=referred,
            council_name=council_name,
            **fields,
        )

    return make


def counts(session, grouping="council", **params):
    base = Params(START, END, AS_OF)
    values = {**base.__dict__, **params}
    groups, national = grouped_counts(session, grouping, Params(**values))
    return groups, national


def test_made_pending_mature_and_entered_in_error(session, maker):
    maker(100)
    maker(29)  # mature: 29 days >= 28
    maker(28)  # mature: exactly 28 days before as-of
    maker(27)  # pending
    maker(0)  # pending, made on the as-of date
    maker(50, status="closed", closed_on=day(50), close_reason="entered_in_error")
    maker(200)  # before the period
    session.commit()
    _, national = counts(session)
    assert national["made"] == 5
    assert national["pending"] == 2
    assert national["mature"] == 3


def test_acceptance_engagement_and_conversion_windows(session, maker):
    # Mature for engagement (>= 28 days) and for conversion (>= 84 days):
    maker(150, accepted=1, engaged=28, started=84)  # engaged on day 28, started on day 84
    maker(150, accepted=1, engaged=29, started=85)  # both one day too late
    maker(120, accepted=2, engaged=5)  # engaged, never started
    maker(100, accepted=3)  # accepted only
    maker(
        90,
        status="declined",
        declined_on=day(88),
        declined_by="provider",
        decline_reason="no_capacity",
    )
    maker(90, accepted=1, status="closed", closed_on=day(60), close_reason="not_contactable")
    # Mature for engagement only (28 <= age < 84):
    maker(60, accepted=1, engaged=3, started=20)
    # Pending:
    maker(10, accepted=1, engaged=2)
    session.commit()
    _, n = counts(session)
    assert n["made"] == 8 and n["pending"] == 1 and n["mature"] == 7
    assert n["accepted"] == 6  # all but the declined one among mature
    assert n["engaged_in_window"] == 3  # day 28, day 5 and day 3; not day 29
    assert n["conversion_base"] == 6  # made at least 84 days ago
    assert n["converted"] == 1  # started on day 84; day 85 too late; day 20 not yet 84 old
    assert n["engaged"] == 5  # ever engaged (incl. the pending one)
    assert n["engaged_started"] == 3
    assert n["started"] == 3
    assert n["declined"] == 1
    table = area_table(session, "council", Params(START, END, AS_OF), threshold=1)
    rates = table.national.rates
    assert rates["acceptance_rate"].rate == pytest.approx(6 / 7)
    assert rates["engagement_rate"].rate == pytest.approx(3 / 7)
    assert rates["conversion_rate"].rate == pytest.approx(1 / 6)
    assert rates["engagement_to_treatment"].rate == pytest.approx(3 / 5)


def test_three_week_standard_waits_and_percentiles(session, maker):
    # Days from referral to treatment start: 10, 21, 22, 30, 43 (five completed waits).
    for started in (10, 21, 22, 30, 43):
        maker(200, accepted=1, engaged=5, started=started)
    # Days to first attendance: five waits of 5, plus 1, 2, 9, 14, 30 -> 10 waits.
    for engaged in (1, 2, 9, 14, 30):
        maker(150, accepted=1, engaged=engaged)
    session.commit()
    start = AS_OF - dt.timedelta(days=365)
    _, n = counts(session, start=start)
    assert n["started"] == 5
    assert n["started_within_21"] == 2  # 10 and 21
    assert n["started_over_42"] == 1  # 43
    assert n.to_treatment.n == 5
    assert n.to_treatment.median == 22  # the middle of 10, 21, 22, 30, 43
    assert n.to_treatment.p90 == 43  # nearest rank: ceil(0.9 * 5) = 5th
    # Attendance waits sorted: 1, 2, 5, 5, 5, 5, 5, 9, 14, 30
    assert n.to_attendance.n == 10
    assert n.to_attendance.median == 5  # mean of the 5th and 6th: (5 + 5) / 2
    assert n.to_attendance.p90 == 14  # ceil(0.9 * 10) = 9th


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(session, maker):
    for started in (10, 13, 20, 40):
        maker(200, accepted=1, engaged=5, started=started)
    session.commit()
    _, n = counts(session, start=AS_OF - dt.timedelta(days=365))
    assert n.to_treatment.median == 16.5
    assert n.to_treatment.p90 == 40


def test_ongoing_waits_by_time_waited(session, maker):
    maker(7, accepted=1)  # waited 7 days: up to 1 week
    maker(8, accepted=1, engaged=2)  # 8 days: 1 to 3 weeks
    maker(21, accepted=1)  # 1 to 3 weeks
    maker(22, accepted=1)  # 3 to 6 weeks
    maker(42, accepted=1)  # 3 to 6 weeks
    maker(43, accepted=1, engaged=5)  # over 6 weeks
    maker(50, accepted=1, engaged=5, started=20)  # started: not waiting
    maker(50, accepted=1, status="closed", closed_on=day(10), close_reason="disengaged")
    maker(5)  # not accepted yet: not counted
    session.commit()
    _, n = counts(session)
    assert (
        n["ongoing_up_to_1_week"],
        n["ongoing_1_to_3_weeks"],
        n["ongoing_3_to_6_weeks"],
        n["ongoing_over_6_weeks"],
    ) == (1, 2, 2, 1)


def test_zero_denominators_have_no_rate(session, maker):
    maker(5)  # only a pending referral
    session.commit()
    table = area_table(session, "council", Params(START, END, AS_OF), threshold=1)
    rate = table.national.rates["acceptance_rate"]
    assert rate.n == 0 and rate.rate is None and rate.text == "no data"
    assert rate.ci95 is None
    assert table.national.to_treatment.text == "no data"


def test_stages_after_the_as_of_date_are_ignored(session, maker):
    # As at 30 June, a referral accepted on 1 July had not been accepted yet.
    referral = maker(60)
    referral.accepted_on = AS_OF + dt.timedelta(days=1)
    referral.status = "accepted"
    session.commit()
    _, n = counts(session)
    assert n["accepted"] == 0


def test_grouping_by_area_and_filters(session, maker):
    maker(100, accepted=1)
    maker(
        100,
        council_name="Fife",
        accepted=1,
        pathway="near_fatal_overdose",
        naloxone_offered=True,
        naloxone_supplied=True,
        sex="female",
    )
    maker(100, council_name="Fife")
    session.commit()
    groups, national = counts(session)
    fife = council(session, "Fife").id
    glasgow = council(session, "Glasgow City").id
    assert groups[fife]["made"] == 2 and groups[glasgow]["made"] == 1
    assert national["naloxone_supplied"] == 1 and national["near_fatal_overdose"] == 1
    by_adp, _ = counts(session, grouping="adp")
    assert sum(g["made"] for g in by_adp.values()) == 3
    _, female = counts(session, sex="female")
    assert female["made"] == 1
    _, pathway = counts(session, pathway="near_fatal_overdose")
    assert pathway["made"] == 1
    _, ost = counts(session, service_type="ost")
    assert ost["made"] == 3
    _, none = counts(session, service_type="iep")
    assert none["made"] == 0
    by_pathway, _ = counts(session, grouping="pathway")
    assert by_pathway["near_fatal_overdose"]["made"] == 1


def test_as_of_today_gives_the_same_figures_as_comparing_dates(session, maker):
    """When the as-of date is today no stage can be dated after it (the lifecycle refuses
    future dates), and the queries test for a date instead of comparing it: same figures."""
    maker(150, accepted=1, engaged=28, started=84)
    maker(150, accepted=1, engaged=29, started=85)
    maker(120, accepted=2, engaged=5)
    maker(90, status="declined", declined_on=day(88), declined_by="provider",
          decline_reason="no_capacity")  # fmt: skip
    maker(90, accepted=1, status="closed", closed_on=day(60), close_reason="not_contactable")
    maker(60, accepted=1, engaged=3, started=20)
    for offset in (7, 8, 21, 22, 42, 43):
        maker(offset, accepted=1)
    maker(43, council_name="Fife", accepted=1, engaged=5, pathway="near_fatal_overdose")
    maker(30, council_name="Fife", accepted=1, engaged=2, started=9)
    session.commit()
    for grouping in ("council", "adp", "pathway"):
        compared = grouped_counts(session, grouping, Params(START, END, AS_OF))
        shortcut = grouped_counts(session, grouping, Params(START, END, AS_OF, current=True))
        assert compared == shortcut
        assert compared[1]["made"] == 14 and compared[1]["started"] == 4
