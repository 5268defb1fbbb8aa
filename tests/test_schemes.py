"""Arrest referral schemes: administrators create them, choose their suites (a suite is
served by one scheme at most) and make users scheme leads."""

import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, User
from referrals.schemes.models import Scheme, scheme_suites

from .factories import make_organisation, make_user, suite
from .test_auth import sign_in


def admin(session):
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()


def scheme_form(org, suites, **changes):
    data = {
        "name": "Greater Glasgow Arrest Referral Scheme",
        "code": "ars-g1",
        "organisation_id": str(org.id),
        "suite_ids": [str(s.id) for s in suites],
        "active": "y",
    }
    data.update(changes)
    return data


def suites_of(session, scheme_id):
    rows = session.execute(
        sa.select(scheme_suites.c.custody_suite_id).where(scheme_suites.c.scheme_id == scheme_id)
    )
    return sorted(r for (r,) in rows)


def test_an_administrator_creates_a_scheme_serving_custody_suites(client, session):
    admin(session)
    org = make_organisation(session, "Glasgow Recovery Team")
    session.commit()
    sign_in(client, "a@t.example")
    page = client.get("/admin/schemes/new").get_data(as_text=True)
    assert "London Road Police Office custody (Greater Glasgow)" in page
    london, cathcart = suite(session, "GLA-LR"), suite(session, "GLA-CA")
    response = client.post("/admin/schemes/new", data=scheme_form(org, [london, cathcart]))
    assert response.status_code == 302 and response.location == "/admin/schemes/"
    scheme = session.scalar(sa.select(Scheme))
    assert scheme.code == "ARS-G1" and scheme.organisation_id == org.id and scheme.active
    assert suites_of(session, scheme.id) == sorted([london.id, cathcart.id])
    listing = client.get("/admin/schemes/").get_data(as_text=True)
    assert "Greater Glasgow Arrest Referral Scheme" in listing
    assert "Glasgow Recovery Team" in listing
    assert "custody suites are not served by any scheme" in listing  # the other 35
    action = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "scheme_created"))
    assert action is not None and str(scheme.id) == action.object_id


def test_choosing_a_suite_another_scheme_serves_moves_it_and_says_so(client, session):
    admin(session)
    org = make_organisation(session)
    london, govan = suite(session, "GLA-LR"), suite(session, "GLA-GV")
    first = Scheme(code="A", name="First", organisation=org, suites=[london, govan])
    session.add(first)
    session.commit()
    sign_in(client, "a@t.example")
    page = client.get("/admin/schemes/new").get_data(as_text=True)
    assert "now served by First" in page
    response = client.post(
        "/admin/schemes/new",
        data=scheme_form(org, [govan], name="Second", code="B"),
        follow_redirects=True,
    )
    assert "Moved from First: Govan (Helen Street) custody." in response.get_data(as_text=True)
    second = session.scalar(sa.select(Scheme).where(Scheme.code == "B"))
    assert suites_of(session, first.id) == [london.id]
    assert suites_of(session, second.id) == [govan.id]
    detail = session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "scheme_created")
    )
    assert "moved_from" in detail


def test_scheme_names_and_codes_are_unique_and_checked(client, session):
    admin(session)
    org = make_organisation(session)
    session.add(Scheme(code="ARS-G1", name="Taken", organisation=org))
    session.commit()
    sign_in(client, "a@t.example")
    response = client.post(
        "/admin/schemes/new", data=scheme_form(org, [], name="taken", code="ars-g1")
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Another scheme already has this name." in html
    assert "Another scheme already has this code." in html
    bad = client.post("/admin/schemes/new", data=scheme_form(org, [], code="no spaces!"))
    assert "Use letters, numbers and hyphens only" in bad.get_data(as_text=True)
    missing = client.post("/admin/schemes/new", data=scheme_form(org, [], organisation_id=""))
    assert "Choose the provider." in missing.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Scheme)) == 1


def test_changing_a_scheme_keeps_its_suites_in_step(client, session):
    admin(session)
    org = make_organisation(session)
    london, cathcart = suite(session, "GLA-LR"), suite(session, "GLA-CA")
    scheme = Scheme(code="A", name="A scheme", organisation=org, suites=[london])
    session.add(scheme)
    session.commit()
    sign_in(client, "a@t.example")
    form = client.get(f"/admin/schemes/{scheme.id}").get_data(as_text=True)
    assert 'value="A scheme"' in form
    response = client.post(
        f"/admin/schemes/{scheme.id}", data=scheme_form(org, [cathcart], name="A scheme", code="A")
    )
    assert response.status_code == 302
    session.expire_all()
    assert suites_of(session, scheme.id) == [cathcart.id]
    # Freed of its suites, the scheme can be made inactive (see test_scheme_admin).
    response = client.post(
        f"/admin/schemes/{scheme.id}",
        data=scheme_form(org, [], name="A scheme", code="A", active=""),
    )
    assert response.status_code == 302
    session.expire_all()
    assert not session.get(Scheme, scheme.id).active
    detail = session.scalar(
        sa.select(AuditEvent.detail)
        .where(AuditEvent.action == "scheme_updated")
        .order_by(AuditEvent.id.desc())
    )
    assert '"active": [true, false]' in detail


def test_an_administrator_makes_someone_a_scheme_lead(client, session):
    admin(session)
    org = make_organisation(session)
    scheme = Scheme(code="A", name="Lothian scheme", organisation=org)
    worker = make_user(session, Role.PROVIDER, email="w@t.example", organisation=org)
    session.add(scheme)
    session.commit()
    sign_in(client, "a@t.example")
    form = client.get(f"/admin/users/{worker.id}").get_data(as_text=True)
    assert "Lead of an arrest referral scheme" in form and "Lothian scheme" in form
    response = client.post(
        f"/admin/users/{worker.id}",
        data={
            "email": "w@t.example",
            "name": worker.name,
            "role": "provider",
            "organisation_id": str(org.id),
            "scheme_id": str(scheme.id),
            "active": "y",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, worker.id).scheme_id == scheme.id
    assert "Lead of Lothian scheme" in client.get("/admin/users").get_data(as_text=True)
    change = session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "user_updated")
    )
    assert '"scheme_id": ["None", "' in change
    listing = client.get("/admin/schemes/").get_data(as_text=True)
    assert '<td class="num">1</td>' in listing  # one lead
