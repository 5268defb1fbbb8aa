"""gunicorn settings for Referral Pathways: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every setting can be changed from the environment; the defaults suit one server behind
one reverse proxy (nginx or a load balancer) that terminates HTTPS.
"""

import gc
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


# Where to listen. Behind a proxy on the same host, loopback is enough.
bind = os.environ.get("BIND", "127.0.0.1:8000")

# One worker per core plus one. Requests here mostly use the CPU (rendering pages, checking
# password hashes) rather than wait, so more workers only queue for the cores: on two cores
# with PostgreSQL on the same machine, five workers gave a sign-in p95 of about 300 ms
# under the load benchmark and three gave under 200 ms. With the database on another host,
# try a few more (WEB_CONCURRENCY).
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1)
worker_class = "sync"

# A request taking longer than this is stuck: its worker is killed and replaced (its
# database transaction is rolled back, so nothing is half-saved).
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then so that slow leaks cannot build up.
max_requests = 5000
max_requests_jitter = 500

# Logs to stdout/stderr for the service manager or container runtime to collect.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Believe X-Forwarded-Proto (HTTPS) only from the one trusted proxy. The app itself reads
# X-Forwarded-For/-Proto/-Host through TRUSTED_PROXIES=1 (see README, Production).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Each worker makes its own app and database pool; no preloading, so no connection is
# shared across a fork.
preload_app = False

# The app's long-lived objects (modules, the ORM's mappings, compiled templates, the
# statement cache) are moved out of the garbage collector's way once the worker has
# loaded the app and again once it has served its first requests, so that each
# request's collections walk only what that request made (about a tenth less CPU per
# request, a quarter on the worklist). Garbage is collected first, so nothing
# unreachable is kept.
WARM_AFTER_REQUESTS = 200


def _freeze_long_lived() -> None:
    gc.collect()
    gc.freeze()


def post_worker_init(worker):
    _freeze_long_lived()


def post_request(worker, req, environ, resp):
    if worker.nr >= WARM_AFTER_REQUESTS and not getattr(worker, "warm_frozen", False):
        worker.warm_frozen = True
        _freeze_long_lived()
