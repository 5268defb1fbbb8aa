"""Every measure against figures worked out by hand on small, deliberate data."""

import datetime as dt

import pytest

from referrals.choices import Role
from referrals.reports.figures import Settings, build

from .factories import council, make_organisation, make_referral, make_service, make_user, suite

AS_OF = dt.date(2026, 10, 1)  # 2026Q2 is followed up for 84 days; 2026Q3 is not, yet
MAY = dt.date(2026, 5, 12)


@pytest.fixture
def maker(session):
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))

    def make(referred=MAY, council_name="Glasgow City", **stages):
        """A referral; stages given as days after referral (accepted=1, engaged=5,
        started=15, declined=2) or as other fields."""
        fields, status = {}, "made"
        for stage, column, state in (
            ("accepted", "accepted_on", "accepted"),
            ("declined", "declined_on", "declined"),
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


def pattern(make, copies=3, **extra):
    """Twelve referrals, three times over: 10 accepted, 8 attending within 28 days and 1
    later, 4 starting treatment within 21 days, 1 at 30 days and 1 at 100 days, 1
    declined and 1 with no answer."""
    for _ in range(copies):
        for i in range(12):
            stages = {}
            if i < 10:
                stages["accepted"] = 1
            if i < 8:
                stages["engaged"] = 5
            elif i == 8:
                stages["engaged"] = 40
            if i < 4:
                stages["started"] = 15
            elif i == 4:
                stages["started"] = 30
            elif i == 5:
                stages["started"] = 100
            if i == 10:
                stages["declined"] = 2
                stages["decline_reason"] = "no_capacity"
            make(**stages, **extra)


def figures(session, as_of=AS_OF):
    session.commit()
    return build(session, Settings(as_of=as_of))


def entry(published, period, key, family="area", group="all"):
    return published.parts[(family, period, group)][key]


def test_every_measure_for_a_year_by_hand(session, maker):
    pattern(maker)
    published = figures(session)
    glasgow = f"council:{council(session, 'Glasgow City').code}"
    # Acceptance, engagement and conversion need their follow-up: their latest 12 months
    # end with June (2026Q3 ended on 30 September, fewer than 28 days before).
    followed = entry(published, "12m-2026-06", glasgow)
    assert followed["acceptance_rate"] == [30, 36]
    assert followed["engagement_rate"] == [24, 36]  # attended within 28 days
    assert followed["conversion_rate"] == [15, 36]  # started within 84 days
    latest = entry(published, "12m-2026-09", glasgow)
    assert latest["referrals"] == 36
    assert latest["engagement_to_treatment"] == [18, 27]  # started, of those attending
    assert latest["within_3_weeks"] == [12, 18]  # within 21 days, of those started
    assert "conversion_rate" not in latest
    # Waits: 12 of 15 days, 3 of 30, 3 of 100: the 9th and 10th are both 15; the 17th of
    # 18 is the 90th percentile. Attendance: 24 at 5 days, 3 at 40.
    assert latest["treatment_wait"] == [15, 100, 18]
    assert latest["attendance_wait"] == [5, 40, 27]


def test_scotland_has_quarterly_rates_and_months(session, maker):
    pattern(maker, referred=dt.date(2026, 1, 5))  # the data begin in January
    pattern(maker)
    published = figures(session)
    quarter = entry(published, "2026Q2", "national")
    assert quarter["referrals"] == 36
    assert quarter["acceptance_rate"] == [30, 36]
    assert quarter["started_over_42"] == "<5"  # 3 waited 100 days
    month = entry(published, "2026-05", "national")
    assert month["referrals"] == 36 and month["conversion_rate"] == [15, 36]
    # A council area's quarter has its referrals, but no rates (too few for most areas).
    glasgow = f"council:{council(session, 'Glasgow City').code}"
    glasgow_quarter = entry(published, "2026Q2", glasgow)
    assert glasgow_quarter["referrals"] == 36
    assert "acceptance_rate" not in glasgow_quarter


def test_a_measure_small_in_some_month_is_not_published_by_month(session, maker):
    maker(referred=dt.date(2026, 1, 5))  # January: 1 referral
    pattern(maker)
    published = figures(session)
    assert "referrals" not in entry(published, "2026-05", "national")
    assert entry(published, "2026Q2", "national")["referrals"] == 36


def test_a_period_not_yet_followed_up_has_no_rate(session, maker):
    maker(referred=dt.date(2026, 1, 5))
    pattern(maker, referred=dt.date(2026, 9, 1))
    published = figures(session)
    quarter = entry(published, "2026Q3", "national")
    assert quarter["referrals"] == 36
    assert "acceptance_rate" not in quarter and "conversion_rate" not in quarter
    assert quarter["within_3_weeks"] == [12, 18]  # completed waits need no follow-up
    assert published.periods["2026Q3"]["scotland"] == [
        "children_affected",
        "contacts",
        "declined",
        "diversion_completion",
        "engagement_to_treatment",
        "naloxone_supplied",
        "naloxone_supply_rate",
        "near_fatal_overdose",
        "offer_rate",
        "referral_success_rate",
        "referrals",
        "started_over_42",
        "within_3_weeks",
    ]  # retention at 12 weeks waits for its follow-up, as conversion does


def test_referrals_entered_in_error_are_left_out_but_counted_in_closures(session, maker):
    pattern(maker)
    for _ in range(6):
        maker(accepted=1, status="closed", close_reason="entered_in_error", closed_on=MAY)
    published = figures(session)
    assert entry(published, "12m-2026-09", "national")["referrals"] == 36
    closures = published.reasons[("closed", "12m-2026-09")]
    assert closures["entered_in_error"] == 6
    assert published.reasons[("declined", "12m-2026-09")]["total"] == "<5"  # 3


def test_ongoing_waits_are_counted_on_the_last_day_of_the_period(session, maker):
    # Accepted, not started by 30 September: made 2, 10 and 50 days before it.
    for days, n in ((2, 5), (10, 6), (50, 7)):
        for _ in range(n):
            maker(referred=dt.date(2026, 9, 30) - dt.timedelta(days=days), accepted=1)
    for _ in range(5):  # started before the end: not waiting
        maker(referred=dt.date(2026, 8, 1), accepted=1, engaged=5, started=10)
    published = figures(session)
    assert published.ongoing["12m-2026-09"] == {
        "ongoing_up_to_1_week": 5,
        "ongoing_1_to_3_weeks": 6,
        "ongoing_3_to_6_weeks": 0,
        "ongoing_over_6_weeks": 7,
    }


def test_groups_of_people_add_up_to_everybody(session, maker):
    pattern(maker, sex="female")
    pattern(maker, copies=4, sex="male")
    published = figures(session)
    women = entry(published, "12m-2026-09", "national", group="sex:female")
    men = entry(published, "12m-2026-09", "national", group="sex:male")
    everybody = entry(published, "12m-2026-09", "national")
    assert women["referrals"] == 36 and men["referrals"] == 48
    assert everybody["referrals"] == 84
    assert women["within_3_weeks"] == [12, 18] and men["within_3_weeks"] == [16, 24]


def test_small_figures_carry_their_reason(session, maker):
    pattern(maker)
    for _ in range(3):
        maker(council_name="Orkney Islands", accepted=1)
    published = figures(session)
    orkney = entry(published, "12m-2026-09", f"council:{council(session, 'Orkney Islands').code}")
    assert orkney["referrals"] == "<5"
    assert orkney["within_3_weeks"] == "fewer than 10"
