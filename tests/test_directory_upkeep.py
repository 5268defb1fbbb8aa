"""Providers keep their own listings right; admins any; nobody else."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, ListingProblem, Service

from .factories import make_organisation, make_service, make_user, suite
from .test_auth import sign_in


@pytest.fixture
def orgs(session, today):
    ours, theirs = make_organisation(session, "Our Org"), make_organisation(session, "Their Org")
    old = today - dt.timedelta(days=400)
    data = {
        "ours": make_service(session, organisation=ours, name="Our Service", last_verified_on=old),
        "theirs": make_service(session, organisation=theirs, name="Their Service"),
        "provider": make_user(session, Role.PROVIDER, email="p@test.example", organisation=ours),
        "admin": make_user(session, Role.ADMIN, email="a@test.example"),
    }
    session.commit()
    return data


def edit_form(service, **changes):
    data = {
        "name": service.name,
        "types": ["ost", "naloxone"],
        "primary_type": "ost",
        "status": "active",
        "gender": "any",
        "accepts_custody_referrals": "y",
        "self_referral": "y",
        "phone": "0141 496 0222",
        "opening_hours": "Mon-Fri 09:00-17:00; Sat 10:00-13:00",
        "locations-0-address_1": "2 New Street",
        "locations-0-town": "Glasgow",
        "locations-0-postcode": "g2 1aa",
    }
    data.update(changes)
    return data


def test_provider_edits_own_service(client, session, orgs, today):
    sign_in(client, "p@test.example")
    service = orgs["ours"]
    html = client.get(f"/services/{service.id}/edit").get_data(as_text=True)
    assert 'value="Our Service"' in html
    response = client.post(
        f"/services/{service.id}/edit", data=edit_form(service, name="Our Renamed Service")
    )
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Service, service.id)
    assert saved.name == "Our Renamed Service"
    assert [t.code for t in saved.types] == ["ost", "naloxone"]
    assert len(saved.opening_hours) == 6
    assert saved.locations[0].postcode == "G2 1AA"
    assert saved.locations[0].council_area.name == "Glasgow City"
    assert saved.last_verified_on == today and saved.last_verified_by_id == orgs["provider"].id
    assert session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
        "service_updated"
    )


def test_two_people_editing_one_listing_do_not_silently_undo_each_other(
    app, client, session, orgs
):
    """The second to save is stopped, keeps what they typed, and is told; saving again
    then goes through."""
    service = orgs["ours"]
    colleague = app.test_client()
    sign_in(client, "p@test.example")
    sign_in(colleague, "p@test.example")

    def opened(who):
        html = who.get(f"/services/{service.id}/edit").get_data(as_text=True)
        return re.search(r'name="edited_from" type="hidden" value="([^"]+)"', html).group(1)

    mine, theirs = opened(client), opened(colleague)
    first = colleague.post(
        f"/services/{service.id}/edit",
        data=edit_form(service, phone="0141 496 0999", edited_from=theirs),
    )
    assert first.status_code == 302
    stopped = client.post(
        f"/services/{service.id}/edit",
        data=edit_form(service, alert="Closed on Friday", edited_from=mine),
    )
    html = stopped.get_data(as_text=True)
    assert stopped.status_code == 409
    assert "Someone else saved changes to this listing" in html
    assert 'value="Closed on Friday"' in html
    session.expire_all()
    saved = session.get(Service, service.id)
    assert saved.phone == "0141 496 0999" and saved.alert is None
    # Told, and saving again (from the page now shown) goes through.
    again = re.search(r'name="edited_from" type="hidden" value="([^"]+)"', html).group(1)
    resaved = client.post(
        f"/services/{service.id}/edit",
        data=edit_form(
            service, phone="0141 496 0999", alert="Closed on Friday", edited_from=again
        ),
    )
    assert resaved.status_code == 302
    session.expire_all()
    assert session.get(Service, service.id).alert == "Closed on Friday"


def test_a_colleagues_save_committed_while_a_save_is_on_its_way_is_not_undone(
    app, client, session, orgs, app_factory, monkeypatch
):
    """A colleague's save is committed on another server after this save has loaded the
    listing but before it checks whether the listing changed: the check sees it, so this
    save is stopped instead of writing over it."""
    from referrals.directory import upkeep
    from referrals.extensions import db

    service = orgs["ours"]
    sign_in(client, "p@test.example")
    html = client.get(f"/services/{service.id}/edit").get_data(as_text=True)
    mine = re.search(r'name="edited_from" type="hidden" value="([^"]+)"', html).group(1)
    other_server, real_load = app_factory(), upkeep.service_to_edit

    def loaded_then_colleague_saves(session_, service_id):
        found = real_load(session_, service_id)
        with other_server.app_context():
            theirs = db.session.get(Service, service_id)
            theirs.phone = "0141 496 0999"
            db.session.commit()
        return found

    monkeypatch.setattr(upkeep, "service_to_edit", loaded_then_colleague_saves)
    stopped = client.post(
        f"/services/{service.id}/edit",
        data=edit_form(service, alert="Closed on Friday", edited_from=mine),
    )
    assert stopped.status_code == 409
    assert "Someone else saved changes to this listing" in stopped.get_data(as_text=True)
    session.expire_all()
    saved = session.get(Service, service.id)
    assert saved.phone == "0141 496 0999" and saved.alert is None


def test_provider_cannot_edit_another_organisations_service(client, orgs):
    sign_in(client, "p@test.example")
    theirs = orgs["theirs"]
    assert client.get(f"/services/{theirs.id}/edit").status_code == 404
    assert client.post(f"/services/{theirs.id}/edit", data=edit_form(theirs)).status_code == 404
    assert client.post(f"/services/{theirs.id}/verify").status_code == 404


@pytest.mark.parametrize("role", [Role.CUSTODY, Role.LEAD])
def test_other_roles_cannot_edit(client, session, orgs, role):
    extra = {"custody_suite": suite(session, "GLA-LR")} if role == Role.CUSTODY else {}
    make_user(session, role, email="x@test.example", **extra)
    session.commit()
    sign_in(client, "x@test.example")
    assert client.get(f"/services/{orgs['ours'].id}/edit").status_code == 403


def test_anonymous_is_sent_to_sign_in(client, orgs):
    response = client.get(f"/services/{orgs['ours'].id}/edit")
    assert response.status_code == 302 and "/login" in response.location


def test_admin_edits_any_service(client, session, orgs):
    sign_in(client, "a@test.example")
    theirs = orgs["theirs"]
    response = client.post(
        f"/services/{theirs.id}/edit", data=edit_form(theirs, alert="Moving next week")
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Service, theirs.id).alert == "Moving next week"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter the service&#39;s name."),
        ({"types": []}, "Choose at least one type."),
        ({"opening_hours": "Mon 9-5"}, "is not a time range like 09:00-17:00"),
        ({"phone": "call us"}, "Use only digits"),
        ({"phone": "0141 49"}, "Enter a UK number of 10 or 11 digits"),
        ({"website": "javascript:alert(1)"}, "Enter a web address starting https://"),
        ({"email": "not an email"}, "Enter an email address like name@example.org."),
        (
            {"min_age": "30", "max_age": "20"},
            "The oldest age must not be lower than the youngest.",
        ),
        ({"locations-0-postcode": "nonsense"}, "Enter a full postcode, like G31 2AB."),
        ({"locations-0-postcode": "ZZ1 1ZZ"}, "We cannot place this postcode on the map."),
        ({"locations-0-latitude": "55.9"}, "Give both latitude and longitude, or neither."),
    ],
)
def test_bad_edits_save_nothing_and_say_why(client, session, orgs, changes, message):
    sign_in(client, "p@test.example")
    service = orgs["ours"]
    before = (service.name, service.phone, service.website, service.last_verified_on)
    response = client.post(
        f"/services/{service.id}/edit", data=edit_form(service, **{"name": "Changed", **changes})
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert "nothing has been saved yet" in html
    # What was typed stays in the form.
    if "name" not in changes:
        assert 'value="Changed"' in html
    session.expire_all()
    saved = session.get(Service, service.id)
    assert (saved.name, saved.phone, saved.website, saved.last_verified_on) == before


def test_unknown_postcode_with_coordinates_is_accepted(client, session, orgs):
    sign_in(client, "p@test.example")
    service = orgs["ours"]
    response = client.post(
        f"/services/{service.id}/edit",
        data=edit_form(
            service,
            **{
                "locations-0-postcode": "ZZ1 1ZZ",
                "locations-0-latitude": "55.95",
                "locations-0-longitude": "-3.19",
            },
        ),
    )
    assert response.status_code == 302
    session.expire_all()
    location = session.get(Service, service.id).locations[0]
    assert (location.latitude, location.longitude) == (55.95, -3.19)
    assert location.council_area.name == "City of Edinburgh"


def test_confirm_still_accurate_and_the_stale_queue(client, session, orgs, today):
    sign_in(client, "p@test.example")
    html = client.get("/listings").get_data(as_text=True)
    assert "Listings to check (1)" in html and "Our Service" in html
    assert "Their Service" not in html
    response = client.post(f"/services/{orgs['ours'].id}/verify", data={"next": "listings"})
    assert response.status_code == 302 and response.location.endswith("/listings")
    session.expire_all()
    service = session.get(Service, orgs["ours"].id)
    assert service.last_verified_on == today
    assert service.last_verified_by_id == orgs["provider"].id
    assert "Listings to check (0)" in client.get("/listings").get_data(as_text=True)


def test_problem_reports_queue_and_resolution_records_who_and_when(client, session, orgs):
    session.add_all(
        [
            ListingProblem(service=orgs["ours"], category="wrong_phone", description="Ours wrong"),
            ListingProblem(service=orgs["theirs"], category="closed", description="Theirs wrong"),
        ]
    )
    session.commit()
    ours, theirs = session.scalars(sa.select(ListingProblem).order_by(ListingProblem.id)).all()
    sign_in(client, "p@test.example")
    html = client.get("/listings").get_data(as_text=True)
    assert "Ours wrong" in html and "Theirs wrong" not in html
    assert (
        client.post(f"/problems/{theirs.id}/resolve", data={"resolution_note": "x"}).status_code
        == 404
    )
    client.post(f"/problems/{ours.id}/resolve", data={"resolution_note": ""})
    session.expire_all()
    assert session.get(ListingProblem, ours.id).resolved_at is None
    client.post(f"/problems/{ours.id}/resolve", data={"resolution_note": "Phone corrected"})
    session.expire_all()
    resolved = session.get(ListingProblem, ours.id)
    assert resolved.resolved_by_id == orgs["provider"].id
    assert resolved.resolution_note == "Phone corrected"
    assert (dt.datetime.now(dt.UTC) - resolved.resolved_at).total_seconds() < 60
    assert "Ours wrong" not in client.get("/listings").get_data(as_text=True)
    # Admins see every organisation's open reports.
    client.post("/logout")
    sign_in(client, "a@test.example")
    assert "Theirs wrong" in client.get("/listings").get_data(as_text=True)


def test_provider_adds_a_service_to_their_organisation(client, session, orgs):
    sign_in(client, "p@test.example")
    assert client.get("/services/new").status_code == 200
    response = client.post("/services/new", data=edit_form(orgs["ours"], name="Brand New"))
    assert response.status_code == 302
    created = session.scalar(sa.select(Service).where(Service.name == "Brand New"))
    assert created.organisation.name == "Our Org"


def _edit_page_as_sent(client, service) -> dict:
    """The edit form of ``service`` as the browser sends it unchanged."""
    from html import unescape

    from .conftest import form_as_shown

    url = f"/services/{service.id}/edit"
    page = client.get(url).get_data(as_text=True)
    form = page[page.rindex("<form", 0, page.index('name="locations-0-postcode"')) :]
    data = form_as_shown(form.replace("<form ", f'<form action="{url}" ', 1), url)
    textareas = r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>'
    for name, text in re.findall(textareas, form, re.S):
        data[name] = [unescape(text.strip())]
    return data


@pytest.mark.parametrize("by_hand", [False, True], ids=["position as filled in", "typed"])
def test_a_new_postcode_moves_the_listing_unless_its_position_is_typed_too(
    client, session, by_hand
):
    """A provider changes only the postcode of the address (the form carries the old
    position): the pin, the distances and the council follow the new postcode. A
    position typed with it is kept."""
    org = make_organisation(session, "Our Org")
    service = make_service(
        session, organisation=org, name="Moving", lat=55.8642, lon=-4.2518, postcode="G1 1AA"
    )
    make_user(session, Role.PROVIDER, email="p@test.example", organisation=org)
    session.commit()
    sign_in(client, "p@test.example")
    data = _edit_page_as_sent(client, service)
    assert data["locations-0-latitude"] == ["55.8642"]
    data |= {"locations-0-postcode": ["EH1 1YZ"], "locations-0-town": ["Edinburgh"]}
    if by_hand:
        data |= {"locations-0-latitude": ["55.9"], "locations-0-longitude": ["-3.2"]}
    assert client.post(f"/services/{service.id}/edit", data=data).status_code == 302
    session.expire_all()
    [location] = session.get(Service, service.id).locations
    if by_hand:
        assert (location.latitude, location.longitude) == (55.9, -3.2)
    else:
        assert abs(location.latitude - 55.95) < 0.05 and abs(location.longitude + 3.19) < 0.05
    assert location.postcode == "EH1 1YZ" and location.council_area.name == "City of Edinburgh"
