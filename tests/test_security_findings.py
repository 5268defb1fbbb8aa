"""The outside test's smaller findings, each as the behaviour a user now sees: caching of
person-level pages, who is named on public pages, accounts on test domains, gaming the
measures with "entered in error", the audit trail of every view, public forms, rate
limits shared by workers and big imports through the admin page."""

import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from referrals.choices import ReferralStatus, Role
from referrals.models import AuditEvent, ListingProblem, Referral, Service

from .conftest import TEST_DATA_KEY
from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in
from .test_directory_import import GOOD, csv_file, upload_services
from .test_referrals import act

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    service = make_service(session, organisation=org, name="Service X")
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    provider = make_user(session, Role.PROVIDER, email="p@t.example", organisation=org)
    make_user(session, Role.ADMIN, email="a@t.example")
    referral = make_referral(session, service=service, referrer=custody, person_ref="GLA/26/4242")
    session.commit()
    return {"service": service, "referral": referral.id, "custody": custody, "provider": provider}


def audit(session, action):
    return session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


# -- caching --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email, path",
    [
        ("p@t.example", "/referrals/{id}"),
        ("p@t.example", "/worklist"),
        ("c@t.example", "/referrals"),
        ("c@t.example", "/referrals/{id}/made"),
        ("a@t.example", "/admin/audit"),
    ],
)
def test_person_level_pages_are_never_cached(client, people, email, path):
    sign_in(client, email)
    response = client.get(path.format(id=people["referral"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_public_pages_may_be_cached_and_sign_in_pages_may_not(client, people):
    assert "no-store" not in client.get("/services?q=G31").headers.get("Cache-Control", "")
    assert client.get("/login").headers["Cache-Control"] == "no-store"


# -- who is named ---------------------------------------------------------------------


def test_public_service_pages_do_not_name_staff(client, session, people):
    service = session.get(Service, people["service"].id)
    service.last_verified_by_id = people["provider"].id
    session.commit()
    page = client.get(f"/services/{service.id}").get_data(as_text=True)
    assert "Details last checked on" in page
    assert people["provider"].name not in page
    sign_in(client, "c@t.example")
    assert people["provider"].name in client.get(f"/services/{service.id}").get_data(as_text=True)


# -- accounts on test domains ---------------------------------------------------------


def test_admin_can_edit_accounts_whose_email_is_on_a_test_domain(client, session, people):
    area = council(session, "Fife")
    lead = make_user(session, Role.LEAD, email="lead@demo.test", areas=[area])
    session.commit()
    sign_in(client, "a@t.example")
    response = client.post(
        f"/admin/users/{lead.id}",
        data={
            "email": "lead@demo.test",
            "name": "Renamed Lead",
            "role": "lead",
            "area_ids": area.id,
            "active": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Renamed Lead" in client.get(f"/admin/users/{lead.id}").get_data(as_text=True)
    bad = client.post(
        f"/admin/users/{lead.id}",
        data={"email": "not an email", "name": "X", "role": "lead", "area_ids": area.id},
    )
    assert bad.status_code == 400 and "like name@example.org" in bad.get_data(as_text=True)


# -- measures cannot be gamed ---------------------------------------------------------


def test_a_provider_cannot_close_a_referral_as_entered_in_error(client, session, people):
    rid = people["referral"]
    day = dt.date.today()
    sign_in(client, "p@t.example")
    assert act(client, rid, "accept", 1, day).status_code == 302
    assert act(client, rid, "attend", 2, day).status_code == 302
    page = client.get(f"/referrals/{rid}").get_data(as_text=True)
    assert 'value="entered_in_error"' not in page  # not offered
    response = act(client, rid, "close", 3, day, reason="entered_in_error")
    assert response.status_code == 400
    assert "Only the custody suite that made the referral" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Referral, rid).status == ReferralStatus.ENGAGED
    assert act(client, rid, "close", 3, day, reason="disengaged").status_code == 302


def test_an_administrator_can_correct_a_referral_entered_in_error(client, session, people):
    rid = people["referral"]
    sign_in(client, "a@t.example")
    response = act(client, rid, "close", 1, dt.date.today(), reason="entered_in_error")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Referral, rid).close_reason == "entered_in_error"


# -- every view of person-level data is audited ----------------------------------------


def test_lists_searches_the_made_page_and_the_worklist_are_audited(client, session, people):
    rid = people["referral"]
    sign_in(client, "c@t.example")
    client.get("/referrals")
    client.get(f"/referrals/{rid}/made")
    client.post("/referrals", data={"reference": "gla/26/4242"})
    client.post("/logout")
    sign_in(client, "p@t.example")
    client.get("/worklist")
    listed = audit(session, "referrals_listed")[0]
    assert json.loads(listed.detail)["ids"] == [rid] and listed.user_id == people["custody"].id
    [made] = [r for r in audit(session, "referral_viewed") if "made" in (r.detail or "")]
    assert made.object_id == str(rid)
    [searched] = audit(session, "referral_searched")
    assert json.loads(searched.detail) == {"ids": [rid], "by": "custody record number"}
    assert "4242" not in searched.detail  # the number itself is not kept
    [worklist] = audit(session, "worklist_viewed")
    assert json.loads(worklist.detail)["ids"] == [rid]


def test_custody_contacts_problem_reporters_and_feedback_shown_are_audited(
    client, session, people
):
    """Custody contacts (listed, or one in its edit form), a problem reporter's contact
    details and a feedback reply address are personal data: each showing is audited,
    with the ids shown, as lists of referrals are."""
    from referrals.about.models import Feedback

    from .factories import make_contact

    contact = make_contact(
        session, recorder=people["custody"], contact_on=dt.date.today(), outcome="declined"
    )
    session.add(
        ListingProblem(
            service_id=people["service"].id,
            category="wrong_phone",
            description="Rings out.",
            reporter_contact="Jo 07700 900999",
        )
    )
    session.add(Feedback(message="Useful.", reply_to="jo@example.org"))
    session.commit()
    sign_in(client, "c@t.example")
    assert client.get("/contacts").status_code == 200
    assert client.get(f"/contacts/{contact.id}/edit").status_code == 200
    [listed] = audit(session, "contacts_listed")
    assert json.loads(listed.detail)["ids"] == [contact.id]
    assert listed.user_id == people["custody"].id
    [viewed] = audit(session, "contact_viewed")
    assert viewed.object_id == str(contact.id) and "edit" in viewed.detail
    client.post("/logout")
    sign_in(client, "p@t.example")
    assert "Jo 07700 900999" in client.get("/listings").get_data(as_text=True)
    [problems] = audit(session, "listing_problems_viewed")
    assert (
        problems.user_id == people["provider"].id and len(json.loads(problems.detail)["ids"]) == 1
    )
    client.post("/logout")
    sign_in(client, "a@t.example")
    assert "jo@example.org" in client.get("/admin/feedback").get_data(as_text=True)
    [feedback] = audit(session, "feedback_viewed")
    assert len(json.loads(feedback.detail)["ids"]) == 1


@pytest.mark.parametrize("typed", ["2024-0815", "12345678", "gl26 0012"])
def test_a_custody_record_number_that_looks_like_a_reference_stays_out_of_addresses(
    client, session, people, typed
):
    """Custody record numbers of 8 letters and digits read as a referral's reference
    too: the search finds the person's referral on the page it posted to, and the
    number goes into no address and no audit row."""
    custody = people["custody"]
    mine = make_referral(session, service=people["service"], referrer=custody, person_ref=typed)
    session.commit()
    sign_in(client, "c@t.example")
    answer = client.post("/referrals", data={"reference": typed})
    assert answer.status_code == 200 and "Location" not in answer.headers
    html = answer.get_data(as_text=True)
    assert mine.reference in html
    squashed = typed.replace(" ", "").replace("-", "").upper()
    for link in re.findall(r'href="([^"]*)"', html):
        assert squashed not in link.replace("-", "").upper(), link
    [searched] = audit(session, "referral_searched")
    assert squashed not in searched.detail.replace("-", "").upper()
    # A reference written as one is still answered as a link.
    found = client.post("/referrals", data={"reference": mine.reference.lower()})
    assert found.status_code == 302 and mine.reference.lower() in found.location


def test_the_custody_record_search_form_posts(client, people):
    sign_in(client, "c@t.example")
    page = client.get("/referrals").get_data(as_text=True)
    assert 'method="post" action="/referrals"' in page


# -- public forms ---------------------------------------------------------------------


def test_problem_reports_are_rate_limited_per_address(app_factory, session, people):
    app = app_factory(RATELIMIT_ENABLED=True, PUBLIC_FORM_RATE_LIMIT="3 per 10 minutes")
    client = app.test_client()
    url = f"/services/{people['service'].id}/report-problem"
    data = {"category": "wrong_phone", "description": "The number rings out."}
    answers = [client.post(url, data=data).status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    assert client.get(url).status_code == 200  # reading the form is not counted
    assert session.scalar(sa.select(sa.func.count()).select_from(ListingProblem)) == 3


def test_a_huge_problem_report_is_refused_without_being_echoed(client, session, people):
    url = f"/services/{people['service'].id}/report-problem"
    huge = "x" * (2 * 1024 * 1024)
    response = client.post(url, data={"category": "wrong_phone", "description": huge})
    assert response.status_code == 413
    assert len(response.get_data()) < 20_000
    assert "too long for a problem report" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ListingProblem)) == 0


WORKER = """
import sys
from referrals import create_app

url, key, count, storage = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
app = create_app({
    "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url,
    "DATA_ENCRYPTION_KEYS": key, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": True,
    "SIGN_IN_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": storage,
})
client = app.test_client()
for n in range(count):
    answer = client.post("/login", data={"email": f"w{n}@t.example", "password": "wrong"})
    print(answer.status_code)
"""


def worker(database_url: str, count: int, storage: str = "database://") -> list[int]:
    """Sign-in attempts from a process of its own, as one gunicorn worker makes them."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER, database_url, TEST_DATA_KEY, str(count), storage],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [int(line) for line in done.stdout.split()]


def test_sign_in_rate_limit_is_shared_by_every_worker(database_url, session):
    """Two processes, as two gunicorn workers: the second one sees the first one's count,
    because it is kept in the database (it was once kept in each worker's memory)."""
    assert worker(database_url, 3) == [401, 401, 401]
    assert worker(database_url, 1) == [429]


# -- big imports through the admin page -----------------------------------------------


def test_a_file_too_big_for_the_page_gets_a_clear_answer(app_factory, session, people):
    """It used to run past the worker's time limit and end in a bare error."""
    assert app_factory().config["IMPORT_PAGE_MAX_ROWS"] == 5000
    client = app_factory(IMPORT_PAGE_MAX_ROWS=10).test_client()
    sign_in(client, "a@t.example")
    rows = [{**GOOD, "external_id": f"bulk-{n}"} for n in range(11)]
    response = upload_services(client, io.BytesIO(csv_file(rows).encode()))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "more than 10 rows, the most this page imports at once" in page
    assert "import-services" in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Service)) == 1
