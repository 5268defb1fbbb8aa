"""Where the CPU of each load-test step goes: the load test's journey (``load.py``) through
Flask's test client on a database the load test prepared, each step repeated, with the
CPU per request, the statements it sends, and the functions that took the most time.

    .venv/bin/python bench/profile_load.py --database-url postgresql://USER@HOST/DB
        [--rounds 20] [--top 12] [--step worklist ...]

The database must be one ``load.py`` has seeded (run it once, or with ``--reuse``): its
demo directory, referrals and report snapshot. Set DATA_ENCRYPTION_KEYS to that run's
key. The accounts are the load test's first user's (made afresh here, so not while a
load test is running on the same database). The app is built as gunicorn builds it
(``create_app()`` from the environment, not in testing mode), with rate limits off.

The worklist's figure depends on the database's state: each run's status changes join
the load-test provider's changes of the last 15 minutes, which the worklist lists to undo,
so compare worklist figures from runs at least 15 minutes apart.

The floor is the load test's: a bare Flask endpoint (``load_wsgi.bare``), through the
same test client. For each step the table gives the CPU per request (measured without
the profiler) and its multiple of the floor's; then, per step, the functions with the
most time of their own and the share of the request's time spent inside a few parts of
the request path (the sign-in check, the database, templates, forms).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import DISTRICTS, PASSWORD, STEPS, hidden_fields, make_accounts  # noqa: E402
from referrals.config import normalise_database_url  # noqa: E402
from referrals.extensions import db  # noqa: E402
from referrals.statement_count import counting  # noqa: E402

# Parts of the request path: (label, file fragment, function name) of the function
# whose cumulative time is that part's.
PARTS = [
    ("sign-in check (load_user)", "referrals/auth/__init__.py", "load_user"),
    ("database (execute)", "sqlalchemy/engine/base.py", "_execute_context"),
    ("templates (render)", "flask/templating.py", "_render"),
    ("form construction", "wtforms/form.py", "__call__"),
    ("form validation", "flask_wtf/form.py", "validate_on_submit"),
    ("CSRF token", "flask_wtf/csrf.py", "generate_csrf"),
    ("url_for", "flask/app.py", "url_for"),
    ("session cookie", "flask/sessions.py", "open_session"),
]


class Journey:
    """The load test's journey through test clients, one per role."""

    def __init__(self, app, accounts, rounds: int):
        self.app = app
        self.accounts = accounts
        self.rounds = rounds
        self.clients = {role: app.test_client() for role in ("public", "custody", "provider")}
        self.clients["lead"] = app.test_client()
        self.used_steps: dict[str, int] = {}

    def code(self, email: str) -> str:
        step = max(int(time.time()) // 30 - 1, self.used_steps.get(email, 0) + 1)
        while step > int(time.time()) // 30 + 1:
            time.sleep(1)
        self.used_steps[email] = step
        return pyotp.TOTP(self.accounts.secrets[email]).at(step * 30)

    def calls(self, n: int):
        """The journey's requests in order: (step, client, method, path, data, expect);
        a path or data may be a function of the previous response."""
        district = DISTRICTS[n % len(DISTRICTS)]
        lat, lon = self.accounts.districts[district]
        bbox = f"{lon - 0.3:.5f},{lat - 0.15:.5f},{lon + 0.3:.5f},{lat + 0.15:.5f}"
        service = self.accounts.services[n % len(self.accounts.services)]
        today = dt.date.today().isoformat()
        yield "search", "public", "GET", f"/services?q={district}", None, 200
        yield "map", "public", "GET", f"/map?q={district}", None, 200
        markers = f"/map/markers.json?q={district}&bbox={bbox}&zoom=11&lat={lat}&lon={lon}"
        yield "map", "public", "GET", markers, None, 200
        yield "new referral", "custody", "GET", f"/referrals/new?service={service}", None, 200
        referral = {
            "service_id": str(service),
            "pathway": "arrest_referral",
            "person_ref": f"PROFILE/{time.time_ns() % 10**9:09d}",
            "age_band": "25_34",
            "sex": "male",
            "postcode_district": district,
            "consent_recorded": "y",
            "consent_date": today,
            "substances": ["opioids"],
            "needs": ["treatment"],
            "contact_method": "phone",
            "contact_name": "Profile Person",
            "contact_phone": "07700 900123",
        }
        made = yield (
            "new referral",
            "custody",
            "POST",
            "/referrals/new",
            lambda page: hidden_fields(page, "/referrals/new") | referral,
            302,
        )
        referral_id = int(re.search(r"/referrals/(\d+)/made", made.location).group(1))
        yield "referral list", "custody", "GET", "/referrals", None, 200
        yield "worklist", "provider", "GET", "/worklist", None, 200
        yield "referral page", "provider", "GET", f"/referrals/{referral_id}", None, 200
        action = f"/referrals/{referral_id}/accept"
        yield (
            "status change",
            "provider",
            "POST",
            action,
            lambda page: hidden_fields(page, action) | {"accept-on": today},
            302,
        )
        yield "referral page", "provider", "GET", f"/referrals/{referral_id}", None, 200
        attend = f"/referrals/{referral_id}/attend"
        yield (
            "status change",
            "provider",
            "POST",
            attend,
            lambda page: hidden_fields(page, attend) | {"attend-on": today},
            302,
        )
        yield "area report", "lead", "GET", "/reports/areas", None, 200

    def sign_in(self, client, email: str, profile=None, times=None):
        def step(method, path, data, expect):
            started = time.process_time()
            if profile:
                profile.enable()
            response = client.open(path, method=method, data=data)
            if profile:
                profile.disable()
            if times is not None:
                times.append(time.process_time() - started)
            assert response.status_code == expect, (path, response.status_code)
            return response

        page = step("GET", "/login", None, 200)
        data = hidden_fields(page.text) | {"email": email, "password": PASSWORD}
        answer = step("POST", "/login", data, 302)
        if "/login/verify" in answer.location:
            page = step("GET", "/login/verify", None, 200)
            step(
                "POST", "/login/verify", hidden_fields(page.text) | {"code": self.code(email)}, 302
            )


def run(journey: Journey, rounds: int, profiles, times, statements, engine) -> None:
    """``rounds`` journeys; per step, its profile, CPU times and statement counts (the
    profiles and times only when given)."""
    last_page = ""
    for n in range(rounds):
        calls = journey.calls(n)
        sent = None
        while True:
            try:
                step, role, method, path, data, expect = calls.send(sent)
            except StopIteration:
                break
            client = journey.clients[role]
            if callable(data):
                data = data(last_page)
            profile = profiles[step] if profiles is not None else None
            with counting(engine) as seen:
                started = time.process_time()
                if profile:
                    profile.enable()
                response = client.open(path, method=method, data=data)
                if profile:
                    profile.disable()
                used = time.process_time() - started
            assert response.status_code == expect, (step, path, response.status_code)
            if times is not None:
                times[step].append(used)
            statements[step].append(seen.count)
            if method == "GET":
                last_page = response.text
            sent = response


def summary(stats: pstats.Stats, top: int, step_cpu: float, requests: int) -> list[str]:
    lines = []
    total = stats.total_tt or 1e-9
    raw = stats.stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    for label, fragment, name in PARTS:
        cumulative = sum(
            ct
            for (file, _, func), (_, _, _, ct, _) in raw.items()
            if fragment in file and func == name
        )
        if cumulative:
            lines.append(f"    {label:<30}{100 * cumulative / total:5.0f}% of the profiled time")
    ordered = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines.append(f"    {'own time ms/req':>16}  {'calls/req':>9}  function")
    for (file, line, name), (_, calls, own, _, _) in ordered:
        where = file.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        lines.append(
            f"    {1000 * own / requests:>16.2f}  {calls / requests:>9.0f}  {where}:{line} {name}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database load.py seeded")
    parser.add_argument("--rounds", type=int, default=20, help="journeys per measurement")
    parser.add_argument("--top", type=int, default=12, help="functions listed per step")
    parser.add_argument("--step", action="append", help="only these steps' profiles")
    parser.add_argument(
        "--save", metavar="DIR", help="also write each step's profile to DIR/<step>.prof"
    )
    args = parser.parse_args()
    if not os.environ.get("DATA_ENCRYPTION_KEYS"):
        parser.error("set DATA_ENCRYPTION_KEYS to the key of the load run that seeded it")
    url = normalise_database_url(args.database_url)
    os.environ.update(
        DATABASE_URL=url,
        SECRET_KEY=os.environ.get("SECRET_KEY", "profile-secret-key"),
        RATELIMIT_ENABLED="false",
        MAP_TILES_URL="",
        GEOCODER="",
    )
    from bench.load_wsgi import bare
    from bench.load_wsgi import referrals_app as app

    accounts = make_accounts(app, 1)
    journey = Journey(app, accounts, args.rounds)
    for role, kind in (("custody", "custody"), ("provider", "providers"), ("lead", "leads")):
        journey.sign_in(journey.clients[role], getattr(accounts, kind)[0])
    with app.app_context():
        engine = db.engine
    # Warm up: templates compiled, pools filled.
    run(journey, 2, None, None, defaultdict(list), engine)

    times: dict[str, list[float]] = defaultdict(list)
    statements: dict[str, list[int]] = defaultdict(list)
    run(journey, args.rounds, None, times, statements, engine)
    bare_client = bare.test_client()
    bare_times = []
    for _ in range(max(200, args.rounds * 10)):
        started = time.process_time()
        bare_client.get("/_bare")
        bare_times.append(time.process_time() - started)
    sign_in_times: list[float] = []
    sign_in_profile = cProfile.Profile(time.process_time)
    for _ in range(min(args.rounds, 5)):
        journey.sign_in(app.test_client(), accounts.custody[0], sign_in_profile, sign_in_times)
    profiles = {step: cProfile.Profile(time.process_time) for step in STEPS}
    profiles["sign in"] = sign_in_profile
    run(journey, args.rounds, profiles, None, defaultdict(list), engine)

    floor = sum(bare_times) / len(bare_times)
    times["sign in"] = sign_in_times
    print(f"\nbare endpoint (the floor): {1000 * floor:.3f} ms CPU per request\n")
    print(f"{'step':<16}{'requests':>9}{'CPU ms/req':>12}{'x bare':>8}{'statements':>12}")
    for step in STEPS:
        values = times.get(step)
        if not values:
            continue
        per = sum(values) / len(values)
        counted = statements.get(step)  # not counted for sign-in (its own clients)
        shown = "-" if not counted else f"{min(counted)}-{max(counted)}"
        if counted and min(counted) == max(counted):
            shown = str(counted[0])
        print(f"{step:<16}{len(values):>9}{1000 * per:>12.2f}{per / floor:>8.0f}{shown:>12}")
    for step in args.step or STEPS:
        values = times.get(step)
        if not values:
            continue
        stats = pstats.Stats(profiles[step])
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            stats.dump_stats(os.path.join(args.save, step.replace(" ", "_") + ".prof"))
        print(f"\n{step}: {1000 * sum(values) / len(values):.1f} ms CPU per request")
        print("\n".join(summary(stats, args.top, sum(values), len(values))))
    with app.app_context():
        db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
