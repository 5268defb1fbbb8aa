"""CSV cells a spreadsheet will not run: the one rule for every CSV file the app writes.

Spreadsheets treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
some also when a tab or carriage return comes first. A formula can fetch addresses
(``=HYPERLINK(...)``) or, in older spreadsheets, start programs (``-2+3+cmd|...``), so
``csv_cell`` puts an apostrophe before any such text, ``-2`` or ``+44 141`` included:
spreadsheets show the apostrophe-prefixed text as it was typed. Numbers the app itself
writes (counts, ids, coordinates such as a longitude of ``-4.251800``) are passed as
numbers (``int``, ``float``, ``Decimal``) and written as they are, negative ones too: a
spreadsheet reads them as the numbers they are, and they can hold nothing else.
``csv_uncell`` reverses it when a file the app wrote is read back in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as CSV cell text that no spreadsheet runs as a formula."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    # Text that already starts with apostrophes before a formula's first character
    # ("'-10% off") gets one more too, so that ``csv_uncell`` gives it back exactly.
    if text.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_uncell(text: str) -> str:
    """Undo ``csv_cell`` on a value read from a file the app wrote."""
    if len(text) > 1 and text[0] == "'" and text[1:].lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Rows as CSV text, a line at a time (for streaming responses), every cell made safe."""
    for row in rows:
        buffer = io.StringIO()
        csv.writer(buffer).writerow([csv_cell(cell) for cell in row])
        yield buffer.getvalue()
