"""Sign-in timing: how long each kind of failed sign-in takes, with the app's own password
hashing (scrypt), so that response times do not tell accounts apart.

    .venv/bin/python bench/sign_in.py [--runs 15]

Cases: a wrong password for an account that exists, an address with no account, the
right password of a deactivated account, and an account whose sign-ins are paused. The
floor is the first case, measured in the same run; every other median should be within
25% of it (an outside test once found paused accounts answering in 38 ms against 417).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from bench._setup import bench_app
from referrals.choices import Role
from referrals.extensions import db
from referrals.models import User
from referrals.seed.reference import load_reference

PASSWORD = "bench password words"  # noqa: S105 - a throwaway database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    app, _ = bench_app()
    app.config.update(RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    with app.app_context():
        upgrade()
        load_reference(db.session)
        for email, active in (("known@bench.test", True), ("gone@bench.test", False)):
            user = User(email=email, name=email, role=Role.LEAD, active=active)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
    client = app.test_client()

    def post(email: str, password: str, address: str) -> float:
        started = time.perf_counter()
        client.post(
            "/login",
            data={"email": email, "password": password},
            environ_base={"REMOTE_ADDR": address},
        )
        return time.perf_counter() - started

    # Pause one account from one address first.
    for _ in range(5):
        post("paused@bench.test", "wrong", "192.0.2.99")
    cases = {
        "wrong password": ("known@bench.test", "wrong", "192.0.2.1"),
        "no such account": ("nobody@bench.test", "wrong", "192.0.2.2"),
        "deactivated, right password": ("gone@bench.test", PASSWORD, "192.0.2.3"),
        "paused": ("paused@bench.test", "wrong", "192.0.2.99"),
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for n in range(args.runs):
        for name, (email, password, address) in cases.items():
            # A fresh address per run keeps the unpaused cases unpaused.
            where = address if name == "paused" else f"{address[:-1]}{n % 250 + 1}"
            timings[name].append(post(email, password, where))
    floor = statistics.median(timings["wrong password"])
    worst = 0.0
    print(f"{'case':<30}{'median ms':>10}{'vs floor':>10}")
    for name, values in timings.items():
        median = statistics.median(values)
        worst = max(worst, abs(median / floor - 1))
        print(f"{name:<30}{median * 1000:>10.0f}{median / floor:>10.2f}")
    verdict = "met" if worst <= 0.25 else "MISSED"
    print(f"all within 25% of the floor ({floor * 1000:.0f} ms): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
