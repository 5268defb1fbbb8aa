"""The load test's check of the database afterwards (``bench/load_check.py``): writes the
app acknowledged must be there once; writes the client timed out on at most once, counted
apart as completed or not made; and nothing else may have been added."""

import datetime as dt
import re
from types import SimpleNamespace

import sqlalchemy as sa

from bench.load_check import check_writes, counts
from referrals.models import Referral

from .factories import make_referral
from .test_auth import sign_in
from .test_lists import staff  # noqa: F401  (fixture)
from .test_referrals import referral_form


def results(**given):
    base = {
        "made": {},
        "accepted": [],
        "attended": [],
        "unanswered": {"referral": [], "accept": [], "attend": []},
    }
    return SimpleNamespace(**(base | given))


def make(client, service_id: int, person: str) -> tuple[int, str]:
    """A referral made through the form, as a load-test user makes one; its id and the
    form's token."""
    form = client.get(f"/referrals/new?service={service_id}").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', form).group(1)
    data = referral_form(service_id, person_ref=person, form_token=token)
    answer = client.post("/referrals/new", data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return int(re.search(r"/referrals/(\d+)/made", answer.location).group(1)), token


def accept(app, session, referral_id: int) -> None:
    provider = app.test_client()
    sign_in(provider, "p@t.example")
    version = session.scalar(sa.select(Referral.version).where(Referral.id == referral_id))
    answer = provider.post(
        f"/referrals/{referral_id}/accept",
        data={"accept-on": dt.date.today().isoformat(), "accept-version": str(version)},
    )
    assert answer.status_code == 302


def test_acknowledged_and_timed_out_writes_are_counted_apart(app, client, session, staff):  # noqa: F811
    before = counts(session)
    sign_in(client, "c@t.example")
    service = staff["service"].id
    answered, answered_token = make(client, service, "GLA/26/000001")
    # The client gave up on this one, but the server made it.
    completed, completed_token = make(client, service, "GLA/26/000002")
    accept(app, session, answered)
    # ...and on an accept the server completed, and on one that never arrived.
    accept(app, session, completed)
    run = results(
        made={answered: answered_token},
        accepted=[answered],
        unanswered={
            "referral": [completed_token, "never-arrived"],
            "accept": [completed, answered + completed + 100],
            "attend": [],
        },
    )
    session.expire_all()
    exact, lines = check_writes(session, run, before)
    assert exact, "\n".join(lines)
    text = "\n".join(lines)
    assert "timed out on 2 referral POSTs: 1 completed by the server once, 1 not made" in text
    assert "timed out on 2 accept POSTs: 1 completed by the server once, 1 not made" in text
    assert "referrals          expected      2, added      2" in text
    assert "events             expected      4, added      4" in text


def test_a_lost_write_or_one_nobody_asked_for_is_a_mismatch(app, client, session, staff):  # noqa: F811
    before = counts(session)
    sign_in(client, "c@t.example")
    answered, token = make(client, staff["service"].id, "GLA/26/000003")
    session.expire_all()
    assert check_writes(session, results(made={answered: token}), before)[0]
    # An acknowledged accept that is not in the database: lost.
    exact, lines = check_writes(
        session, results(made={answered: token}, accepted=[answered]), before
    )
    assert not exact and any("acknowledged accept changes missing" in line for line in lines)
    # A referral nobody was told about (nor timed out on): something else changed.
    make_referral(session, service=staff["service"], referrer=staff["custody"])
    session.commit()
    exact, lines = check_writes(session, results(made={answered: token}), before)
    assert not exact and any("rows added differ" in line for line in lines)
