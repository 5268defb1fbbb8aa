"""Webhooks: a registered system's own address, told of every status change to the
referrals in its scope.

- ``addresses``: which addresses may be registered (HTTPS; plain HTTP to this machine
  only in development and tests).
- ``hosts``: which machines events may go to (public addresses only, however written).
- ``posting``: one POST, to the address checked as it is sent, within a deadline.
- ``signing``: the signing secret (shown once, kept encrypted, replaceable) and the
  ``Referrals-Signature`` header, an HMAC-SHA256 over the timestamp and the body.
- ``registration``: setting, replacing and removing a system's address and secret.
- ``events``: every status change writes one outbox row per system with the referral
  in its scope, in the same transaction as the change.
- ``delivery``: the notifications sender posts each row as JSON, with the same event id
  on every attempt, and retries, fails and is retried by administrators exactly like a
  message (see ``notifications/sender.py``).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from ..notifications.kinds import Kind
    from ..notifications.sender import TRANSPORTS
    from . import admin_views, cli, events
    from .delivery import prepare

    events.listen()
    TRANSPORTS[Kind.WEBHOOK] = prepare
    cli.init_app(app)
    app.register_blueprint(admin_views.bp)
