"""What the load test serves under gunicorn: the app itself, and beside it, in the same
workers, a bare Flask endpoint (``/_bare``: no database, no session, no template) as the
floor every step is compared with.

Each response carries ``X-Worker-CPU``: the CPU seconds (user and system) the worker
process spent on that request, read from the same clock as ``/proc/<pid>/stat``. The
workers are gunicorn's sync workers, one request at a time, so the difference is the
request's alone.

    gunicorn -c gunicorn.conf.py bench.load_wsgi:app
"""

from __future__ import annotations

import time

from flask import Flask

from referrals import create_app

referrals_app = create_app()
bare = Flask("bare")


@bare.get("/_bare")
def bare_endpoint():
    return "ok"


def app(environ, start_response):
    started = time.process_time()
    target = bare if environ.get("PATH_INFO") == "/_bare" else referrals_app

    def timed_start(status, headers, exc_info=None):
        used = time.process_time() - started
        return start_response(status, [*headers, ("X-Worker-CPU", f"{used:.6f}")], exc_info)

    # Flask renders the whole page before it starts the response, so the time to
    # ``start_response`` covers the request's work (a streamed CSV would not be covered,
    # and the load test asks for none).
    return target.wsgi_app(environ, timed_start)
