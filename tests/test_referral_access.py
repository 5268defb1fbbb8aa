"""Who can reach what: every route of referral tracking and administration, for every
kind of user. 302 means "sent to sign in"."""

import pytest

from referrals.choices import Role

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in


@pytest.fixture
def world(session):
    org_x, org_y = make_organisation(session, "Org X"), make_organisation(session, "Org Y")
    service_x = make_service(session, organisation=org_x, name="Service X")
    service_y = make_service(session, organisation=org_y, name="Service Y")
    suite_a, suite_b = suite(session, "GLA-LR"), suite(session, "EDI-SL")
    users = {
        "custody_a": make_user(session, Role.CUSTODY, email="ca@t.example", custody_suite=suite_a),
        "custody_b": make_user(session, Role.CUSTODY, email="cb@t.example", custody_suite=suite_b),
        "provider_x": make_user(session, Role.PROVIDER, email="px@t.example", organisation=org_x),
        "provider_y": make_user(session, Role.PROVIDER, email="py@t.example", organisation=org_y),
        "lead": make_user(session, Role.LEAD, email="l@t.example"),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    ra = make_referral(session, service=service_x, referrer=users["custody_a"])
    rb = make_referral(session, service=service_y, referrer=users["custody_b"])
    session.commit()
    return {"ra": ra.id, "rb": rb.id, "user": users["custody_b"].id, **users}


WHO = ["anonymous", "custody_a", "custody_b", "provider_x", "provider_y", "lead", "admin"]
# (method, url, expected status for each of WHO)
MATRIX = [
    ("GET", "/referrals/new", [302, 200, 200, 403, 403, 403, 403]),
    ("GET", "/referrals", [302, 200, 200, 200, 200, 403, 200]),
    ("GET", "/referrals/{ra}", [302, 200, 404, 200, 404, 403, 200]),
    ("GET", "/referrals/{rb}", [302, 404, 200, 404, 200, 403, 200]),
    ("GET", "/referrals/{ra}/made", [302, 200, 404, 403, 403, 403, 403]),
    ("GET", "/referrals/999999", [302, 404, 404, 404, 404, 403, 404]),
    ("POST", "/referrals/{ra}/accept", [302, 403, 404, 302, 404, 403, 302]),
    ("GET", "/worklist", [302, 403, 403, 200, 200, 403, 200]),
    ("GET", "/admin/", [302, 403, 403, 403, 403, 403, 200]),
    ("GET", "/admin/users", [302, 403, 403, 403, 403, 403, 200]),
    ("GET", "/admin/users/new", [302, 403, 403, 403, 403, 403, 200]),
    ("GET", "/admin/users/{user}", [302, 403, 403, 403, 403, 403, 200]),
    ("POST", "/admin/users/{user}/unlock", [302, 403, 403, 403, 403, 403, 302]),
    ("GET", "/admin/audit", [302, 403, 403, 403, 403, 403, 200]),
    ("GET", "/admin/imports/services", [302, 403, 403, 403, 403, 403, 200]),
    ("GET", "/listings", [302, 403, 403, 200, 200, 403, 200]),
    ("GET", "/admin/subject-access", [302, 403, 403, 403, 403, 403, 200]),
    ("POST", "/admin/users/{user}/sign-in-app", [302, 403, 403, 403, 403, 403, 302]),
    ("POST", "/admin/users/{user}/password", [302, 403, 403, 403, 403, 403, 400]),
    ("GET", "/settings/sign-in", [302, 200, 200, 200, 200, 200, 200]),
    ("GET", "/login", [200] * 7),
]


@pytest.mark.parametrize("who", WHO)
def test_access_matrix(client, world, who):
    if who != "anonymous":
        assert sign_in(client, world[who].email).status_code == 302
    for method, template, expected in MATRIX:
        url = template.format(ra=world["ra"], rb=world["rb"], user=world["user"])
        data = {"accept-version": "1"} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        want = expected[WHO.index(who)]
        if who != "anonymous" and url == "/login":
            want = 302  # already signed in: sent on to the home page
        assert response.status_code == want, (who, method, url, response.status_code)
        if response.status_code == 302 and who == "anonymous":
            assert "/login" in response.location


def test_lead_sees_no_person_level_record_anywhere(client, world):
    sign_in(client, "l@t.example")
    home = client.get("/").get_data(as_text=True)
    assert "CR/" not in home and "Referrals</a>" not in home
