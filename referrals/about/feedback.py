"""Feedback about the service: sent from the contact page, read by administrators.

Feedback is about the service, never about a person: the form asks people to leave out
names and case details, and keeps only the path of the page it was sent from (no query,
which could hold a postcode), the sender's role if signed in, and a reply address only
if they give one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import User
from ..security import same_site_path
from .models import Feedback

PER_PAGE = 50


def from_page(path: str | None) -> str | None:
    """The page feedback was sent from, if ``path`` is one of this site's paths."""
    path = same_site_path((path or "").split("?", 1)[0].split("#", 1)[0])
    return path if path is not None and len(path) <= 200 else None


def send_feedback(
    session: Session,
    *,
    message: str,
    reply_to: str | None,
    page: str | None,
    role: str | None,
    now: dt.datetime,
) -> Feedback:
    """Keep one piece of feedback. The caller commits."""
    feedback = Feedback(
        sent_at=now,
        message=message.strip(),
        reply_to=(reply_to or "").strip() or None,
        page=from_page(page),
        role=role,
    )
    session.add(feedback)
    session.flush()
    return feedback


@dataclass
class FeedbackPage:
    items: list[Feedback]
    total: int
    waiting: int
    page: int
    pages: int


def feedback_page(session: Session, *, waiting_only: bool, page: int) -> FeedbackPage:
    """Feedback newest first, ``PER_PAGE`` at a time; optionally only what awaits action."""
    query = sa.select(Feedback)
    if waiting_only:
        query = query.where(Feedback.dealt_with_at.is_(None))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    waiting = session.scalar(
        sa.select(sa.func.count()).select_from(Feedback).where(Feedback.dealt_with_at.is_(None))
    )
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    items = session.scalars(
        query.order_by(Feedback.sent_at.desc(), Feedback.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return FeedbackPage(list(items), total, waiting or 0, page, pages)


def mark_dealt_with(session: Session, feedback: Feedback, user: User, now: dt.datetime) -> bool:
    """Record that ``user`` dealt with ``feedback``; False if someone already had."""
    if feedback.dealt_with_at is not None:
        return False
    feedback.dealt_with_at = now
    feedback.dealt_with_by = user
    return True
