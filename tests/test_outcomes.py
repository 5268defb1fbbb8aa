"""Outcomes after treatment starts: the 12-week check, diversion outcomes and blood-borne
virus testing, asked on the worklist and recorded as events through the lifecycle."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, Referral, ReferralEvent

from .factories import make_organisation, make_people, make_referral, make_user
from .test_auth import sign_in

TODAY = dt.date.today()


@pytest.fixture
def people(session):
    return make_people(session)


def started(session, people, days_ago, **fields):
    """A referral whose treatment started ``days_ago`` days ago."""
    start = TODAY - dt.timedelta(days=days_ago)
    values = {
        "referred_on": start - dt.timedelta(days=10),
        "status": "treatment_started",
        "accepted_on": start - dt.timedelta(days=9),
        "engaged_on": start - dt.timedelta(days=5),
        "treatment_started_on": start,
    }
    values.update(fields)
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], **values
    )
    session.commit()
    return referral


def post(client, referral, kind, value, on=None, version=None, back="worklist", note=None):
    prefix = f"o{referral.id}-{kind}"
    data = {
        f"{prefix}-version": str(version if version is not None else referral.version),
        f"{prefix}-value": value,
        f"{prefix}-on": (on or TODAY).isoformat(),
        "back": back,
    }
    if note:
        data[f"{prefix}-note"] = note
    return client.post(f"/referrals/{referral.id}/outcome/{kind}", data=data)


def fresh(session, referral):
    session.expire_all()
    return session.get(Referral, referral.id)


def worklist(client):
    html = client.get("/worklist").get_data(as_text=True)
    return html[html.index('id="outcomes"') :]


def test_the_12_week_check_is_asked_once_treatment_started_12_weeks_ago(client, session, people):
    due = started(session, people, 84)
    early = started(session, people, 83)
    sign_in(client, "p@t.example")
    section = worklist(client)
    assert "outcomes to record (1)" in section
    assert due.reference in section and early.reference not in section
    assert "Still in treatment" in section and "Dropped out" in section


def test_retained_at_12_weeks_keeps_the_referral_open(client, session, people):
    referral = started(session, people, 90)
    sign_in(client, "p@t.example")
    response = post(client, referral, "retention", "retained")
    assert response.status_code == 302
    assert response.location == "/worklist?section=outcomes#outcomes"
    referral = fresh(session, referral)
    assert referral.status == "treatment_started"
    assert (referral.retention_outcome, referral.retention_outcome_on) == ("retained", TODAY)
    event = referral.events[-1]
    assert (event.from_status, event.to_status, event.reason) == (
        "treatment_started",
        "treatment_started",
        "retention:retained",
    )
    assert event.user_id == people["provider"].id and event.event_date == TODAY
    assert referral.reference not in worklist(client)  # asked once
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "12-week check: still in treatment" in detail
    action = session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()))
    assert action == "referral_viewed"
    assert "referral_outcome_retention" in session.scalars(sa.select(AuditEvent.action)).all()


@pytest.mark.parametrize(
    ("value", "reason"),
    [("completed", "completed"), ("dropped_out", "disengaged"), ("transferred", "transferred")],
)
def test_an_outcome_that_ends_treatment_closes_the_referral(
    client, session, people, value, reason
):
    referral = started(session, people, 100)
    sign_in(client, "p@t.example")
    on = TODAY - dt.timedelta(days=3)
    post(client, referral, "retention", value, on=on)
    referral = fresh(session, referral)
    assert referral.status == "closed" and referral.close_reason == reason
    assert referral.closed_on == on and referral.retention_outcome == value
    assert referral.events[-1].to_status == "closed"
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "12-week check:" in detail and ": closed" in detail


@pytest.mark.parametrize(
    ("value", "days_before_today", "message"),
    [
        ("retained", 10, "The date cannot be before 12 weeks after treatment started"),
        ("dropped_out", 120, "The date cannot be before treatment started"),
        ("retained", -1, "The date cannot be in the future."),
        ("", 0, "Choose an answer."),
    ],
)
def test_wrong_dates_and_answers_are_refused_and_change_nothing(
    client, session, people, value, days_before_today, message
):
    referral = started(session, people, 90)
    sign_in(client, "p@t.example")
    on = TODAY - dt.timedelta(days=days_before_today)
    response = post(client, referral, "retention", value, on=on)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    referral = fresh(session, referral)
    assert referral.retention_outcome is None and referral.status == "treatment_started"
    assert len(referral.events) == 1


def day(on: dt.date) -> str:
    return f"{on.day} {on:%b %Y}"


def close(client, session, referral, on):
    version = fresh(session, referral).version
    return client.post(
        f"/referrals/{referral.id}/close",
        data={
            "close-version": str(version),
            "close-on": on.isoformat(),
            "close-reason": "disengaged",
        },
    )


def test_a_diversion_outcome_is_not_dated_before_treatment_started(client, session, people):
    """It closes the referral, so, like a plain close, it comes after every stage
    recorded, not only after the first attendance."""
    referral = started(session, people, 10, pathway="diversion")
    began = referral.treatment_started_on
    sign_in(client, "p@t.example")
    on = referral.engaged_on + dt.timedelta(days=1)
    response = post(client, referral, "diversion", "completed", on=on, back="detail")
    assert response.status_code == 400
    assert f"The date cannot be before treatment started ({day(began)})." in response.get_data(
        as_text=True
    )
    referral = fresh(session, referral)
    assert (referral.status, referral.closed_on, referral.diversion_outcome) == (
        "treatment_started",
        None,
        None,
    )
    assert post(client, referral, "diversion", "completed", on=began).status_code == 302
    assert fresh(session, referral).closed_on == began


def recorded_check(client, session, referral) -> tuple[dt.date, str]:
    on = TODAY - dt.timedelta(days=5)
    assert post(client, referral, "retention", "retained", on=on).status_code == 302
    return on, "the 12-week check"


def recorded_test(client, session, referral) -> tuple[dt.date, str]:
    on = TODAY - dt.timedelta(days=5)
    assert post(client, referral, "bbv", "taken", on=on).status_code == 302
    return on, "the blood-borne virus test was taken"


def recorded_reopening(client, session, referral) -> tuple[dt.date, str]:
    assert close(client, session, referral, TODAY - dt.timedelta(days=20)).status_code == 302
    client.post("/logout")
    sign_in(client, "a@t.example")
    on = TODAY - dt.timedelta(days=5)
    response = client.post(
        f"/referrals/{referral.id}/reopen",
        data={
            "reopen-version": str(fresh(session, referral).version),
            "reopen-on": on.isoformat(),
            "reopen-note": "Closed by mistake: still attending",
        },
    )
    assert response.status_code == 302
    client.post("/logout")
    sign_in(client, "p@t.example")
    return on, "the referral was reopened"


@pytest.mark.parametrize("record", [recorded_check, recorded_test, recorded_reopening])
@pytest.mark.parametrize("ending", ["close", "diversion outcome"])
def test_a_referral_is_not_closed_before_the_latest_date_recorded_on_it(
    client, session, people, record, ending
):
    """Closing, by hand or by an outcome that closes it, comes on or after the 12-week
    check, a blood-borne virus test and the last reopening, as after the stages."""
    referral = started(session, people, 100, pathway="diversion", needs="treatment,bbv")
    sign_in(client, "p@t.example")
    latest, name = record(client, session, referral)
    early = latest - dt.timedelta(days=10)  # after treatment started
    if ending == "close":
        response = close(client, session, referral, early)
    else:
        response = post(client, fresh(session, referral), "diversion", "completed", on=early)
    assert response.status_code == 400
    assert f"The date cannot be before {name} ({day(latest)})." in response.get_data(as_text=True)
    referral = fresh(session, referral)
    assert (referral.status, referral.closed_on) == ("treatment_started", None)
    assert close(client, session, referral, latest).status_code == 302
    assert fresh(session, referral).closed_on == latest


def test_the_12_week_check_before_it_is_due_is_refused(client, session, people):
    referral = started(session, people, 30)
    sign_in(client, "p@t.example")
    response = post(client, referral, "retention", "retained", back="detail")
    assert response.status_code == 400
    due = (TODAY + dt.timedelta(days=54)).day
    assert f"The 12-week check is due on {due}" in response.get_data(as_text=True)
    assert fresh(session, referral).retention_outcome is None


def test_a_form_shown_before_someone_else_changed_the_referral_is_refused(client, session, people):
    referral = started(session, people, 90)
    sign_in(client, "p@t.example")
    old_version = referral.version
    post(client, referral, "retention", "retained")
    response = post(client, referral, "bbv", "offered", version=old_version)
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)


def test_diversion_outcomes_for_the_diversion_pathway(client, session, people):
    engaged = TODAY - dt.timedelta(days=20)
    diversion = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=engaged - dt.timedelta(days=5),
        pathway="diversion",
        status="engaged",
        accepted_on=engaged,
        engaged_on=engaged,
    )
    other = started(session, people, 10)
    session.commit()
    sign_in(client, "p@t.example")
    section = worklist(client)
    assert diversion.reference in section and "Diversion completed" in section
    assert other.reference not in section
    post(client, other, "diversion", "completed")
    assert fresh(session, other).diversion_outcome is None
    post(client, diversion, "diversion", "not_completed")
    diversion = fresh(session, diversion)
    assert (
        diversion.diversion_outcome == "not_completed" and diversion.diversion_outcome_on == TODAY
    )
    assert diversion.status == "closed" and diversion.close_reason == "disengaged"


def test_blood_borne_virus_testing_is_asked_where_the_need_was_recorded(client, session, people):
    need = started(session, people, 20, needs="treatment,bbv")
    no_need = started(session, people, 20, needs="treatment,housing")
    sign_in(client, "p@t.example")
    section = worklist(client)
    assert need.reference in section and no_need.reference not in section
    post(client, no_need, "bbv", "offered")
    assert fresh(session, no_need).bbv_test_offered_on is None
    offered_on = TODAY - dt.timedelta(days=4)
    post(client, need, "bbv", "offered", on=offered_on)
    need = fresh(session, need)
    assert need.bbv_test_offered_on == offered_on and need.bbv_test_taken_on is None
    assert need.status == "treatment_started"
    section = worklist(client)
    assert need.reference in section  # still asked until the test is taken
    assert f"Test offered {offered_on.day}" in section
    response = post(client, need, "bbv", "taken", on=offered_on - dt.timedelta(days=1))
    assert response.status_code == 400
    assert "before the test was offered" in response.get_data(as_text=True)
    post(client, need, "bbv", "taken")
    need = fresh(session, need)
    assert need.bbv_test_taken_on == TODAY and need.bbv_test_offered_on == offered_on
    assert need.reference not in worklist(client)
    reasons = [e.reason for e in need.events]
    assert reasons[-2:] == ["bbv:offered", "bbv:taken"]


def test_reopening_a_referral_closed_by_its_12_week_check_forgets_that_outcome(
    client, session, people
):
    referral = started(session, people, 90)
    sign_in(client, "p@t.example")
    post(client, referral, "retention", "dropped_out")
    client.post("/logout")
    sign_in(client, "a@t.example")
    response = client.post(
        f"/referrals/{referral.id}/reopen",
        data={"reopen-version": str(fresh(session, referral).version), "reopen-note": "Mistake"},
    )
    assert response.status_code == 302
    referral = fresh(session, referral)
    assert referral.status == "treatment_started"
    assert referral.retention_outcome is None and referral.close_reason is None
    events = session.scalars(
        sa.select(ReferralEvent.reason).where(ReferralEvent.referral_id == referral.id)
    ).all()
    assert "retention:dropped_out" in events  # the history keeps it


def test_other_organisations_and_custody_cannot_record_outcomes(client, session, people):
    referral = started(session, people, 90)
    other = make_user(
        session, Role.PROVIDER, email="q@t.example", organisation=make_organisation(session)
    )
    session.commit()
    sign_in(client, other.email)
    assert post(client, referral, "retention", "retained").status_code == 404
    client.post("/logout")
    sign_in(client, "c@t.example")
    assert post(client, referral, "retention", "retained").status_code == 403
    assert fresh(session, referral).retention_outcome is None


def undo(client, session, referral):
    version = fresh(session, referral).version
    return client.post(f"/referrals/{referral.id}/undo", data={"version": str(version)})


def test_undoing_an_outcome_takes_back_that_outcome_and_nothing_before_it(client, session, people):
    referral = started(session, people, 90)
    began = referral.treatment_started_on
    sign_in(client, "p@t.example")
    post(client, referral, "retention", "retained")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "You recorded “12-week check: still in treatment”" in page
    assert "Undo “12-week check: still in treatment”" in page
    assert "12-week check: still in treatment" in client.get("/worklist").get_data(as_text=True)
    assert undo(client, session, referral).status_code == 302
    referral = fresh(session, referral)
    assert referral.status == "treatment_started" and referral.treatment_started_on == began
    assert referral.retention_outcome is None and referral.retention_outcome_on is None
    assert referral.reference in worklist(client)  # the check is asked again
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Undone: 12-week check: still in treatment" in page
    # Then the stage before it can still be undone, and only then is the start cleared.
    assert "Undo “Treatment started”" not in page  # that change was not this user's


def test_undoing_an_outcome_that_closed_the_referral_reopens_it_where_it_was(
    client, session, people
):
    referral = started(session, people, 90)
    began = referral.treatment_started_on
    sign_in(client, "p@t.example")
    post(client, referral, "retention", "completed")
    assert fresh(session, referral).status == "closed"
    assert undo(client, session, referral).status_code == 302
    referral = fresh(session, referral)
    assert referral.status == "treatment_started" and referral.treatment_started_on == began
    assert referral.closed_on is None and referral.close_reason is None
    assert referral.retention_outcome is None
    assert referral.reference in worklist(client)


def test_undoing_a_test_taken_keeps_the_offer_made_before_it(client, session, people):
    referral = started(session, people, 20, needs="treatment,bbv")
    began = referral.treatment_started_on
    offered_on = TODAY - dt.timedelta(days=3)
    sign_in(client, "p@t.example")
    post(client, referral, "bbv", "offered", on=offered_on)
    post(client, fresh(session, referral), "bbv", "taken")
    assert fresh(session, referral).bbv_test_taken_on == TODAY
    assert undo(client, session, referral).status_code == 302
    referral = fresh(session, referral)
    assert referral.bbv_test_taken_on is None and referral.bbv_test_offered_on == offered_on
    assert undo(client, session, referral).status_code == 302
    referral = fresh(session, referral)
    assert referral.bbv_test_offered_on is None
    assert referral.status == "treatment_started" and referral.treatment_started_on == began
    # A test taken with no offer before it takes the offer's date with it when undone.
    post(client, referral, "bbv", "taken")
    assert fresh(session, referral).bbv_test_offered_on == TODAY
    assert undo(client, session, referral).status_code == 302
    referral = fresh(session, referral)
    assert referral.bbv_test_offered_on is None and referral.bbv_test_taken_on is None


def test_an_outcome_sent_twice_is_answered_as_saved_once(client, session, people):
    referral = started(session, people, 90)
    sign_in(client, "p@t.example")
    version = referral.version
    for _ in range(2):
        response = post(client, referral, "retention", "retained", version=version)
        page = client.get(response.location).get_data(as_text=True)
        assert "12-week check: still in treatment saved" in page
        assert "changed by someone else" not in page
    reasons = [e.reason for e in fresh(session, referral).events]
    assert reasons.count("retention:retained") == 1


@pytest.mark.parametrize("back", ["worklist", "detail"])
def test_a_refused_outcome_is_shown_again_with_what_was_chosen(client, session, people, back):
    """A refusal shows the referral's page with the refused form as it was sent: the
    answer still chosen, the date still typed, and what is wrong beside them; saving it
    from there returns where the form came from."""
    referral = started(session, people, 90)
    sign_in(client, "p@t.example")
    future = TODAY + dt.timedelta(days=3)
    prefix = f"o{referral.id}-retention"
    response = post(client, referral, "retention", "dropped_out", on=future, back=back)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "That change was not saved" in page
    assert "12-week check: The date cannot be in the future." in page
    # The summary at the top leads to the form, further down the page.
    assert f'<a href="#{prefix}-value-0">Go to the answer to put it right</a>' in page
    form = page[page.rindex("<form", 0, page.index(f'id="{prefix}-value"')) :]
    form = form[: form.index("</form>")]
    assert f'value="{future.isoformat()}"' in form
    chosen = re.search(r'<input[^>]*value="dropped_out"[^>]*>', form).group(0)
    assert "checked" in chosen
    assert f'name="back" value="{back}"' in form
    assert fresh(session, referral).retention_outcome is None

    # No answer chosen: said beside the choices, the date kept.
    response = client.post(
        f"/referrals/{referral.id}/outcome/retention",
        data={
            f"{prefix}-version": str(referral.version),
            f"{prefix}-on": "1/2/2026",
            "back": back,
        },
    )
    assert response.status_code == 400
    form = response.get_data(as_text=True)
    form = form[form.index(f'id="{prefix}-value"') :]
    assert f'id="{prefix}-value-error"' in form and "Choose an answer." in form
    assert 'value="1/2/2026"' in form[: form.index("</form>")]

    response = post(client, referral, "retention", "dropped_out", back=back)
    wanted = f"/referrals/{referral.id}"
    if back == "worklist":
        wanted = "/worklist?section=outcomes#outcomes"
    assert response.status_code == 302 and response.location == wanted
    assert fresh(session, referral).retention_outcome == "dropped_out"


def test_a_refused_answer_to_a_question_not_asked_links_to_no_form(client, session, people):
    """Blood-borne virus testing is asked only where that need was recorded: a post for
    it is refused, and the summary offers no link to a form that is not there."""
    referral = started(session, people, 90, needs="treatment")
    sign_in(client, "p@t.example")
    response = post(client, referral, "bbv", "offered", back="detail")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "That change was not saved" in page
    assert "Go to the answer" not in page and f'id="o{referral.id}-bbv-value"' not in page


def test_a_refused_outcome_from_a_later_page_returns_to_that_page_once_put_right(
    client, session, people
):
    referral = started(session, people, 90)
    sign_in(client, "p@t.example")
    prefix = f"o{referral.id}-retention"
    sent = {
        f"{prefix}-version": str(referral.version),
        f"{prefix}-on": TODAY.isoformat(),
        "back": "worklist",
        "section": "outcomes",
        "after": "99999",
    }
    url = f"/referrals/{referral.id}/outcome/retention"
    refused = client.post(url, data=sent)  # no answer chosen
    assert refused.status_code == 400
    form = refused.get_data(as_text=True)
    form = form[form.rindex("<form", 0, form.index(f'id="{prefix}-value"')) :]
    form = form[: form.index("</form>")]
    assert 'name="section" value="outcomes"' in form and 'name="after" value="99999"' in form
    saved = client.post(url, data=sent | {f"{prefix}-value": "retained"})
    assert saved.location == "/worklist?section=outcomes&after=99999#outcomes"


def test_the_worklist_counts_at_the_top_include_the_outcomes_to_record(client, session, people):
    started(session, people, 90)
    sign_in(client, "p@t.example")
    html = client.get("/worklist").get_data(as_text=True)
    counts = html[
        html.index("worklist-counts") : html.index("</ul>", html.index("worklist-counts"))
    ]
    assert '<a href="#outcomes"><span class="count">1</span> Outcomes to record' in counts
