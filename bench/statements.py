"""How many statements the busiest saves and person-level pages send to the database,
with few referrals and with many: a fixed number, whatever the size.

    .venv/bin/python bench/statements.py [--referrals 1000 20000] [--database-url URL]

For each size (a fresh database each, with the demo directory and that many demo
referrals), signs in through the real pages as a custody officer, a provider and an
administrator, then counts the statements (SQLAlchemy ``before_cursor_execute``; a
batch of rows inserted together is one) of: the new-referral form and its save, the
suite's referral list and its second page, the provider's worklist, a status change
(accept), one referral's page and the audit log. Every signed-in request starts with
one that checks the sign-in (the user with their session), counted in "whole request".

Targets (issue 16): a new referral saved in at most 6 statements (from the look-up of
an earlier submit or a recent duplicate to the commit; whether any system listens for
webhooks is asked by the service's look-up before it, and a separate check for listening
systems, should a flush make one, is shown apart); a status change in at most 6 after the
sign-in check; every count the same at every size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
from pathlib import Path

import pyotp
import sqlalchemy as sa
from cryptography.fernet import Fernet
from werkzeug.security import generate_password_hash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import bench_app, prepare
from referrals.choices import Role, ServiceStatus
from referrals.config import normalise_database_url
from referrals.database import reset_schema
from referrals.extensions import db
from referrals.models import Referral, Service, User
from referrals.statement_count import counting

PASSWORD = "statements-password"  # noqa: S105 - throwaway accounts in a throwaway database
SIGN_IN_CHECK = 1
SAVE_TARGET = 6
CHANGE_TARGET = 6


def accounts(app) -> tuple[dict[str, str], int]:
    """A custody officer, a provider (of the demo provider's organisation) and an admin,
    each with a sign-in app; and a service the provider runs."""
    with app.app_context():
        session = db.session
        demo = session.scalar(sa.select(User).where(User.email == "provider@demo.test"))
        custody = session.scalar(sa.select(User).where(User.email == "custody@demo.test"))
        service = session.scalar(
            sa.select(Service.id).where(
                Service.organisation_id == demo.organisation_id,
                Service.status == ServiceStatus.ACTIVE,
                Service.accepts_custody_referrals.is_(True),
            )
        )
        secrets = {}
        for role, extra in (
            (Role.CUSTODY, {"custody_suite_id": custody.custody_suite_id}),
            (Role.PROVIDER, {"organisation_id": demo.organisation_id}),
            (Role.ADMIN, {}),
        ):
            email = f"statements-{role}@bench.test"
            user = User(email=email, name=f"Statements {role}", role=role, **extra)
            user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
            user.totp_secret = secrets[role] = pyotp.random_base32()
            user.totp_enrolled_at = dt.datetime.now(dt.UTC)
            session.add(user)
        session.commit()
        db.session.remove()
    return secrets, service


def signed_in(app, role: str, secret: str):
    client = app.test_client()
    client.post("/login", data={"email": f"statements-{role}@bench.test", "password": PASSWORD})
    client.post("/login/verify", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/settings").status_code == 200, f"{role} could not sign in"
    return client


def measure(app, client, method: str, url: str, expect: int, **kwargs):
    with app.app_context():
        engine = db.engine
    with counting(engine) as seen:
        response = client.open(url, method=method, **kwargs)
    assert response.status_code == expect, f"{method} {url}: {response.status_code}"
    return seen, response


def one_size(url: str | None, referrals: int) -> dict[str, int]:
    app, folder = bench_app(url)
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    if url:
        reset_schema(normalise_database_url(url))
    prepare(app, referrals=referrals)
    secrets, service = accounts(app)
    custody = signed_in(app, Role.CUSTODY, secrets[Role.CUSTODY])
    provider = signed_in(app, Role.PROVIDER, secrets[Role.PROVIDER])
    admin = signed_in(app, Role.ADMIN, secrets[Role.ADMIN])
    counts: dict[str, int] = {}

    seen, form = measure(app, custody, "GET", f"/referrals/new?service={service}", 200)
    counts["new referral form (whole request)"] = seen.count
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', form.text).group(1)
    data = {
        "service_id": str(service),
        "form_token": token,
        "pathway": "arrest_referral",
        "person_ref": "BENCH/0001",
        "age_band": "25_34",
        "sex": "male",
        "postcode_district": "G31",
        "consent_recorded": "y",
        "consent_date": dt.date.today().isoformat(),
        "substances": ["opioids"],
        "needs": ["treatment"],
        "contact_method": "phone",
        "contact_name": "Bench Person",
        "contact_phone": "07700 900123",
    }
    seen, made = measure(app, custody, "POST", "/referrals/new", 302, data=data)
    start = next(i for i, s in enumerate(seen.sql) if s.startswith("SELECT referrals."))
    webhook = sum("FROM api_clients" in s for s in seen.sql[start:])
    counts["new referral: the save"] = seen.count - start - webhook
    counts["  + webhook outbox's check for listeners"] = webhook
    counts["new referral (whole request)"] = seen.count
    referral_id = int(re.search(r"/referrals/(\d+)/made", made.location).group(1))

    seen, listing = measure(app, custody, "GET", "/referrals", 200)
    counts["custody's referral list"] = seen.count
    older = re.search(r'href="([^"]+)" rel="next"', listing.text)
    if older:
        seen, _ = measure(app, custody, "GET", older.group(1).replace("&amp;", "&"), 200)
        counts["custody's list, next page"] = seen.count
    seen, _ = measure(app, provider, "GET", "/worklist", 200)
    counts["provider's worklist"] = seen.count
    seen, _ = measure(app, provider, "GET", f"/referrals/{referral_id}", 200)
    counts["one referral's page"] = seen.count
    with app.app_context():
        version = db.session.get(Referral, referral_id).version
        db.session.remove()
    seen, _ = measure(
        app,
        provider,
        "POST",
        f"/referrals/{referral_id}/accept",
        302,
        data={"accept-on": dt.date.today().isoformat(), "accept-version": str(version)},
    )
    counts["status change (after the sign-in check)"] = seen.count - SIGN_IN_CHECK
    counts["status change (whole request)"] = seen.count
    seen, _ = measure(app, admin, "GET", "/admin/audit", 200)
    counts["audit log"] = seen.count
    with app.app_context():
        db.engine.dispose()
    if folder:
        shutil.rmtree(folder)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrals", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--database-url", help="a throwaway database (default: SQLite files)")
    args = parser.parse_args()
    os.environ.setdefault("DATA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    sizes = {n: one_size(args.database_url, n) for n in args.referrals}
    names = list(next(iter(sizes.values())))
    print(f"\n{'statements':<44}" + "".join(f"{f'{n:,} refs':>14}" for n in sizes))
    for name in names:
        print(f"{name:<44}" + "".join(f"{sizes[n].get(name, '-'):>14}" for n in sizes))
    save = max(s["new referral: the save"] for s in sizes.values())
    change = max(s["status change (after the sign-in check)"] for s in sizes.values())
    same = all(s == sizes[args.referrals[0]] for s in sizes.values())
    print(
        f"\ntargets: a new referral saved in <= {SAVE_TARGET} ({save}); a status change in "
        f"<= {CHANGE_TARGET} after the sign-in check ({change}); the same at every size "
        f"({'yes' if same else 'NO'}): "
        + ("met" if save <= SAVE_TARGET and change <= CHANGE_TARGET and same else "MISSED")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
