"""Reports as PDF, made on the server with WeasyPrint from the same HTML as the page.

WeasyPrint needs the Pango libraries (Debian: ``libpango-1.0-0`` and ``libpangoft2-1.0-0``),
so it is imported only when a PDF is asked for: the rest of the app runs without them. The
PDF's HTML carries its stylesheets as files given here and no links, so making a PDF never
fetches anything over the network."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries are not installed."""


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango is missing
        raise PdfUnavailable(str(error)) from error
    return weasyprint


def layout_version() -> str:
    """The version of WeasyPrint that lays the PDFs out (a new one may lay them out
    differently), read from its package's metadata: without importing it, so that a PDF
    kept before is served even where its system libraries are missing."""
    try:
        return metadata.version("weasyprint")
    except metadata.PackageNotFoundError:
        return "none"


def html_to_pdf(html: str, stylesheets: list[Path]) -> bytes:
    weasyprint = _weasyprint()
    return weasyprint.HTML(string=html).write_pdf(
        stylesheets=[weasyprint.CSS(filename=str(path)) for path in stylesheets]
    )
