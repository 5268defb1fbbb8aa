"""Load test: the app under gunicorn on loopback, with simulated users going through the
mixed journey for a fixed time, then a check that the database holds exactly what they
created.

    .venv/bin/python bench/load.py --database-url postgresql://USER@HOST/DB
                                   [--users 50] [--duration 60] [--referrals 5000]

Each simulated user, with a pause of 0.5 to 2.5 seconds between steps ("think time"):
searches for services near a postcode district, opens the services map, signs in as a
custody officer (afresh every time, as on a shared custody PC) and makes a referral, as a
provider accepts that referral from the worklist and records the first attendance, as an
area lead opens the area table; and starts again. The provider and the lead sign in on
their first journey and stay signed in (--sign-in-every-time makes them sign in on every
journey too). Custody officers and providers sign in with a code from their sign-in app
too (computed from the account's TOTP secret); a code works once, so an officer who
signs in again within the same 30 seconds waits for the next code, outside the timings.
Sign-in and every form go through the real pages with their CSRF tokens.
Users start no new journey once the time is up, so the run ends a little later.

The database named by --database-url is emptied and rebuilt (reference and demo data)
before the run; without it a throwaway SQLite file is used. All simulated users come
from one address, so the per-address rate limits are switched off for the run
(RATELIMIT_ENABLED=false); they are exercised by the tests instead.

Target on a 2-core machine with PostgreSQL: no errors and p95 under 300 ms for every step;
afterwards the referrals and events in the database are exactly those the run created.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import pyotp
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._setup import bench_app, prepare  # noqa: E402
from referrals.choices import Role, ServiceStatus  # noqa: E402
from referrals.config import normalise_database_url  # noqa: E402
from referrals.database import reset_schema  # noqa: E402
from referrals.extensions import db  # noqa: E402
from referrals.models import (  # noqa: E402
    CustodySuite,
    Referral,
    ReferralEvent,
    Service,
    User,
)

PASSWORD = "load-test-password"  # noqa: S105 - throwaway accounts in a throwaway database
ROLES = {"custody": "custody", "provider": "providers", "lead": "leads"}
STEPS = ["search", "map", "sign in", "new referral", "worklist updates", "area report"]
DISTRICTS = ["G31", "G40", "G34", "EH1", "EH7", "AB10", "DD1", "KY1", "PA1", "FK1", "IV1"]
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>', re.I)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


# -- the server -------------------------------------------------------------------------


@dataclass
class Accounts:
    secrets: dict[str, str]  # email -> TOTP secret, for the roles that need a code
    custody: list[str]
    providers: list[str]
    leads: list[str]
    services: list[int]


def make_accounts(app, users: int) -> Accounts:
    """One custody officer, one provider and one area lead per simulated user. The
    providers work for the organisation running the services the referrals go to."""
    with app.app_context():
        session = db.session
        provider = session.scalar(sa.select(User).where(User.email == "provider@demo.test"))
        lead = session.scalar(sa.select(User).where(User.email == "lead@demo.test"))
        suite = session.scalar(sa.select(CustodySuite).order_by(CustodySuite.id))
        services = list(
            session.scalars(
                sa.select(Service.id).where(
                    Service.organisation_id == provider.organisation_id,
                    Service.status == ServiceStatus.ACTIVE,
                    Service.accepts_custody_referrals.is_(True),
                )
            )
        )
        hashed = generate_password_hash(PASSWORD)  # the app's own scheme (scrypt)
        accounts = Accounts({}, [], [], [], services)
        for n in range(users):
            for role, kind, extra in (
                (Role.CUSTODY, accounts.custody, {"custody_suite_id": suite.id}),
                (Role.PROVIDER, accounts.providers, {"organisation_id": provider.organisation_id}),
                (Role.LEAD, accounts.leads, {}),
            ):
                email = f"load-{role}-{n}@bench.test"
                user = User(email=email, name=f"Load {role} {n}", role=role, **extra)
                user.password_hash = hashed
                if role in (Role.CUSTODY, Role.PROVIDER):
                    user.totp_secret = accounts.secrets[email] = pyotp.random_base32()
                    user.totp_enrolled_at = dt.datetime.now(dt.UTC)
                if role == Role.LEAD:
                    user.areas = list(lead.areas)
                session.add(user)
                kind.append(email)
        session.commit()
    return accounts


def counts(app) -> tuple[int, int]:
    with app.app_context():
        referrals = db.session.scalar(sa.select(sa.func.count()).select_from(Referral))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(ReferralEvent))
        db.session.remove()
    return referrals, events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, workers: int | None, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY="load-test-secret-key",  # noqa: S106 - a throwaway server
        DATA_ENCRYPTION_KEYS=os.environ["DATA_ENCRYPTION_KEYS"],
        BIND=f"127.0.0.1:{port}",
        RATELIMIT_ENABLED="false",
        MAP_TILES_URL="",
        GEOCODER="",
    )
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn and settings
        [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn did not start:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"gunicorn did not answer in 60 s:\n{log.read_text()}")


# -- the simulated users -----------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    made: set[int] = field(default_factory=set)
    accepted: int = 0
    attended: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, step: str, seconds: float) -> None:
        with self.lock:
            self.latencies[step].append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Failed(Exception):
    pass


def hidden_fields(html: str, action: str | None = None) -> dict[str, str]:
    """Hidden inputs (CSRF token, version) of the form posting to ``action``, or of the
    page's first form."""
    if action:
        start = html.find(f'action="{action}"')
        if start < 0:
            raise Failed(f"no form for {action}")
        html = html[start : html.find("</form>", start)]
    fields = {}
    for tag in HIDDEN.findall(html):
        attrs = dict(ATTR.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    return fields


class User_:
    """One simulated person at work: a browser for looking things up, and one signed-in
    browser each as custody officer, provider and area lead."""

    def __init__(
        self,
        n: int,
        base: str,
        accounts: Accounts,
        results: Results,
        seed: int,
        sign_in_every_time: bool,
    ):
        self.n = n
        self.base = base
        self.accounts = accounts
        self.results = results
        self.random = random.Random(seed * 1000 + n)
        self.sign_in_every_time = sign_in_every_time
        self.browsers = {role: requests.Session() for role in ("public", *ROLES)}
        self.http = self.browsers["public"]
        self.signed_in: set[str] = set()
        self.last_step: dict[str, int] = {}

    def as_(self, role: str) -> None:
        """Switch to that role's browser, signing in when needed: the custody officer
        signs in afresh for every referral (a shared custody PC); the provider and the area
        lead stay signed in, unless every role is to sign in every time."""
        self.http = self.browsers[role]
        if role == "custody" or self.sign_in_every_time or role not in self.signed_in:
            self.sign_in(getattr(self.accounts, ROLES[role])[self.n])
            self.signed_in.add(role)

    def request(self, step: str, method: str, path: str, expect: int, **kwargs):
        started = time.perf_counter()
        response = self.http.request(
            method, self.base + path, allow_redirects=False, timeout=30, **kwargs
        )
        self.results.record(step, time.perf_counter() - started)
        if response.status_code != expect:
            raise Failed(f"{step}: {method} {path} answered {response.status_code}")
        return response

    def think(self) -> None:
        time.sleep(self.random.uniform(0.5, 2.5))

    def sign_in(self, email: str) -> None:
        self.http.cookies.clear()
        form = self.request("sign in", "GET", "/login", 200)
        data = hidden_fields(form.text) | {"email": email, "password": PASSWORD}
        answer = self.request("sign in", "POST", "/login", 302, data=data)
        if "/login/verify" not in answer.headers["Location"]:
            return
        page = self.request("sign in", "GET", "/login/verify", 200)
        data = hidden_fields(page.text) | {"code": self.code(email)}
        self.request("sign in", "POST", "/login/verify", 302, data=data)

    def code(self, email: str) -> str:
        """A code the app has not accepted yet for ``email``: waits (untimed) when this
        30-second step's and the next one's are both used."""
        step = max(int(time.time()) // 30 - 1, self.last_step.get(email, 0) + 1)
        while step > int(time.time()) // 30 + 1:
            time.sleep(1)
        self.last_step[email] = step
        return pyotp.TOTP(self.accounts.secrets[email]).at(step * 30)

    def journey(self) -> None:
        district = self.random.choice(DISTRICTS)
        self.http = self.browsers["public"]
        self.request("search", "GET", "/services", 200, params={"q": district})
        self.think()
        self.request("map", "GET", "/map", 200, params={"q": district})
        self.request("map", "GET", "/map/frame", 200, params={"q": district})
        self.think()

        self.as_("custody")
        self.think()
        service = self.random.choice(self.accounts.services)
        form = self.request("new referral", "GET", f"/referrals/new?service={service}", 200)
        today = dt.date.today().isoformat()
        data = hidden_fields(form.text, "/referrals/new") | {
            "service_id": str(service),
            "pathway": "arrest_referral",
            "person_ref": f"LOAD/{self.n}/{self.random.randrange(10**6):06d}",
            "age_band": self.random.choice(["18_24", "25_34", "35_44", "45_54"]),
            "sex": self.random.choice(["male", "female"]),
            "postcode_district": district,
            "consent_recorded": "y",
            "consent_date": today,
            "substances": ["opioids"],
            "needs": ["treatment"],
            "contact_method": "phone",
            "contact_name": "Load Test",
            "contact_phone": "07700 900123",
        }
        made = self.request("new referral", "POST", "/referrals/new", 302, data=data)
        match = re.search(r"/referrals/(\d+)/made", made.headers["Location"])
        if not match:
            raise Failed(f"new referral: unexpected redirect {made.headers['Location']}")
        referral_id = int(match.group(1))
        with self.results.lock:
            self.results.made.add(referral_id)
        self.think()

        self.as_("provider")
        worklist = self.request("worklist updates", "GET", "/worklist", 200)
        action = f"/referrals/{referral_id}/accept"
        try:
            fields = hidden_fields(worklist.text, action)
        except Failed:  # not among the worklist's first entries: from its own page
            page = self.request("worklist updates", "GET", f"/referrals/{referral_id}", 200)
            fields = hidden_fields(page.text, action)
        fields.setdefault("accept-on", today)
        self.request("worklist updates", "POST", action, 302, data=fields)
        with self.results.lock:
            self.results.accepted += 1
        self.think()
        page = self.request("worklist updates", "GET", f"/referrals/{referral_id}", 200)
        action = f"/referrals/{referral_id}/attend"
        fields = hidden_fields(page.text, action) | {"attend-on": today}
        self.request("worklist updates", "POST", action, 302, data=fields)
        with self.results.lock:
            self.results.attended += 1
        self.think()

        self.as_("lead")
        self.request("area report", "GET", "/reports/areas", 200)
        self.think()

    def run(self, until: float) -> None:
        time.sleep(self.random.uniform(0, 2))  # users arrive over the first seconds
        while time.perf_counter() < until:
            try:
                self.journey()
            except (Failed, requests.RequestException) as exc:
                self.results.error(f"user {self.n}: {exc}")
                time.sleep(1)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="database to rebuild and use (default: SQLite)")
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--duration", type=int, default=60, help="seconds (default 60)")
    parser.add_argument("--referrals", type=int, default=5000, help="demo referrals first")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: from CPUs)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sign-in-every-time",
        action="store_true",
        help="provider and area lead sign in again on every journey too (three sign-ins "
        "per journey instead of one)",
    )
    args = parser.parse_args()

    # One key for this run, shared by the set-up and the server.
    os.environ.setdefault("DATA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    folder = Path(tempfile.mkdtemp(prefix="referrals-load-"))
    url = normalise_database_url(args.database_url or f"sqlite:///{folder / 'load.sqlite'}")
    print(f"Database: {sa.engine.make_url(url).render_as_string(hide_password=True)}")
    reset_schema(url)
    app, _ = bench_app(url)
    started = time.perf_counter()
    prepare(app, referrals=args.referrals, seed=args.seed)
    accounts = make_accounts(app, args.users)
    before = counts(app)
    print(
        f"Prepared demo data with {before[0]:,} referrals and {args.users * 3} accounts "
        f"in {time.perf_counter() - started:.0f} s"
    )

    process, base = start_gunicorn(url, args.workers, folder / "gunicorn.log")
    workers = args.workers or (os.cpu_count() or 1) + 1  # as gunicorn.conf.py
    print(
        f"gunicorn with {workers} workers at {base}; {args.users} users for "
        f"{args.duration} s (rate limits off: every user comes from one address); "
        + (
            "every role signs in on every journey"
            if args.sign_in_every_time
            else "custody signs in for every referral, provider and lead stay signed in"
        )
    )
    results = Results()
    try:
        until = time.perf_counter() + args.duration
        users = [
            User_(n, base, accounts, results, args.seed, args.sign_in_every_time)
            for n in range(args.users)
        ]
        threads = [threading.Thread(target=u.run, args=(until,)) for u in users]
        run_started = time.perf_counter()
        cpu_started = resource.getrusage(resource.RUSAGE_SELF)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - run_started
    finally:
        process.terminate()
        process.wait(timeout=30)

    total = sum(len(v) for v in results.latencies.values())
    print(f"\n{total:,} requests in {elapsed:.1f} s: {total / elapsed:.1f} requests per second")
    print(f"{'step':<18}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    worst_p95 = 0.0
    for step in STEPS:
        values = results.latencies.get(step, [])
        if not values:
            print(f"{step:<18}{0:>9}")
            continue
        p50, p95, p99 = (1000 * percentile(values, p) for p in (50, 95, 99))
        worst_p95 = max(worst_p95, p95)
        worst = 1000 * max(values)
        print(f"{step:<18}{len(values):>9}{p50:>9.0f}{p95:>9.0f}{p99:>9.0f}{worst:>9.0f}")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    generator_cpu = (cpu.ru_utime + cpu.ru_stime) - (cpu_started.ru_utime + cpu_started.ru_stime)
    print(
        f"errors: {len(results.errors)}  (the load generator itself used "
        f"{generator_cpu:.0f} CPU seconds of this machine during the run)"
    )
    for message in results.errors[:20]:
        print(f"  {message}")

    after = counts(app)
    expected_events = len(results.made) + results.accepted + results.attended
    created = (after[0] - before[0], after[1] - before[1])
    print(
        f"referrals created: {len(results.made)} answered, {created[0]} in the database; "
        f"events: {expected_events} expected, {created[1]} in the database"
    )
    with app.app_context():
        in_db = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Referral)
            .where(Referral.id.in_(results.made or {0}))
        )
        db.engine.dispose()
    consistent = created == (len(results.made), expected_events) and in_db == len(results.made)
    print("database check: " + ("exactly what the run created" if consistent else "MISMATCH"))
    target_met = not results.errors and worst_p95 < 300 and consistent
    verdict = "met" if target_met else "MISSED"
    print(f"target (no errors, every p95 under 300 ms, database exact): {verdict}")
    if not args.database_url:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if consistent and not results.errors else 1


if __name__ == "__main__":
    sys.exit(main())
