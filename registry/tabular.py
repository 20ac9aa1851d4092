"""Read a CSV or XLSX file into rows of cells: a header is a row like any other, and nothing here knows what
the columns mean.

Used by the resident import (``housing.import_sheet``) and by roster reconciliation (``portal.roster``),
which map the header to their own columns with ``normal_header`` and read the cells with ``cell_text``.
"""

import codecs
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _


class ImportFileError(Exception):
    """The file as a whole cannot be used (unreadable, no header, columns missing): no row is checked."""


def cell_text(value) -> str:
    """A cell as text: Excel dates as YYYY-MM-DD, whole numbers without ``.0``, spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\u3000", " ").replace("\xa0", " ").strip()


def normal_header(text) -> str:
    """A header cell as a lookup key: NFKC, no BOM, no "(…)" hint, no spaces, underscores, dashes, stars or
    colons, lower case."""
    text = unicodedata.normalize("NFKC", str(text or "")).lstrip("\ufeff")
    text = re.sub(r"\(.*?\)", "", text)  # 出生日期(YYYY-MM-DD)
    return re.sub(r"[\s_\-*:]+", "", text).lower()


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030 (Excel in China)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file is not readable text: save it as “CSV UTF-8” or as an Excel workbook (.xlsx)."))


def csv_rows(data: bytes) -> list[list]:
    """Every row of a CSV file; the delimiter (comma, tab or semicolon) is the commonest one in the first line."""
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def xlsx_rows(source: Path | BinaryIO, *, limit: int | None = None) -> list[list]:
    """The rows of an XLSX workbook's first sheet, cells as stored (dates as dates, numbers as numbers).

    With ``limit``, reading stops once there are more than ``limit`` rows: enough for the caller to tell
    that the sheet is too long without loading all of it."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError):
        raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx); open it in Excel and "
                                "save it again, or save it as CSV."))
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write a wrong sheet size; read every row there is
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if limit is not None and len(rows) > limit:
                break
        return rows
    finally:
        workbook.close()
