"""Forms that make something are saved once: a double click, the same form sent again
after a slow answer, or two posts of one form at the same moment keep one copy.

Such a form carries a one-time token (``OnceForm``'s hidden ``form_token``), made when
the blank form is shown and kept while it is shown again with messages. ``commit_once``
commits the save together with the token (the key of ``form_submissions``). A second
submit of the same form cannot write the token again: nothing of it is kept, and the
caller answers it as it answered the first (``done`` gives what the first made).

A new referral keeps its own token on its row (``tracking/duplicates.py``); this serves
the other forms. Tokens are kept a day (``sweep``, in the daily purge): a form sent again
later than that is a new one.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wtforms import HiddenField
from wtforms.validators import Length

from .clock import now_utc
from .models import FormSubmission

KEEP = dt.timedelta(days=1)
TOKEN_LENGTH = 64  # the longest token kept (the columns' length); ours are 32


def new_token() -> str:
    return secrets.token_urlsafe(24)


class OnceForm(FlaskForm):
    """A form with a one-time token: a fresh one on the blank form, the posted one after."""

    form_token = HiddenField(validators=[Length(max=TOKEN_LENGTH)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.form_token.data or len(self.form_token.data) > TOKEN_LENGTH:
            self.form_token.data = new_token()


def done(session: Session, token: str | None, kind: str) -> FormSubmission | None:
    """The earlier save of the form with ``token``, if it was saved already."""
    if not token:
        return None
    found = session.get(FormSubmission, token)
    return found if found is not None and found.kind == kind else None


def commit_once(
    session: Session, token: str | None, kind: str, object_id: int | None = None
) -> FormSubmission | None:
    """Commit the save with the form's token. None when it is saved now; when the same
    form was saved already (by an earlier submit, or one at the same moment), nothing of
    this one is kept and the earlier save is returned. A token kept for another kind of
    form (a page's token sent by hand to another form) does not make this a repeat: it
    is saved under a new token."""
    if token:
        kept = session.scalar(sa.select(FormSubmission.kind).where(FormSubmission.token == token))
        if kept is not None and kept != kind:
            token = new_token()
        session.add(FormSubmission(token=token, kind=kind, object_id=object_id, made_at=now_utc()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        earlier = done(session, token, kind)
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
