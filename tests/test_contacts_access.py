"""Who can reach what: custody contacts, outcomes after treatment starts and the scheme
pages, for every kind of user. 302 means "sent to sign in" (or, after a POST, "done")."""

import datetime as dt

import pytest

from referrals.choices import Role
from referrals.contacts.models import CustodyContact
from referrals.schemes.models import Scheme

from .factories import (
    council,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .test_auth import sign_in


@pytest.fixture
def world(session):
    org_x, org_y = make_organisation(session, "Org X"), make_organisation(session, "Org Y")
    service_x = make_service(session, organisation=org_x, name="Service X")
    suite_a, suite_b = suite(session, "GLA-LR"), suite(session, "EDI-SL")
    users = {
        "custody_a": make_user(session, Role.CUSTODY, email="ca@t.example", custody_suite=suite_a),
        "custody_b": make_user(session, Role.CUSTODY, email="cb@t.example", custody_suite=suite_b),
        "provider_x": make_user(session, Role.PROVIDER, email="px@t.example", organisation=org_x),
        "provider_y": make_user(session, Role.PROVIDER, email="py@t.example", organisation=org_y),
        "lead": make_user(session, Role.LEAD, email="l@t.example"),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    started = dt.date.today() - dt.timedelta(days=100)
    referral = make_referral(
        session,
        service=service_x,
        referrer=users["custody_a"],
        referred_on=started,
        status="treatment_started",
        accepted_on=started,
        engaged_on=started,
        treatment_started_on=started,
    )
    contact = CustodyContact(
        custody_suite_id=suite_a.id,
        contact_on=dt.date.today(),
        recorded_by_id=users["custody_a"].id,
        age_band="25_34",
        sex="male",
        postcode_district="G31",
        council_area_id=council(session, "Glasgow City").id,
        offered=False,
        outcome="released_before_seen",
        naloxone="not_offered",
    )
    scheme = Scheme(code="ARS-T", name="Test scheme", organisation=org_x, suites=[suite_a])
    session.add_all([contact, scheme])
    session.commit()
    return {"contact": contact.id, "referral": referral.id, "scheme": scheme.id, **users}


WHO = ["anonymous", "custody_a", "custody_b", "provider_x", "provider_y", "lead", "admin"]
# (method, url, expected status for each of WHO)
MATRIX = [
    ("GET", "/contacts", [302, 200, 200, 403, 403, 403, 200]),
    ("GET", "/contacts/new", [302, 200, 200, 403, 403, 403, 200]),
    ("GET", "/contacts/new/batch", [302, 200, 200, 403, 403, 403, 200]),
    ("GET", "/contacts/{contact}", [302, 200, 404, 403, 403, 403, 200]),
    ("GET", "/contacts/{contact}/edit", [302, 200, 404, 403, 403, 403, 200]),
    ("GET", "/contacts/999999", [302, 404, 404, 403, 403, 403, 404]),
    ("POST", "/contacts/new", [302, 400, 400, 403, 403, 403, 400]),
    ("POST", "/contacts/new/batch", [302, 400, 400, 403, 403, 403, 400]),
    ("POST", "/contacts/{contact}/edit", [302, 409, 404, 403, 403, 403, 409]),
    # Allowed, but refused: no answer is sent (the page again, with what is wrong).
    ("POST", "/referrals/{referral}/outcome/retention", [302, 403, 403, 400, 404, 403, 400]),
    ("POST", "/referrals/{referral}/outcome/nonsense", [302, 403, 403, 404, 404, 403, 404]),
    ("GET", "/admin/schemes/", [302, 403, 403, 403, 403, 403, 200]),
    ("GET", "/admin/schemes/new", [302, 403, 403, 403, 403, 403, 200]),
    ("GET", "/admin/schemes/{scheme}", [302, 403, 403, 403, 403, 403, 200]),
    ("POST", "/admin/schemes/{scheme}", [302, 403, 403, 403, 403, 403, 400]),
    ("GET", "/admin/schemes/999999", [302, 403, 403, 403, 403, 403, 404]),
]


@pytest.mark.parametrize("who", WHO)
def test_access_matrix(client, world, who):
    if who != "anonymous":
        assert sign_in(client, world[who].email).status_code == 302
    for method, template, expected in MATRIX:
        url = template.format(**world)
        data = None
        if method == "POST":
            data = {"version": "0"}  # a stale or incomplete form: refused, nothing saved
        response = client.open(url, method=method, data=data)
        want = expected[WHO.index(who)]
        assert response.status_code == want, (who, method, url, response.status_code)
        if response.status_code == 302 and who == "anonymous":
            assert "/login" in response.location


def test_the_outcome_post_without_an_answer_changes_nothing(client, session, world):
    sign_in(client, "px@t.example")
    response = client.post(
        f"/referrals/{world['referral']}/outcome/retention", data={"version": "0"}
    )
    assert response.status_code == 400
    from referrals.models import Referral

    assert session.get(Referral, world["referral"]).retention_outcome is None


def test_only_custody_staff_and_admins_see_the_contacts_link(client, world):
    for email, sees in [("ca@t.example", True), ("px@t.example", False), ("l@t.example", False)]:
        sign_in(client, email)
        html = client.get("/").get_data(as_text=True)
        assert ('href="/contacts"' in html) == sees, email
        client.post("/logout")
