"""``flask --app referrals send-notifications``: the outbox sender process."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..clock import now_local, today_local
from ..extensions import db
from .backends import Backend, backend_from_config
from .daily import daily_work
from .schedule import queue_digests
from .sender import Policy, Tally, deliver_due

log = logging.getLogger("referrals.notifications")


def _log_to_stderr() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def one_pass(
    batch: int, backend: Backend | None = None, stop: threading.Event | None = None
) -> Tally:
    """Queue any digest now due, then deliver everything due (until ``stop`` is set)."""
    config = current_app.config
    queue_digests(db.session, now_local())
    return deliver_due(
        db.session,
        backend or backend_from_config(config),
        Policy.from_config(config),
        batch=batch,
        stop=stop.is_set if stop is not None else lambda: False,
    )


def _daily() -> None:
    """The day's purge and report figures; a failure is logged, and tried again tomorrow
    (the reports also build their figures on the day's first request)."""
    try:
        daily_work(db.session, now_local())
    except SQLAlchemyError:
        raise
    except Exception:
        db.session.rollback()
        log.exception("The daily work failed; it is tried again tomorrow.")


def run(
    stop: threading.Event,
    *,
    interval: float,
    batch: int,
    once: bool = False,
    backend: Backend | None = None,
) -> Tally:
    """Send until ``stop`` is set (or one pass with ``once``); survives the database
    going away and comes back to work when it returns."""
    total = Tally()
    backend = backend or backend_from_config(current_app.config)
    daily_done_on = None  # saves a look at the database on every pass, nothing more
    while not stop.is_set():
        try:
            if current_app.config["SENDER_DAILY_WORK"] and daily_done_on != today_local():
                _daily()
                daily_done_on = today_local()
            total.add(one_pass(batch, backend, stop))
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("The database did not answer (%s); trying again shortly.", exc)
            if once:
                raise
        finally:
            db.session.remove()
        if once:
            break
        stop.wait(interval)
    return total


@click.command("send-notifications")
@click.option("--once", is_flag=True, help="Send what is due now, then stop (for cron or tests).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between looks at the outbox.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Messages claimed at a time.",
)
@with_appcontext
def send_notifications_command(once: bool, interval: float, batch: int) -> None:
    """Deliver the messages waiting in the outbox (NOTIFICATIONS_BACKEND: log, smtp or
    notify) and the webhooks to registered systems' addresses, retrying failures with a
    growing wait, and queue the daily overdue digest and the weekly reminders when they
    are due. Once a day it also runs the retention purge and works out the day's report
    figures (SENDER_DAILY_WORK=false turns that off). Runs until stopped (Ctrl+C or SIGTERM
    finish the message in hand first). Several senders may run against one PostgreSQL
    database: each message is claimed by one of them."""
    _log_to_stderr()
    backend = backend_from_config(current_app.config)
    stop = threading.Event()
    if not once:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("Sending notifications through %s every %s seconds.", backend.name, interval)
    total = run(stop, interval=interval, batch=batch, once=once, backend=backend)
    click.echo(f"Outbox: {total}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(send_notifications_command)
