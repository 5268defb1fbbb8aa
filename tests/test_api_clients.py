"""Registering systems for the referral API: tokens shown once and stored hashed,
rotated and revoked, scoped like the role and audited."""

import hashlib
import re

import sqlalchemy as sa

from referrals.api.models import ApiClient
from referrals.choices import Role
from referrals.models import AuditEvent, User

from .conftest import form_as_shown
from .factories import bearer, make_api_client, make_organisation, make_user, suite
from .test_auth import sign_in


def admin_client(client, session):
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    return admin


def token_on(page: str) -> str:
    match = re.search(r'<textarea id="token"[^>]*>(rpk_[^<]+)</textarea>', page)
    assert match, "no token on the page"
    return match.group(1)


def test_admin_registers_a_custody_system_and_sees_its_token_once(client, session):
    admin_client(client, session)
    glasgow, paisley = suite(session, "GLA-LR"), suite(session, "PAI")
    page = client.get("/admin/api-clients/new")
    assert page.status_code == 200 and "Register a system" in page.get_data(as_text=True)
    response = client.post(
        "/admin/api-clients/new",
        data={
            "name": "Custody system, West",
            "contact_email": "Supplier@Example.org",
            "role": "custody",
            "suite_ids": [str(glasgow.id), str(paisley.id)],
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Copy the token now: it is shown only this once" in html
    assert response.headers["Cache-Control"] == "no-store"
    token = token_on(html)
    stored = session.scalar(sa.select(ApiClient))
    # Only the prefix and a hash are kept: the token itself is nowhere in the database.
    assert token.startswith(f"rpk_{stored.token_prefix}_")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(session.execute(sa.text("SELECT * FROM api_clients")).all())
    assert sorted(s.code for s in stored.suites) == ["GLA-LR", "PAI"]
    assert stored.contact_email == "Supplier@example.org"
    # The token works, and the detail page never shows it again.
    assert client.get("/api/v1/referrals", headers=bearer(token)).status_code == 200
    detail = client.get(f"/admin/api-clients/{stored.id}").get_data(as_text=True)
    assert token not in detail and f"{stored.token_prefix}_…" in detail
    listing = client.get("/admin/api-clients").get_data(as_text=True)
    assert "Custody system, West" in listing and "London Road Police Office custody" in listing


def test_registering_needs_a_name_and_a_scope(client, session):
    admin_client(client, session)
    org = make_organisation(session, "Recovery Trust")
    session.commit()
    response = client.post("/admin/api-clients/new", data={"name": "", "role": "custody"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter the name of the system" in html
    response = client.post(
        "/admin/api-clients/new", data={"name": "Case system", "role": "custody"}
    )
    assert "Choose the custody suites this system records referrals for." in response.get_data(
        as_text=True
    )
    response = client.post(
        "/admin/api-clients/new", data={"name": "Case system", "role": "provider"}
    )
    assert "Choose the organisation whose case system this is." in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiClient)) == 0
    response = client.post(
        "/admin/api-clients/new",
        data={"name": "Case system", "role": "provider", "organisation_id": str(org.id)},
    )
    assert response.status_code == 200
    again = client.post(
        "/admin/api-clients/new",
        data={"name": "case SYSTEM", "role": "provider", "organisation_id": str(org.id)},
    )
    assert "Another system already has this name" in again.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiClient)) == 1


def test_rotating_a_token_stops_the_old_one_at_once(client, session):
    admin_client(client, session)
    api_client, old = make_api_client(session, Role.CUSTODY, suites=[suite(session, "GLA-LR")])
    session.commit()
    response = client.post(f"/admin/api-clients/{api_client.id}/rotate")
    html = response.get_data(as_text=True)
    assert "The old token has stopped working" in html
    new = token_on(html)
    assert new != old
    assert client.get("/api/v1/referrals", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/referrals", headers=bearer(new)).status_code == 200


def test_revoking_stops_the_system_and_needs_confirming(client, session):
    admin_client(client, session)
    api_client, token = make_api_client(session, Role.CUSTODY, suites=[suite(session, "GLA-LR")])
    session.commit()
    unconfirmed = client.post(f"/admin/api-clients/{api_client.id}/revoke", follow_redirects=True)
    assert "was not revoked: tick the box" in unconfirmed.get_data(as_text=True)
    assert client.get("/api/v1/referrals", headers=bearer(token)).status_code == 200
    revoked = client.post(
        f"/admin/api-clients/{api_client.id}/revoke", data={"confirm": "y"}, follow_redirects=True
    )
    assert "is revoked: its token no longer works" in revoked.get_data(as_text=True)
    response = client.get("/api/v1/referrals", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["detail"].startswith("That token was revoked")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="referrals"'
    rotate = client.post(f"/admin/api-clients/{api_client.id}/rotate", follow_redirects=True)
    assert "A revoked system cannot be given a new token" in rotate.get_data(as_text=True)
    assert client.get("/api/v1/referrals", headers=bearer(token)).status_code == 401


def test_only_administrators_manage_systems(client, session):
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    session.commit()
    assert client.get("/admin/api-clients").status_code == 302  # sign in first
    sign_in(client, custody.email)
    assert client.get("/admin/api-clients").status_code == 403
    assert client.post("/admin/api-clients/new", data={"name": "x"}).status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiClient)) == 0


def test_a_systems_account_is_not_on_the_users_page_and_cannot_sign_in(client, session):
    admin = admin_client(client, session)
    api_client, _token = make_api_client(
        session, Role.PROVIDER, organisation=make_organisation(session), name="Case system"
    )
    session.commit()
    users = client.get("/admin/users").get_data(as_text=True)
    assert admin.email in users and "Case system" not in users
    assert client.get(f"/admin/users/{api_client.user_id}").status_code == 404
    account = session.get(User, api_client.user_id)
    client.post("/logout")
    for password in ("anything at all", "!"):
        assert sign_in(client, account.email, password=password).status_code == 401
    assert client.get("/referrals").status_code == 302  # still not signed in


def test_changes_to_systems_and_refused_tokens_are_audited(client, session):
    admin = admin_client(client, session)
    glasgow = suite(session, "GLA-LR")
    response = client.post(
        "/admin/api-clients/new",
        data={"name": "Custody system", "role": "custody", "suite_ids": [str(glasgow.id)]},
    )
    token = token_on(response.get_data(as_text=True))
    api_client = session.scalar(sa.select(ApiClient))
    client.post(
        f"/admin/api-clients/{api_client.id}",
        data={"name": "Custody system, Glasgow", "suite_ids": [str(glasgow.id)]},
    )
    client.post(f"/admin/api-clients/{api_client.id}/rotate")
    client.post(f"/admin/api-clients/{api_client.id}/revoke", data={"confirm": "y"})
    client.get("/api/v1/referrals", headers=bearer(token))
    rows = session.execute(
        sa.select(AuditEvent.action, AuditEvent.user_id, AuditEvent.detail).order_by(AuditEvent.id)
    ).all()
    actions = [a for a, _u, _d in rows]
    assert actions[-5:] == [
        "api_client_created",
        "api_client_updated",
        "api_client_token_rotated",
        "api_client_revoked",
        "api_token_refused",
    ]
    assert all(u == admin.id for a, u, _d in rows if a.startswith("api_client_"))
    assert '"reason": "unknown"' in rows[-1][2]
    assert token not in " ".join(d or "" for _a, _u, d in rows)


def test_create_api_client_command_prints_the_token_once(runner, session):
    result = runner.invoke(
        args=[
            "create-api-client",
            "--name",
            "Custody system, North",
            "--role",
            "custody",
            "--custody-suite",
            "abd-kb",
            "--custody-suite",
            "ELG",
        ]
    )
    assert result.exit_code == 0, result.output
    token = re.search(r"^(rpk_\S+)$", result.output, re.M).group(1)
    stored = session.scalar(sa.select(ApiClient))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert sorted(s.code for s in stored.suites) == ["ABD-KB", "ELG"]
    bad = runner.invoke(
        args=["create-api-client", "--name", "X", "--role", "custody", "--custody-suite", "NOPE"]
    )
    assert bad.exit_code != 0 and "no custody suite with the code NOPE" in bad.output
    org_missing = runner.invoke(args=["create-api-client", "--name", "Y", "--role", "provider"])
    assert org_missing.exit_code != 0
    assert "Choose the organisation whose case system this is." in org_missing.output
    # A suite or an organisation given to a system of another kind is refused, not ignored.
    for args in (
        ["--role", "reports", "--custody-suite", "ELG"],
        ["--role", "custody", "--custody-suite", "ELG", "--organisation", "1"],
    ):
        refused = runner.invoke(args=["create-api-client", "--name", "Z", *args])
        assert refused.exit_code != 0 and "only a" in refused.output
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api_client_created"))
    assert audit.actor == "command line"


def test_a_form_opened_before_another_administrators_change_does_not_undo_it(app, client, session):
    """B takes a custody suite away from a system; A, from the page opened before,
    corrects its contact address: A's save is refused and the suite stays taken away."""
    make_user(session, Role.ADMIN, email="a@t.example")
    west, east = suite(session, "GLA-LR"), suite(session, "ABD-KB")
    system, _ = make_api_client(session, Role.CUSTODY, suites=[west, east], name="Custody West")
    session.commit()
    url = f"/admin/api-clients/{system.id}"
    sign_in(client, "a@t.example")
    opened_by_a = form_as_shown(client.get(url).text, url)
    other = app.test_client()
    sign_in(other, "a@t.example")
    by_b = form_as_shown(other.get(url).text, url) | {"suite_ids": [str(west.id)]}
    assert other.post(url, data=by_b).status_code == 302

    answer = client.post(url, data=opened_by_a | {"contact_email": ["ops@example.org"]})
    assert answer.status_code == 409
    assert "Someone else changed this while you had it open" in answer.text
    session.expire_all()
    saved = session.get(ApiClient, system.id)
    assert [s.code for s in saved.suites] == [
        "GLA-LR"
    ] and saved.contact_email != "ops@example.org"


def test_a_change_saved_while_a_save_is_on_its_way_is_seen_through_the_systems_account(
    client, session
):
    """B moves a provider system to another organisation just after A's save has read
    the system (and its account): A's save compares what the form showed with the
    system as it is once held, its organisation (kept on its account) too, and is
    refused rather than moving it back unseen."""
    make_user(session, Role.ADMIN, email="a@t.example")
    harbour, hillside = make_organisation(session, "Harbour"), make_organisation(session, "Hill")
    system, _ = make_api_client(session, Role.PROVIDER, organisation=harbour, name="Case system")
    session.commit()
    url = f"/admin/api-clients/{system.id}"
    sign_in(client, "a@t.example")
    opened_by_a = form_as_shown(client.get(url).text, url)
    account_id, saved_by_b = system.user_id, []

    def b_saves_meanwhile(target, _context):
        if target.id == account_id and not saved_by_b:  # A's request has just read it
            saved_by_b.append(True)
            with session.get_bind().begin() as connection:
                connection.execute(
                    sa.update(User)
                    .where(User.id == account_id)
                    .values(organisation_id=hillside.id)
                )

    sa.event.listen(User, "load", b_saves_meanwhile)
    try:
        answer = client.post(url, data=opened_by_a | {"contact_email": ["ops@example.org"]})
    finally:
        sa.event.remove(User, "load", b_saves_meanwhile)
    assert saved_by_b
    assert answer.status_code == 409
    assert "Someone else changed this while you had it open" in answer.text
    session.expire_all()
    assert session.get(User, account_id).organisation_id == hillside.id


def test_an_administrator_widening_a_systems_scope_is_told_it_must_read_again(client, session):
    """A suite added to a custody system: the referrals of that suite changed before the
    system's last read, so its list of changes never gives them; the administrator is
    told to have the system read again from the start. Taking a suite away says nothing
    of the kind."""
    make_user(session, Role.ADMIN, email="a@t.example")
    west, east = suite(session, "GLA-LR"), suite(session, "ABD-KB")
    system, _ = make_api_client(session, Role.CUSTODY, suites=[west], name="Custody West")
    session.commit()
    url = f"/admin/api-clients/{system.id}"
    sign_in(client, "a@t.example")
    shown = form_as_shown(client.get(url).text, url)
    widened = client.post(url, data=shown | {"suite_ids": [str(west.id), str(east.id)]})
    page = client.get(widened.location).text
    assert "Saved Custody West." in page
    assert "read its referrals again from the start, without changed_since" in page
    shown = form_as_shown(page, url)
    narrowed = client.post(url, data=shown | {"suite_ids": [str(east.id)]})
    page = client.get(narrowed.location).text
    assert "Saved Custody West." in page and "from the start" not in page
