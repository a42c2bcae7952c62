"""CSV export of a report table, safe to open in a spreadsheet.

A cell that begins with =, +, -, @, a tab or a carriage return would be read as a formula by Excel,
LibreOffice or WPS (CSV injection, e.g. a caseworker named "=HYPERLINK(…)"): such a cell is written
with a single quote in front. The file starts with a UTF-8 byte order mark so that spreadsheet programs
read the Chinese text as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in header])
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
    return out.getvalue()
