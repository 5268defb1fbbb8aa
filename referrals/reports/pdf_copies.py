"""PDFs made once and kept: a pack's PDF is the same for everyone who may open it (it
holds the published figures only), and published figures never change once made, so the
PDF made from a page's HTML is kept in the database under a hash of that HTML, its
stylesheets and the version of WeasyPrint that laid it out. The next download of the
same pack is read back instead of laid out again (which takes seconds), on whichever
server it lands. Copies are cleared ``KEEP_DAYS`` days after they were made (one asked
for again is made again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from ..models import UTCDateTime, utcnow
from .pdf import html_to_pdf, layout_version

KEEP_DAYS = 45  # the days' figures are kept for 40


class PdfCopy(db.Model):
    """A PDF made from a page's HTML, under the hash of what it was made from."""

    __tablename__ = "pdf_copies"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary)
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _key(html: str, stylesheets: list[Path]) -> str:
    digest = hashlib.sha256(layout_version().encode())
    for path in stylesheets:
        digest.update(path.read_bytes())
    digest.update(html.encode())
    return digest.hexdigest()


def pdf_for(session: Session, html: str, stylesheets: list[Path]) -> bytes:
    """The PDF of ``html`` with ``stylesheets``: the kept copy if there is one, else made
    now and kept (in the session's transaction: the caller commits). Raises
    ``PdfUnavailable`` as ``html_to_pdf`` does."""
    key = _key(html, stylesheets)
    kept = session.scalar(sa.select(PdfCopy.pdf).where(PdfCopy.key == key))
    if kept is not None:
        return kept
    pdf = html_to_pdf(html, stylesheets)
    now = utcnow()
    session.execute(sa.delete(PdfCopy).where(PdfCopy.made_at < now - dt.timedelta(days=KEEP_DAYS)))
    try:
        with session.begin_nested():  # another server may have kept the same copy meanwhile
            session.add(PdfCopy(key=key, pdf=pdf, made_at=now))
    except IntegrityError:
        pass
    return pdf
