"""Load test as a national service would see it: the app under gunicorn on loopback with
PostgreSQL, 1,000,000 referrals (the reports read the day's published snapshot), a
directory of 10,000 services, and simulated staff working through their day for a fixed
time; beside it, in the same gunicorn workers and the same run, a bare Flask endpoint as
the floor. Afterwards, a check that the database holds exactly what the users created.

    .venv/bin/python bench/load.py --database-url postgresql://USER@HOST/DB
        [--users 50] [--duration 60] [--referrals 1000000] [--services 10000]
        [--bare-duration 15] [--workers N] [--timeout 120] [--sign-in-every-time]

Each simulated user is one person on shift with three signed-in browsers (custody
officer, provider, area lead) and one for looking things up. Each role signs in once,
at the start of the shift, with the real pages, CSRF tokens and the code its sign-in app
shows at that moment (computed from the account's TOTP secret; should it run out while
the request queues, the user types the next one, counted as "codes typed again"), and
keeps its session. Then, with a pause
of 0.5 to 2.5 seconds between steps ("think time"), again and again: searches for
services near a postcode district, opens the services map, makes a referral as the
custody officer and opens the suite's referral list, accepts that referral from the
worklist as the provider and records the first attendance, and opens the area table as
the area lead. Users start no new journey once the time is up, so the run ends a little
later. ``--sign-in-every-time`` makes the custody officer sign in afresh for every
referral, as on a shared custody PC without personal sessions.

First, the floor: the same number of users ask for ``/_bare`` (see ``load_wsgi.py``)
without pausing, for --bare-duration seconds. Each journey also asks for it once, after
the area report: the same endpoint under the journey's conditions (the database, the
other workers and the load generator busy on the same cores), printed as "bare, in
journey" to show how far the floor itself moves under load; the targets are judged
against the floor measured alone, the lower of the two. For every step the table prints its
requests, p50/p95/p99/max latency, and the CPU the gunicorn worker spent per request
(reported by the worker with each response) as a multiple of the bare endpoint's; the
totals are cross-checked against the workers' CPU in /proc/<pid>/stat.

The database named by --database-url is emptied and rebuilt before the run (reference
data, the demo directory grown to --services, --referrals demo referrals with their
contacts, today's report snapshot, then VACUUM ANALYZE); without it a throwaway SQLite
file is used. All simulated users come from one address, so the per-address rate limits
are switched off for the run (RATELIMIT_ENABLED=false); the tests exercise them instead.

The client waits --timeout seconds for each answer; a request that takes longer is an
error, counted apart as a timeout. A POST the client timed out on may still have been
completed by the server: the check afterwards (``load_check.py``) counts those apart
from lost or doubled writes.

Targets (issue 16): CPU per request at most 10x the bare endpoint for every step except
sign-in; no errors; the database exact afterwards: every write the users were told was
made is there once, every one they timed out on at most once, and the referrals, events,
contacts and audit rows added are exactly those.
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
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._setup import bench_app, prepare  # noqa: E402
from bench.directory import grow_directory  # noqa: E402
from bench.load_check import check_writes  # noqa: E402
from bench.load_check import counts as count_rows  # noqa: E402
from referrals.choices import Role, ServiceStatus  # noqa: E402
from referrals.clock import today_local  # noqa: E402
from referrals.config import normalise_database_url  # noqa: E402
from referrals.database import reset_schema  # noqa: E402
from referrals.extensions import db  # noqa: E402
from referrals.models import (  # noqa: E402
    CustodySuite,
    PostcodeDistrict,
    Service,
    User,
)
from referrals.reports.params import settings as report_settings  # noqa: E402
from referrals.reports.snapshot import rebuild as rebuild_snapshot  # noqa: E402

PASSWORD = "load-test-password"  # noqa: S105 - throwaway accounts in a throwaway database
ROLES = {"custody": "custody", "provider": "providers", "lead": "leads"}
STEPS = [
    "sign in",
    "search",
    "map",
    "new referral",
    "referral list",
    "worklist",
    "referral page",
    "status change",
    "area report",
]
BARE = "bare endpoint"
# The same endpoint asked for once in each journey, between its steps: the floor under the
# journey's own conditions (the database and the other workers busy on the same cores).
BARE_BESIDE = "bare, in journey"
RUN = f"{int(time.time()) % 10**8:08d}"  # tells this run's people from earlier runs'
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
    districts: dict[str, tuple[float, float]] = field(default_factory=dict)  # centres


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
        accounts.districts = {
            d: (lat, lon)
            for d, lat, lon in session.execute(
                sa.select(
                    PostcodeDistrict.district,
                    PostcodeDistrict.latitude,
                    PostcodeDistrict.longitude,
                ).where(PostcodeDistrict.district.in_(DISTRICTS))
            )
        }
        for n in range(users):
            for role, kind, extra in (
                (Role.CUSTODY, accounts.custody, {"custody_suite_id": suite.id}),
                (Role.PROVIDER, accounts.providers, {"organisation_id": provider.organisation_id}),
                (Role.LEAD, accounts.leads, {}),
            ):
                email = f"load-{role}-{n}@bench.test"
                # A database kept from an earlier run (--reuse) has the accounts already.
                user = session.scalar(sa.select(User).where(User.email == email)) or User(
                    email=email, name=f"Load {role} {n}", role=role, **extra
                )
                user.password_hash = hashed
                if role in (Role.CUSTODY, Role.PROVIDER):
                    user.totp_secret = accounts.secrets[email] = pyotp.random_base32()
                    user.totp_enrolled_at = dt.datetime.now(dt.UTC)
                    user.totp_last_step = None  # a kept account's codes start afresh
                if role == Role.LEAD:
                    user.areas = list(lead.areas)
                session.add(user)
                kind.append(email)
        session.commit()
    return accounts


def counts(app) -> dict[str, int]:
    """Rows of what the simulated users create."""
    with app.app_context():
        found = count_rows(db.session)
        db.session.remove()
    return found


def get_ready(app, services: int) -> str:
    """Grow the directory, work out today's report figures, and vacuum and analyse (as
    autovacuum would have by the time a real database reached this size)."""
    with app.app_context():
        grown = grow_directory(services) if services else 0
        db.session.commit()
        started = time.perf_counter()
        rebuild_snapshot(db.session, report_settings(today_local()))
        db.session.commit()
        built = time.perf_counter() - started
        engine = db.engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            sqlite = engine.dialect.name == "sqlite"
            connection.execute(sa.text("ANALYZE" if sqlite else "VACUUM ANALYZE"))
        db.session.remove()
    return f"{grown:,} services; report snapshot worked out in {built:.0f} s"


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
    command = [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py")]
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn and settings
        # Workers are not recycled during the run, so /proc holds all of their CPU time.
        [*command, "--max-requests", "0", "bench.load_wsgi:app"],
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


def worker_cpu(master: int) -> float:
    """CPU seconds (user and system) used so far by the gunicorn master's workers."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


# -- the simulated users -----------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cpu: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    timeouts: int = 0  # requests the client gave up waiting for (also among the errors)
    codes_retried: int = 0  # sign-ins whose first code the app turned down
    # Writes the app acknowledged: referral id -> its form token; referrals accepted and
    # attended.
    made: dict[int, str] = field(default_factory=dict)
    accepted: list[int] = field(default_factory=list)
    attended: list[int] = field(default_factory=list)
    # Writes the client timed out on: the server may or may not have made them (at most
    # once): form tokens of new referrals; referral ids of accepts and attendances.
    unanswered: dict[str, list] = field(
        default_factory=lambda: {"referral": [], "accept": [], "attend": []}
    )
    lock: threading.Lock = field(default_factory=threading.Lock)
    timing: bool = True  # off while warming up: what is made still counts, not the times

    def record(self, step: str, seconds: float, cpu: float | None) -> None:
        if not self.timing and step != "sign in":  # sign-ins happen while warming up
            return
        with self.lock:
            self.latencies[step].append(seconds)
            if cpu is not None:
                self.cpu[step].append(cpu)

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
        timeout: float = 120,
    ):
        self.n = n
        self.timeout = timeout
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
        """Switch to that role's browser, signing in at the start of the shift (or, with
        --sign-in-every-time, the custody officer afresh for every referral)."""
        self.http = self.browsers[role]
        again = self.sign_in_every_time and role == "custody"
        if again or role not in self.signed_in:
            self.sign_in(getattr(self.accounts, ROLES[role])[self.n])
            self.signed_in.add(role)

    def request(
        self,
        step: str,
        method: str,
        path: str,
        expect: int,
        write: tuple[str, object] | None = None,
        **kwargs,
    ):
        """One request; ``write`` names what a POST makes (kind, form token or referral
        id), kept aside as unanswered if the client times out on it."""
        started = time.perf_counter()
        try:
            response = self.http.request(
                method, self.base + path, allow_redirects=False, timeout=self.timeout, **kwargs
            )
        except requests.Timeout:
            with self.results.lock:
                self.results.timeouts += 1
                if write:
                    self.results.unanswered[write[0]].append(write[1])
            raise Failed(f"{step}: {method} {path} timed out after {self.timeout} s") from None
        cpu = response.headers.get("X-Worker-CPU")
        self.results.record(step, time.perf_counter() - started, float(cpu) if cpu else None)
        if response.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
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
        answer = self.request("sign in", "POST", "/login/verify", (302, 401), data=data)
        if answer.status_code == 401:
            # The code ran out while the request queued: as a person would, type the one
            # the app shows now.
            with self.results.lock:
                self.results.codes_retried += 1
            data = hidden_fields(answer.text) | {"code": self.code(email)}
            self.request("sign in", "POST", "/login/verify", 302, data=data)

    def code(self, email: str) -> str:
        """The code the sign-in app shows for ``email`` at this moment (the app takes it
        for a further 30 to 60 seconds); if it was used already, the next one, waiting
        (untimed) for it as a person would."""
        step = max(int(time.time()) // 30, self.last_step.get(email, 0) + 1)
        while step > int(time.time()) // 30:
            time.sleep(1)
        self.last_step[email] = step
        return pyotp.TOTP(self.accounts.secrets[email]).at(step * 30)

    def journey(self) -> None:
        district = self.random.choice(DISTRICTS)
        self.http = self.browsers["public"]
        self.request("search", "GET", "/services", 200, params={"q": district})
        self.think()
        self.request("map", "GET", "/map", 200, params={"q": district})
        # What the map's script asks for next: the markers in view around the district.
        lat, lon = self.accounts.districts[district]
        bbox = f"{lon - 0.3:.5f},{lat - 0.15:.5f},{lon + 0.3:.5f},{lat + 0.15:.5f}"
        params = {"q": district, "bbox": bbox, "zoom": "11", "lat": lat, "lon": lon}
        self.request("map", "GET", "/map/markers.json", 200, params=params)
        self.think()

        self.as_("custody")
        self.think()
        service = self.random.choice(self.accounts.services)
        form = self.request("new referral", "GET", f"/referrals/new?service={service}", 200)
        today = dt.date.today().isoformat()
        data = hidden_fields(form.text, "/referrals/new") | {
            "service_id": str(service),
            "pathway": "arrest_referral",
            # A new person each time, in this run and any earlier one on a kept database
            # (the same person again to the same service is asked about as a duplicate).
            "person_ref": f"LOAD/{RUN}/{self.n}/{self.random.randrange(10**6):06d}",
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
        token = data.get("form_token", "")
        made = self.request(
            "new referral", "POST", "/referrals/new", 302, ("referral", token), data=data
        )
        match = re.search(r"/referrals/(\d+)/made", made.headers["Location"])
        if not match:
            raise Failed(f"new referral: unexpected redirect {made.headers['Location']}")
        referral_id = int(match.group(1))
        with self.results.lock:
            if referral_id in self.results.made:
                self.results.errors.append(f"referral {referral_id} was answered twice")
            self.results.made[referral_id] = token
        self.think()
        self.request("referral list", "GET", "/referrals", 200)
        self.think()

        self.as_("provider")
        worklist = self.request("worklist", "GET", "/worklist", 200)
        action = f"/referrals/{referral_id}/accept"
        try:
            fields = hidden_fields(worklist.text, action)
        except Failed:  # not among the worklist's first entries: from its own page
            page = self.request("referral page", "GET", f"/referrals/{referral_id}", 200)
            fields = hidden_fields(page.text, action)
        fields.setdefault("accept-on", today)
        self.request("status change", "POST", action, 302, ("accept", referral_id), data=fields)
        with self.results.lock:
            self.results.accepted.append(referral_id)
        self.think()
        page = self.request("referral page", "GET", f"/referrals/{referral_id}", 200)
        action = f"/referrals/{referral_id}/attend"
        fields = hidden_fields(page.text, action) | {"attend-on": today}
        self.request("status change", "POST", action, 302, ("attend", referral_id), data=fields)
        with self.results.lock:
            self.results.attended.append(referral_id)
        self.think()

        self.as_("lead")
        self.request("area report", "GET", "/reports/areas", 200)
        self.request(BARE_BESIDE, "GET", "/_bare", 200)
        self.think()

    def bare(self, until: float) -> None:
        """The floor: the bare endpoint, as fast as it answers."""
        while time.perf_counter() < until:
            try:
                self.request(BARE, "GET", "/_bare", 200)
            except (Failed, requests.RequestException) as exc:
                self.results.error(f"user {self.n}: {exc}")

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


def run_users(users: list[User_], target: str, seconds: float) -> float:
    """Run every user's ``target`` ("run" or "bare") for ``seconds``; the time it took."""
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=getattr(u, target), args=(until,)) for u in users]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def report(results: Results, phases: dict[str, tuple[float, float, int]]) -> float:
    """Print the table; returns the worst CPU ratio of a step other than sign-in.

    A worker reports the CPU of the app's work on each request; gunicorn's own part
    (reading the request, writing the response) is the same for every request, so it is
    measured once, as the bare endpoint's CPU per request in /proc less what the bare
    endpoint reported, and added to every step (and to the bare endpoint asked for
    within the journeys, which is listed but is not a step)."""
    (_, bare_proc, bare_n), (_, mixed_proc, mixed_n) = phases.values()
    bare_reported = results.cpu.get(BARE) or [0.0]
    floor = bare_proc / bare_n if bare_n else 0.0
    overhead = max(0.0, floor - sum(bare_reported) / len(bare_reported))
    print(
        f"\n{'step':<18}{'requests':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'CPU ms/req':>12}{'x bare':>8}"
    )
    worst, accounted = 0.0, 0.0
    for step in [BARE, BARE_BESIDE, *STEPS]:
        values = results.latencies.get(step, [])
        if not values:
            print(f"{step:<18}{0:>9}")
            continue
        p50, p95, p99 = (1000 * percentile(values, p) for p in (50, 95, 99))
        cpu = results.cpu.get(step) or [0.0]
        per_request = floor if step == BARE else sum(cpu) / len(cpu) + overhead
        if step not in (BARE, "sign in"):  # sign-ins were in the warm-up phase
            accounted += per_request * len(values)
        ratio = per_request / floor if floor else float("inf")
        if step not in (BARE, BARE_BESIDE, "sign in"):
            worst = max(worst, ratio)
        print(
            f"{step:<18}{len(values):>9}{p50:>8.0f}{p95:>8.0f}{p99:>8.0f}"
            f"{1000 * max(values):>8.0f}{1000 * per_request:>12.2f}{ratio:>8.1f}"
        )
    print(
        "\nCPU of the gunicorn workers from /proc/<pid>/stat (user and system time in each "
        "phase, over its requests):"
    )
    for name, (elapsed, cpu_s, count) in phases.items():
        per = cpu_s / count if count else 0.0
        print(
            f"  {name:<36}{count:>7,} requests in {elapsed:5.1f} s "
            f"({count / elapsed:6.1f}/s), {cpu_s:6.1f} CPU s, {1000 * per:6.2f} ms each"
        )
    if bare_n and mixed_n:
        print(
            f"  mixed journey / bare endpoint: {(mixed_proc / mixed_n) / floor:.1f}x CPU per "
            f"request; the per-step figures account for {accounted / mixed_proc:.0%} of the "
            f"journey's /proc CPU (gunicorn's part per request: {1000 * overhead:.2f} ms)"
        )
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="database to rebuild and use (default: SQLite)")
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--duration", type=int, default=60, help="seconds (default 60)")
    parser.add_argument(
        "--referrals", type=int, default=1_000_000, help="demo referrals first (default 1M)"
    )
    parser.add_argument(
        "--services", type=int, default=10_000, help="services in the directory (default 10k)"
    )
    parser.add_argument(
        "--bare-duration", type=int, default=15, help="seconds on the bare endpoint first"
    )
    parser.add_argument(
        "--warm-up", type=int, default=10, help="untimed seconds of the journey first"
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: from CPUs)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds the client waits for an answer before giving up (default 120); "
        "timeouts are counted as errors and reported apart",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database of an earlier run with the same --database-url (skips "
        "seeding, brings its schema up to date; the check counts from what is there). The "
        "personal data in it is encrypted: set DATA_ENCRYPTION_KEYS to the key of the run "
        "that seeded it (and run rotate-keys on it once if an earlier version seeded it: "
        "values it saved as Fernet tokens cost more to read)",
    )
    parser.add_argument(
        "--sign-in-every-time",
        action="store_true",
        help="the custody officer signs in afresh for every referral (a shared custody PC "
        "without personal sessions) instead of once a shift",
    )
    args = parser.parse_args()

    # One key for this run, shared by the set-up and the server (set DATA_ENCRYPTION_KEYS
    # yourself to --reuse the database later).
    if args.reuse and not os.environ.get("DATA_ENCRYPTION_KEYS"):
        parser.error("--reuse needs DATA_ENCRYPTION_KEYS: the key of the run that seeded it")
    os.environ.setdefault("DATA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    folder = Path(tempfile.mkdtemp(prefix="referrals-load-"))
    url = normalise_database_url(args.database_url or f"sqlite:///{folder / 'load.sqlite'}")
    print(f"Database: {sa.engine.make_url(url).render_as_string(hide_password=True)}")
    app, _ = bench_app(url)
    started = time.perf_counter()
    if args.reuse and args.database_url:
        with app.app_context():
            upgrade()  # kept from an earlier version of the app: its new tables and columns
        seeded, ready = 0.0, "kept from an earlier run, its schema brought up to date"
    else:
        reset_schema(url)
        prepare(app, referrals=args.referrals, seed=args.seed)
        seeded = time.perf_counter() - started
        ready = get_ready(app, args.services)
    accounts = make_accounts(app, args.users)
    before = counts(app)
    print(
        f"Prepared {before['referrals']:,} referrals with {before['events']:,} events and "
        f"{before['contacts']:,} contacts in {seeded:.0f} s; {ready}; {args.users * 3} "
        f"accounts; {time.perf_counter() - started:.0f} s in all"
    )

    process, base = start_gunicorn(url, args.workers, folder / "gunicorn.log")
    workers = args.workers or (os.cpu_count() or 1) + 1  # as gunicorn.conf.py
    print(
        f"gunicorn with {workers} sync workers at {base}; {args.users} users; rate limits off "
        "(every user comes from one address); "
        + (
            "custody signs in for every referral"
            if args.sign_in_every_time
            else "every role signs in once, at the start of the shift"
        )
    )
    results = Results()
    phases: dict[str, tuple[float, float, int]] = {}
    try:
        users = [
            User_(n, base, accounts, results, args.seed, args.sign_in_every_time, args.timeout)
            for n in range(args.users)
        ]
        # The floor first, while nothing else is queued in the workers.
        cpu_before = worker_cpu(process.pid)
        elapsed = run_users(users, "bare", args.bare_duration)
        cpu_after = worker_cpu(process.pid)
        phases[f"bare endpoint, no pauses, {args.bare_duration} s"] = (
            elapsed,
            cpu_after - cpu_before,
            len(results.latencies[BARE]),
        )
        # Each worker compiles its templates and fills its pools on first use.
        results.timing = False
        run_users(users, "run", args.warm_up)
        results.timing = True
        cpu_after = worker_cpu(process.pid)
        earlier = sum(len(v) for k, v in results.latencies.items() if k != BARE)
        generator_before = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = run_users(users, "run", args.duration)
        generator_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_done = worker_cpu(process.pid)
        mixed = sum(len(v) for k, v in results.latencies.items() if k != BARE) - earlier
        phases[f"mixed journey, {args.duration} s"] = (elapsed, cpu_done - cpu_after, mixed)
    finally:
        process.terminate()
        process.wait(timeout=30)

    worst = report(results, phases)
    generator_cpu = (generator_after.ru_utime + generator_after.ru_stime) - (
        generator_before.ru_utime + generator_before.ru_stime
    )
    print(
        f"errors: {len(results.errors)}, of which {results.timeouts} timed out (after "
        f"{args.timeout:.0f} s); sign-in codes typed again: {results.codes_retried}  (the load "
        f"generator itself used {generator_cpu:.0f} CPU seconds of this machine during the "
        "journey phase)"
    )
    for message in results.errors[:20]:
        print(f"  {message}")

    with app.app_context():
        consistent, lines = check_writes(db.session, results, before)
        db.session.remove()
        db.engine.dispose()
    print("\n".join(lines))
    print(
        "database check: "
        + (
            "exact (every acknowledged write once, every timed-out one at most once, nothing else)"
            if consistent
            else "MISMATCH"
        )
    )
    target_met = not results.errors and worst <= 10 and consistent
    print(
        f"target (CPU per request <= 10x the bare endpoint for every step but sign-in: "
        f"worst {worst:.1f}x; no errors; database exact): {'met' if target_met else 'MISSED'}"
    )
    if not args.database_url:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if consistent and not results.errors else 1


if __name__ == "__main__":
    sys.exit(main())
