"""Forms that make something are saved once: a double click, the same form sent again
after a slow answer, or two posts of one form at the same moment keep one copy.

Such a form carries a one-time token (``OnceForm``'s hidden ``form_token``), made when
the blank form is shown and kept while it is shown again with messages. ``commit_once``
commits the save together with the token (the key of ``form_submissions``). A second
submit of the same form cannot write the token again: nothing of it is kept, and the
caller answers it as it answered the first (``done`` gives what the first made).

A token is the same form's only when what was sent is the same too (``sent``:
who sent it, where to, and every field). A form brought back with the browser's Back
button, changed (another person, another service) and sent again carries the token of
the first save, but it is a new save: it is kept under a token made from the first and
its digest, so that it too is saved once however often it is sent, and a token seen on
another person's screen gives nothing of theirs.

A new referral keeps its own token on its row (``tracking/duplicates.py``); this serves
the other forms. Tokens are kept a day (``sweep``, in the daily purge): a form sent again
later than that is a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets

import sqlalchemy as sa
from flask import request
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wtforms import HiddenField
from wtforms.validators import Length

from .clock import now_utc
from .models import FormSubmission

KEEP = dt.timedelta(days=1)
TOKEN_LENGTH = 64  # the longest token kept (the columns' length); ours are 32
NOT_CONTENT = frozenset({"csrf_token", "form_token"})  # fields that differ between sends


def new_token() -> str:
    return secrets.token_urlsafe(24)


def derived_token(token: str, *parts: object) -> str:
    """The token a form sent with ``token`` but other content (``parts``) is kept under:
    the same for the same content, so that form too is saved once."""
    seed = json.dumps([token, *parts], default=str).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(seed).digest()[:24]).decode()


def digest_of(user_id: int | None, path: str, fields: list[tuple[str, str]]) -> str:
    """What a form sent, as a hash: who sent it (``user_id``, None for the public), the
    address it went to, and its fields but the tokens, in order."""
    content = [user_id, path, [(k, v) for k, v in fields if k not in NOT_CONTENT]]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def sent(user_id: int | None) -> str:
    """What the form of this request sent (``digest_of``)."""
    return digest_of(user_id, request.path, list(request.form.items(multi=True)))


class OnceForm(FlaskForm):
    """A form with a one-time token: a fresh one on the blank form, the posted one after."""

    form_token = HiddenField(validators=[Length(max=TOKEN_LENGTH)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.form_token.data or len(self.form_token.data) > TOKEN_LENGTH:
            self.form_token.data = new_token()


def done(
    session: Session, token: str | None, kind: str, digest: str | None = None
) -> FormSubmission | None:
    """The earlier save of the form with ``token``, if it was saved already with the
    same content (``digest``; tokens kept without one match any)."""
    if not token:
        return None
    found = session.get(FormSubmission, token)
    if found is None or found.kind != kind:
        return None
    if digest is not None and found.digest is not None and found.digest != digest:
        return done(session, derived_token(token, kind, digest), kind)
    return found


def commit_once(
    session: Session,
    token: str | None,
    kind: str,
    object_id: int | None = None,
    digest: str | None = None,
) -> FormSubmission | None:
    """Commit the save with the form's token. None when it is saved now; when the same
    form was saved already (by an earlier submit, or one at the same moment), nothing of
    this one is kept and the earlier save is returned. A token kept for another kind of
    form (a page's token sent by hand to another form), or with another ``digest`` (the
    form changed and sent again), does not make this a repeat: it is saved under a token
    made from both (``derived_token``)."""
    if token:
        kept = session.execute(
            sa.select(FormSubmission.kind, FormSubmission.digest).where(
                FormSubmission.token == token
            )
        ).first()
        if kept is not None and (
            kept.kind != kind
            or (digest is not None and kept.digest is not None and kept.digest != digest)
        ):
            token = derived_token(token, kind, digest)
        session.add(
            FormSubmission(
                token=token, kind=kind, object_id=object_id, digest=digest, made_at=now_utc()
            )
        )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        earlier = done(session, token, kind, digest)
        if earlier is None:
            raise
        return earlier
    return None


def sweep(session: Session, now: dt.datetime, dry_run: bool = False) -> int:
    """Forget the tokens of forms saved more than a day ago; how many."""
    old = FormSubmission.made_at < now - KEEP
    if dry_run:
        return session.scalar(sa.select(sa.func.count()).select_from(FormSubmission).where(old))
    return session.execute(sa.delete(FormSubmission.__table__).where(old)).rowcount
