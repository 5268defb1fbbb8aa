"""Person-level lists a page at a time (referrals, worklist, contacts, audit log), and the
number of statements the busiest pages and saves send to the database: fixed, however
many referrals there are."""

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.contacts import listing as contact_listing
from referrals.contacts.models import CustodyContact
from referrals.extensions import db
from referrals.models import AuditEvent, Referral, ReferralEvent
from referrals.notifications.models import Notification
from referrals.statement_count import counting
from referrals.tracking import worklist as worklist_module
from referrals.tracking.models import ContactAttempt

from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in
from .test_referrals import referral_form


@pytest.fixture
def staff(session):
    org = make_organisation(session, "Org X")
    data = {
        "service": make_service(session, organisation=org, name="Glasgow MAT"),
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
        "other_custody": make_user(
            session, Role.CUSTODY, email="o@t.example", custody_suite=suite(session, "EDI-SL")
        ),
        "provider": make_user(session, Role.PROVIDER, email="p@t.example", organisation=org),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    session.commit()
    return data


def referrals_made(session, staff, count, *, start=None, who="custody", **fields):
    """``count`` referrals a minute apart, oldest first; their references."""
    start = start or dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    made = []
    for n in range(count):
        referral = make_referral(session, service=staff["service"], referrer=staff[who], **fields)
        referral.made_at = start + dt.timedelta(minutes=n)
        made.append(referral.reference)
    session.commit()
    return made


def references(html: str) -> list[str]:
    return re.findall(r">(RP-[0-9A-Z]{4}-[0-9A-Z]{4})<", html)


def link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def engine(app):
    with app.app_context():
        return db.engine


# -- keyset pages ---------------------------------------------------------------------------


def test_custody_pages_through_their_suites_referrals_newest_first_keeping_filters(
    client, session, staff
):
    mine = referrals_made(session, staff, 30, status="made")
    referrals_made(session, staff, 3, who="other_custody")  # another suite's: never shown
    sign_in(client, "c@t.example")

    first = client.get("/referrals?status=made").get_data(as_text=True)
    assert references(first) == mine[::-1][:25]
    assert "30 referrals" in first and "Previous page" not in first
    older = link(first, "next")
    assert "status=made" in older and "after=" in older and "page=" not in older

    second = client.get(older).get_data(as_text=True)
    assert references(second) == mine[::-1][25:]
    assert link(second, "next") is None
    newer = link(second, "prev")
    assert "status=made" in newer and "before=" in newer

    back = client.get(newer).get_data(as_text=True)
    assert references(back) == mine[::-1][:25]
    assert link(back, "prev") is None


def test_a_page_past_the_oldest_referral_says_so_rather_than_none_yet(client, session, staff):
    made = referrals_made(session, staff, 3)
    oldest = session.scalar(sa.select(Referral.id).where(Referral.reference == made[0]))
    sign_in(client, "c@t.example")
    html = client.get(f"/referrals?after={oldest}").get_data(as_text=True)
    assert "No more referrals this way." in html and "Back to the newest" in html
    assert "No referrals yet" not in html


def test_a_page_link_to_a_referral_outside_the_users_scope_shows_nothing_of_it(
    client, session, staff
):
    referrals_made(session, staff, 3)
    theirs = referrals_made(session, staff, 2, who="other_custody")
    other = session.scalar(sa.select(Referral.id).where(Referral.reference == theirs[-1]))
    sign_in(client, "c@t.example")
    html = client.get(f"/referrals?after={other}").get_data(as_text=True)
    assert not set(references(html)) & set(theirs)


def test_a_page_link_naming_another_suites_referral_is_as_if_it_did_not_exist(
    client, session, staff
):
    """Placed by a referral the user may not see, a page would tell when it was made:
    it gives what an unknown id gives."""
    referrals_made(session, staff, 3)  # 09:00, 09:01, 09:02
    between = dt.datetime(2026, 11, 2, 9, 1, 30, tzinfo=dt.UTC)
    theirs = referrals_made(session, staff, 1, who="other_custody", start=between)
    other = session.scalar(sa.select(Referral.id).where(Referral.reference == theirs[0]))
    unknown = other + 1000
    sign_in(client, "c@t.example")
    for way in ("after", "before"):
        named = client.get(f"/referrals?{way}={other}").get_data(as_text=True)
        nobody = client.get(f"/referrals?{way}={unknown}").get_data(as_text=True)
        assert references(named) == references(nobody) == [], way


def test_a_worklist_page_named_by_another_organisations_referral_is_empty(client, session, staff):
    today = dt.date.today()
    for _n in range(3):
        make_referral(session, service=staff["service"], referrer=staff["custody"])
    elsewhere = make_service(session, organisation=make_organisation(session, "Org Y"))
    theirs = make_referral(
        session, service=elsewhere, referrer=staff["custody"], referred_on=today
    )
    session.commit()
    sign_in(client, "p@t.example")

    def section(address: str) -> list:
        page = client.get(address).get_data(as_text=True)
        part = page[page.index('id="new"') :]
        return references(part[: part.index("</section>")])

    start = section("/worklist")
    assert len(start) == 3
    # Another organisation's referral places nothing, as an unknown id: the page it
    # would start is empty, so the section is shown from its start, the same for both.
    for way in ("after", "before"):
        assert section(f"/worklist?section=new&{way}={theirs.id}") == start, way
        assert section(f"/worklist?section=new&{way}={theirs.id + 1000}") == start, way


def test_the_list_walks_the_suite_index_and_sorts_nothing(app, session, staff):
    """Custody's list (a later page) reads the (suite, made at, id) index backwards from
    where the page starts: no sort of the suite's whole history. (On PostgreSQL, with
    these few rows, the planner is told to avoid sorts and table scans where it can: a
    sort is left only if no index gives the order.)"""
    from referrals.tracking.listing import ReferralSearch, list_referrals

    referrals_made(session, staff, 3)
    pivot = session.scalar(sa.select(sa.func.max(Referral.id)))
    with counting(session.get_bind()) as seen:
        found = list_referrals(
            session, staff["custody"], ReferralSearch(after=pivot), dt.date.today()
        )
    assert len(found.referrals) == 2
    [(statement, parameters)] = [sent for sent in seen.sent if "ORDER BY" in sent[0]]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        connection.exec_driver_sql("SET LOCAL enable_sort = off")
        explain, sort = "EXPLAIN", "Sort"
    else:
        explain, sort = "EXPLAIN QUERY PLAN", "TEMP B-TREE"
    rows = connection.exec_driver_sql(f"{explain} {statement}", parameters).all()
    plan = " ".join(str(row[-1]) for row in rows)
    session.rollback()
    assert "ix_referrals_suite_made_at" in plan, plan
    assert sort not in plan, plan


def test_a_worklist_section_pages_on_from_its_last_referral(client, session, staff, monkeypatch):
    monkeypatch.setattr(worklist_module, "SHOWN", 3)
    today = dt.date.today()
    made = []
    for _n in range(7):
        referral = make_referral(
            session,
            service=staff["service"],
            referrer=staff["custody"],
            referred_on=today,
            status="accepted",
            accepted_on=today,
        )
        made.append((referral.id, referral.reference))
    session.commit()
    oldest_first = [reference for _id, reference in sorted(made)]
    sign_in(client, "p@t.example")

    def accepted_section(html):
        part = html[html.index('id="accepted"') : html.index('id="engaged"')]
        return part, references(part)

    page = client.get("/worklist").get_data(as_text=True)
    part, shown = accepted_section(page)
    assert shown == oldest_first[:3]
    assert "Showing 3 of 7, oldest first." in part
    nxt = link(part, "next")
    assert "section=accepted" in nxt and "after=" in nxt

    part, shown = accepted_section(client.get(nxt).get_data(as_text=True))
    assert shown == oldest_first[3:6]
    part3, shown3 = accepted_section(client.get(link(part, "next")).get_data(as_text=True))
    assert shown3 == oldest_first[6:] and link(part3, "next") is None
    back, shown_back = accepted_section(client.get(link(part3, "prev")).get_data(as_text=True))
    assert shown_back == oldest_first[3:6]
    assert "Back to the oldest" in back


def test_the_outcomes_to_record_page_on_from_their_last_referral(
    client, session, staff, monkeypatch
):
    monkeypatch.setattr(worklist_module, "SHOWN", 3)
    today = dt.date.today()
    made = []
    for n in range(7):
        # Treatment started 12 weeks ago or more, so the 12-week check is due; referred
        # on days out of step with the order they were made in.
        start = today - dt.timedelta(days=90 + (n * 5) % 7)
        referral = make_referral(
            session,
            service=staff["service"],
            referrer=staff["custody"],
            referred_on=start - dt.timedelta(days=10),
            status="treatment_started",
            accepted_on=start - dt.timedelta(days=9),
            engaged_on=start - dt.timedelta(days=5),
            treatment_started_on=start,
        )
        made.append((referral.referred_on, referral.id, referral.reference))
    session.commit()
    oldest_first = [reference for _on, _id, reference in sorted(made)]
    sign_in(client, "p@t.example")

    def outcomes(html):
        part = html[html.index('id="outcomes"') :]
        return part, references(part)

    part, shown = outcomes(client.get("/worklist").get_data(as_text=True))
    assert "outcomes to record (7)" in part
    assert shown == oldest_first[:3]
    assert "Showing 3 of 7, oldest first." in part
    nxt = link(part, "next")
    assert "section=outcomes" in nxt and "after=" in nxt and link(part, "prev") is None

    part, shown = outcomes(client.get(nxt).get_data(as_text=True))
    assert shown == oldest_first[3:6] and "outcomes to record (7)" in part
    part3, shown3 = outcomes(client.get(link(part, "next")).get_data(as_text=True))
    assert shown3 == oldest_first[6:] and link(part3, "next") is None
    back, shown_back = outcomes(client.get(link(part3, "prev")).get_data(as_text=True))
    assert shown_back == oldest_first[3:6]
    assert "Back to the oldest" in back
    first, shown_first = outcomes(client.get(link(back, "prev")).get_data(as_text=True))
    assert shown_first == oldest_first[:3] and link(first, "prev") is None
    # Every referral the pages showed is in the audit trail of who saw what.
    seen = set()
    for event in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "worklist_viewed")
    ):
        detail = event.detail if isinstance(event.detail, dict) else json.loads(event.detail)
        seen |= set(detail["ids"])
    assert {referral_id for _on, referral_id, _ref in made} <= seen


def test_the_audit_log_pages_by_keyset_and_keeps_its_filters(client, session, staff, monkeypatch):
    from referrals.admin import audit_log

    monkeypatch.setattr(audit_log, "PER_PAGE", 3)
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    for n in range(5):
        session.add(
            AuditEvent(at=start + dt.timedelta(minutes=n), action="test_entry", object_id=str(n))
        )
    session.add(AuditEvent(at=start, action="something_else"))
    session.commit()
    sign_in(client, "a@t.example")
    first = client.get("/admin/audit?action=test_entry").get_data(as_text=True)
    assert "5 entries" in first
    assert first.count("test_entry</td>") == 3
    older = link(first, "next")
    assert "action=test_entry" in older and "after=" in older
    second = client.get(older).get_data(as_text=True)
    assert second.count("test_entry</td>") == 2 and "something_else</td>" not in second
    assert link(second, "next") is None and "before=" in link(second, "prev")


def test_contacts_page_back_to_newer_ones(client, session, staff, monkeypatch):
    monkeypatch.setattr(contact_listing, "PER_PAGE", 2)
    custody = staff["custody"]
    for n in range(5):
        session.add(
            CustodyContact(
                custody_suite_id=custody.custody_suite_id,
                contact_on=dt.date(2026, 11, 1) + dt.timedelta(days=n),
                recorded_by_id=custody.id,
                age_band="25_34",
                sex="male",
                postcode_district="G31",
                council_area_id=council(session, "Glasgow City").id,
                offered=False,
                outcome="released_before_seen",
                naloxone="not_offered",
            )
        )
    session.commit()
    sign_in(client, "c@t.example")

    def days(html):
        return re.findall(r", contact (\d+)</span>", html)

    first = client.get("/contacts").get_data(as_text=True)
    second = client.get(link(first, "next")).get_data(as_text=True)
    third = client.get(link(second, "next")).get_data(as_text=True)
    assert link(third, "next") is None
    back = client.get(link(third, "prev")).get_data(as_text=True)
    assert len(days(first)) == len(days(second)) == 2 and len(days(third)) == 1
    assert days(back) == days(second) and days(second) != days(first)
    assert link(first, "prev") is None


# -- statements -------------------------------------------------------------------------------

SIGN_IN_CHECK = 1  # every signed-in request reads the user with their session first


def test_a_new_referral_is_saved_in_six_statements(app, client, session, staff):
    sign_in(client, "c@t.example")
    form = client.get(f"/referrals/new?service={staff['service'].id}").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', form).group(1)
    with counting(engine(app)) as seen:
        response = client.post(
            "/referrals/new", data=referral_form(staff["service"].id, form_token=token)
        )
    assert response.status_code == 302
    # The save starts at the look-up of an earlier submit or a recent duplicate.
    start = next(i for i, s in enumerate(seen.sql) if s.startswith("SELECT referrals."))
    save = seen.sql[start:]
    # The systems' webhook outbox (webhooks/events.py) needs to know whether any system
    # listens: the look-up of the chosen service, before the save, asks it too.
    assert [s for s in save if "FROM api_clients" in s] == [], str(seen)
    assert any("FROM api_clients" in s and "services.id" in s for s in seen.sql[:start]), str(seen)
    assert len(save) <= 6, str(seen)
    # The whole request also checks the sign-in and reads the form's lists (councils,
    # districts, the nation's wording) and the chosen service.
    assert seen.count <= 14, str(seen)
    # ...and every row the save always wrote is there.
    referral = session.scalar(sa.select(Referral))
    assert response.location == f"/referrals/{referral.id}/made"
    assert session.scalar(sa.select(sa.func.count()).select_from(ReferralEvent)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    contact = session.scalar(sa.select(CustodyContact))
    assert contact.referral_id == referral.id
    audit = session.execute(
        sa.select(AuditEvent.action, AuditEvent.object_id, AuditEvent.actor).order_by(
            AuditEvent.action
        )
    ).all()
    created = [(a, o, who) for a, o, who in audit if a in ("contact_recorded", "referral_created")]
    assert created == [
        ("contact_recorded", str(contact.id), "c@t.example"),
        ("referral_created", str(referral.id), "c@t.example"),
    ]
    assert referral.person_ref == "GLA/26/001234"  # still encrypted and readable


def test_a_status_change_takes_six_statements_after_the_sign_in_check(app, client, session, staff):
    [reference] = referrals_made(session, staff, 1)
    referral = session.scalar(sa.select(Referral).where(Referral.reference == reference))
    sign_in(client, "p@t.example")
    with counting(engine(app)) as seen:
        response = client.post(
            f"/referrals/{referral.id}/accept",
            data={
                "accept-on": dt.date.today().isoformat(),
                "accept-version": str(referral.version),
            },
        )
    assert response.status_code == 302
    # Load the referral; the audit row, the change, its event, the message to the
    # referrer. The webhook outbox's check for listening systems rides on the load.
    assert seen.count - SIGN_IN_CHECK <= 6, str(seen)
    assert [s for s in seen.sql if s.startswith("SELECT api_clients")] == [], str(seen)
    assert any("FROM api_clients" in s and "referrals.id" in s for s in seen.sql), str(seen)
    session.expire_all()
    assert referral.status == "accepted"
    assert [e.to_status for e in referral.events] == ["made", "accepted"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "referral_accept"))


def page_statements(app, client, url):
    with counting(engine(app)) as seen:
        assert client.get(url).status_code == 200
    return seen


def test_the_worklist_and_lists_cost_the_same_statements_with_more_referrals(
    app, client, session, staff
):
    """A provider with 2 referrals and with 40 (in every worklist section, with contact
    attempts): the same statements, and few of them."""
    today = dt.date.today()

    def add(count):
        for n in range(count):
            status = ["made", "accepted", "engaged"][n % 3]
            referral = make_referral(
                session,
                service=staff["service"],
                referrer=staff["custody"],
                referred_on=today - dt.timedelta(days=n % 20),
                status=status,
                accepted_on=None if status == "made" else today,
                engaged_on=today if status == "engaged" else None,
            )
            session.add(
                ContactAttempt(
                    referral_id=referral.id,
                    attempted_on=today,
                    method="phone",
                    outcome="no_answer",
                )
            )
        session.commit()

    add(2)
    provider, custody = app.test_client(), app.test_client()
    sign_in(provider, "p@t.example")
    sign_in(custody, "c@t.example")
    before = {
        "worklist": page_statements(app, provider, "/worklist").count,
        "provider list": page_statements(app, provider, "/referrals").count,
        "custody list": page_statements(app, custody, "/referrals").count,
    }
    add(40)
    after = {
        "worklist": page_statements(app, provider, "/worklist").count,
        "provider list": page_statements(app, provider, "/referrals").count,
        "custody list": page_statements(app, custody, "/referrals").count,
    }
    assert after == before
    assert after["worklist"] <= 8
    assert max(after["provider list"], after["custody list"]) <= 5
