"""What the load test serves under gunicorn: the app itself, and beside it, in the same
workers, a bare Flask endpoint (``/_bare``: no database, no session, no template) as the
floor every step is compared with.

Each response carries ``X-Worker-CPU``: the CPU seconds (user and system) the worker
process spent on that request, read from the same clock as ``/proc/<pid>/stat``. The
workers are gunicorn's sync workers, one request at a time, so the difference is the
request's alone.

    gunicorn -c gunicorn.conf.py bench.load_wsgi:app

With ``LOAD_PROFILE_DIR`` set, each worker also profiles the app's requests (not the bare
endpoint's), one profile per kind of request (``kind``), written to
``<dir>/<kind>.<pid>.prof`` every 100 requests: where the CPU goes under the load
itself, with its many users and workers (the profiler slows the requests down, so the
run's own figures are then not comparable).
"""

from __future__ import annotations

import cProfile
import os
import re
import time
from collections import Counter

from flask import Flask

from referrals import create_app

referrals_app = create_app()
bare = Flask("bare")


@bare.get("/_bare")
def bare_endpoint():
    return "ok"


# The load test's requests by kind: (method, pattern of the path).
KINDS = [
    ("GET", re.compile(r"/services$"), "search"),
    ("GET", re.compile(r"/map"), "map"),
    ("GET", re.compile(r"/referrals/new$"), "new_referral_form"),
    ("POST", re.compile(r"/referrals/new$"), "new_referral_save"),
    ("GET", re.compile(r"/referrals/\d+/made$"), "referral_made"),
    ("GET", re.compile(r"/referrals$"), "referral_list"),
    ("GET", re.compile(r"/worklist$"), "worklist"),
    ("GET", re.compile(r"/referrals/\d+$"), "referral_page"),
    ("POST", re.compile(r"/referrals/\d+/\w+$"), "status_change"),
    ("GET", re.compile(r"/reports/areas$"), "area_report"),
]
PROFILE_DIR = os.environ.get("LOAD_PROFILE_DIR")
if PROFILE_DIR:
    os.makedirs(PROFILE_DIR, exist_ok=True)
_profiles: dict[str, cProfile.Profile] = {}
_profiled: Counter = Counter()


def kind(environ) -> str:
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    for wanted, pattern, name in KINDS:
        if method == wanted and pattern.match(path):
            return name
    return "other"


def _profiled_call(environ, start_response):
    """The app's answer, profiled under the request's kind (see ``LOAD_PROFILE_DIR``)."""
    name = kind(environ)
    profile = _profiles.get(name)
    if profile is None:
        profile = _profiles[name] = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        return referrals_app.wsgi_app(environ, start_response)
    finally:
        profile.disable()
        _profiled[name] += 1
        if _profiled[name] % 100 == 0:
            profile.dump_stats(os.path.join(PROFILE_DIR, f"{name}.{os.getpid()}.prof"))


def app(environ, start_response):
    started = time.process_time()
    target = bare if environ.get("PATH_INFO") == "/_bare" else referrals_app

    def timed_start(status, headers, exc_info=None):
        used = time.process_time() - started
        return start_response(status, [*headers, ("X-Worker-CPU", f"{used:.6f}")], exc_info)

    # Flask renders the whole page before it starts the response, so the time to
    # ``start_response`` covers the request's work (a streamed CSV would not be covered,
    # and the load test asks for none).
    if PROFILE_DIR and target is referrals_app:
        return _profiled_call(environ, timed_start)
    return target.wsgi_app(environ, timed_start)
