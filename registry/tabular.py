"""Read a CSV or XLSX file into rows of cells: a header is a row like any other, and nothing here knows what
the columns mean.

Used by the resident import (``housing.import_sheet``) and by roster reconciliation (``portal.roster``),
which map the header to their own columns with ``normal_header`` and read the cells with ``cell_text``.

Files come from users, so they are read as a stream under limits, and refused with a message naming the
limit as soon as one is passed (docs/security.md, "Uploads"): the size of the upload, rows, columns and the
characters of a cell for both kinds; for XLSX also the ZIP's parts (their number, their declared and real
unpacked sizes, the compression ratio), the sheet's declared size, the shared strings, and XML without
DTDs or entities (defusedxml). Memory stays proportional to one row and the workbook's shared strings,
whatever the file claims, and time to the unpacked size the limits allow.
"""

import array
import codecs
import csv
import datetime
import io
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

# Rows above the data allowed to a caller's ``max_rows``: a title line or two and the header.
HEADER_ROWS = 10
# A cell holds at most what Excel itself allows; a physical CSV line, a generous row of such cells.
MAX_CELL_CHARS = 32_767
MAX_CSV_LINE_CHARS = 256 * 1024
# Excel's own sheet size: a row or column beyond it was not written by a spreadsheet program.
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
# An XLSX has a dozen parts, a few hundred with many sheets and pictures; reading its directory costs
# memory per part, so the count is read from the end record before the directory itself.
MAX_ZIP_PARTS = 1_000
# Parts smaller than this may compress better than the ratio allows (tiny XML is very repetitive).
RATIO_GRACE_BYTES = 1024 * 1024
# The workbook's small parts (relationships, workbook, styles) are read whole, up to this size.
MAX_SMALL_PART_BYTES = 8 * 1024 * 1024
# The shared strings are the one thing kept whole: their number and text are capped, and kept compactly.
MAX_SHARED_STRINGS = 4_000_000
MAX_SHARED_STRING_CHARS = 16 * 1024 * 1024
READ_CHUNK = 64 * 1024


class ImportFileError(Exception):
    """The file as a whole cannot be used (unreadable, too large, no header, columns missing): no row is
    checked."""


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


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def _too_many_rows(max_rows: int) -> ImportFileError:
    return ImportFileError(_("The file has more than %(max)s rows; split it into smaller files.")
                           % {"max": f"{max_rows:,}"})


def _too_many_columns(row: int, max_columns: int) -> ImportFileError:
    return ImportFileError(_("Row %(row)d has more than %(max)d columns (the most a file may have); delete the "
                             "columns nobody needs, or the stray cells far to the right, and upload it again.")
                           % {"row": row, "max": max_columns})


def _cell_too_long(row: int | None) -> ImportFileError:
    if row is None:
        return ImportFileError(_("The workbook has a cell longer than %(max)s characters, the most a cell may "
                                 "hold; is it the right file?") % {"max": f"{MAX_CELL_CHARS:,}"})
    return ImportFileError(_("Row %(row)d has a cell longer than %(max)s characters, the most a cell may hold; "
                             "is it the right file?") % {"row": row, "max": f"{MAX_CELL_CHARS:,}"})


def _trimmed(cells: list) -> list:
    """The cells without the blank ones at the end of the row."""
    end = len(cells)
    while end and (cells[end - 1] is None or cells[end - 1] == ""):
        end -= 1
    return cells if end == len(cells) else cells[:end]


def table_rows(source: Path | BinaryIO, *, max_rows: int) -> Iterator[tuple[int, list]]:
    """The non-blank rows of a stored or uploaded file, CSV or XLSX by its first bytes, as (row number in the
    file, cells): see ``csv_rows`` and ``xlsx_rows``."""
    with _opened(source) as handle:
        magic = handle.read(8)
        handle.seek(0)
        if magic.startswith(b"PK\x03\x04"):
            yield from xlsx_rows(handle, max_rows=max_rows)
        elif magic.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFileError(_("This is an old Excel file (.xls): save it as .xlsx or as CSV, then upload it "
                                    "again."))
        else:
            yield from csv_rows(handle, max_rows=max_rows)


class _opened:
    """A path opened for reading (and closed after), or a file object rewound (and left open)."""

    def __init__(self, source):
        self.source, self.handle = source, None

    def __enter__(self) -> BinaryIO:
        if isinstance(self.source, str | Path):
            self.handle = open(self.source, "rb")  # noqa: SIM115 (closed in __exit__)
            return self.handle
        self.source.seek(0)
        return self.source

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.close()


def _check_size(handle: BinaryIO) -> None:
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    if size > settings.UPLOAD_MAX_BYTES:
        raise ImportFileError(_("The file is larger than %(max)s MB; split it into smaller files.")
                              % {"max": _mb(settings.UPLOAD_MAX_BYTES)})


# ---- CSV ----------------------------------------------------------------------------------------------


def _encoding(handle: BinaryIO) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030 (Excel in China):
    the first that decodes the whole file, decoded in chunks and thrown away (fast next to parsing it)."""
    head = handle.read(4)
    handle.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16", "utf-8", "gb18030"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := handle.read(1024 * 1024):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        finally:
            handle.seek(0)
        return encoding
    raise ImportFileError(_("The file is not readable text: save it as “CSV UTF-8” or as an Excel workbook (.xlsx)."))


def _csv_lines(text: io.TextIOBase, number: list, delimiter: str) -> Iterator[str]:
    """Physical lines, each at most MAX_CSV_LINE_CHARS: a longer one is refused before it is read whole."""
    max_columns = settings.UPLOAD_MAX_COLUMNS
    while True:
        line = text.readline(MAX_CSV_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_CSV_LINE_CHARS:
            if line.count(delimiter) >= max_columns:
                raise _too_many_columns(number[0], max_columns)
            raise ImportFileError(_("Row %(row)d is longer than %(max)s characters; is it the right file?")
                                  % {"row": number[0], "max": f"{MAX_CSV_LINE_CHARS:,}"})
        yield line


def csv_rows(source: bytes | BinaryIO, *, max_rows: int) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records of a CSV file as (record number, fields), read as a stream; the delimiter (comma,
    tab or semicolon) is the commonest one in the first line.

    Refused with ImportFileError: a file over ``UPLOAD_MAX_BYTES``, more than ``max_rows`` rows (plus
    HEADER_ROWS above them), a record over ``UPLOAD_MAX_COLUMNS`` fields, a field over MAX_CELL_CHARS
    characters, a line over MAX_CSV_LINE_CHARS."""
    handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    _check_size(handle)
    encoding = _encoding(handle)
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    try:
        first_line = text.readline(MAX_CSV_LINE_CHARS)
        delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
        text.seek(0)
        number = [1]  # the record being read, for messages about its lines
        reader = csv.reader(_csv_lines(text, number, delimiter), delimiter=delimiter)
        max_columns, kept = settings.UPLOAD_MAX_COLUMNS, 0
        limit = max_rows + HEADER_ROWS
        while True:
            try:
                fields = next(reader, None)
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise _cell_too_long(number[0])
                raise ImportFileError(_("Row %(row)d could not be read as CSV: %(reason)s")
                                      % {"row": number[0], "reason": exc})
            if fields is None:
                return
            fields = _trimmed(fields)
            if fields:
                if len(fields) > max_columns:
                    raise _too_many_columns(number[0], max_columns)
                if any(len(field) > MAX_CELL_CHARS for field in fields):
                    raise _cell_too_long(number[0])
                kept += 1
                if kept > limit:
                    raise _too_many_rows(max_rows)
                yield number[0], fields
            number[0] += 1
    finally:
        text.detach()  # the caller's file stays open


# ---- XLSX ---------------------------------------------------------------------------------------------


def _not_a_workbook() -> ImportFileError:
    return ImportFileError(_("The file could not be read as an Excel workbook (.xlsx); open it in Excel and "
                             "save it again, or save it as CSV."))


def _xml_refused(exc: Exception) -> ImportFileError:
    """The error for a part the XML parser gave up on: a DTD or entities (never in a spreadsheet: the shape of
    entity-expansion attacks) are named as such."""
    from defusedxml import DefusedXmlException

    if isinstance(exc, ImportFileError):
        return exc
    if isinstance(exc, DefusedXmlException):
        return ImportFileError(_("The workbook contains XML declarations (a DTD or entities) that spreadsheet "
                                 "programs never write; save it again from Excel, or as CSV."))
    return _not_a_workbook()


def _safe_expat():
    """An expat parser that refuses DTDs, entity declarations and external references (defusedxml), with
    namespaces resolved to ``uri}local`` names; the caller sets the element handlers."""
    from defusedxml.ElementTree import DefusedXMLParser

    parser = DefusedXMLParser(forbid_dtd=True).parser
    # The tree builder's handlers go; defusedxml's (DTD, entities, external references) stay.
    for handler in ("StartElementHandler", "EndElementHandler", "CharacterDataHandler", "DefaultHandlerExpand",
                    "StartNamespaceDeclHandler", "EndNamespaceDeclHandler", "CommentHandler",
                    "ProcessingInstructionHandler"):
        setattr(parser, handler, None)
    parser.buffer_text = True
    parser.ordered_attributes = False
    return parser


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def _attr(attrs: dict, local: str, default=None):
    """An attribute by its local name, whatever its namespace prefix (r:id)."""
    if local in attrs:
        return attrs[local]
    for key, value in attrs.items():
        if key.endswith("}" + local):
            return value
    return default


_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)$")


def _column_index(ref: str | None) -> int | None:
    """1 for "A1", 28 for "AB3", None when the reference is missing or malformed."""
    match = _CELL_REF.match(ref or "")
    if not match:
        return None
    index = 0
    for letter in match.group(1).upper():
        index = index * 26 + ord(letter) - 64
    return index


class _Workbook:
    """The parts of an XLSX package this reader needs, checked before any of them is parsed."""

    def __init__(self, handle: BinaryIO):
        self.max_unpacked = settings.UPLOAD_MAX_UNPACKED_BYTES
        self.max_ratio = settings.UPLOAD_MAX_COMPRESSION_RATIO
        self.unpacked = 0  # bytes inflated so far, in all parts
        _check_size(handle)
        self._check_part_count(handle)
        try:
            self.zip = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise _not_a_workbook()
        self._check_parts()

    @staticmethod
    def _check_part_count(handle: BinaryIO) -> None:
        # The count comes from the end record, before zipfile reads the directory it announces.
        try:
            end = zipfile._EndRecData(handle)
        except (OSError, ValueError, EOFError):
            end = None
        finally:
            handle.seek(0)
        if not end:
            raise _not_a_workbook()
        if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ZIP_PARTS:
            raise ImportFileError(_("The workbook has more than %(max)s parts, which no spreadsheet has; is it the "
                                    "right file?") % {"max": f"{MAX_ZIP_PARTS:,}"})

    def _check_parts(self) -> None:
        declared = 0
        for info in self.zip.infolist():
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _not_a_workbook()
            declared += info.file_size
            if info.file_size > RATIO_GRACE_BYTES and info.file_size > self.max_ratio * max(info.compress_size, 1):
                raise self._bomb()
        if declared > self.max_unpacked:
            raise self._too_big()

    def _bomb(self) -> ImportFileError:
        return ImportFileError(_("The file is compressed more than %(ratio)d times, which no spreadsheet is; save "
                                 "it again from Excel, or as CSV (not zipped).") % {"ratio": self.max_ratio})

    def _too_big(self) -> ImportFileError:
        return ImportFileError(_("The workbook unpacks to more than %(max)s MB; split it into smaller files, or "
                                 "save it as CSV.") % {"max": _mb(self.max_unpacked)})

    def has(self, name: str) -> bool:
        try:
            self.zip.getinfo(name)
        except KeyError:
            return False
        return True

    def chunks(self, name: str, *, limit: int | None = None) -> Iterator[bytes]:
        """A part, inflated a chunk at a time; its real size is counted against its declared size, the ratio
        and what all parts may unpack to, never trusting the header alone."""
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise _not_a_workbook()
        read = 0
        try:
            with self.zip.open(info) as part:
                while chunk := part.read(READ_CHUNK):
                    read += len(chunk)
                    self.unpacked += len(chunk)
                    if read > info.file_size:
                        raise _not_a_workbook()
                    if self.unpacked > self.max_unpacked or (limit is not None and read > limit):
                        raise self._too_big()
                    if read > RATIO_GRACE_BYTES and read > self.max_ratio * max(info.compress_size, 1):
                        raise self._bomb()
                    yield chunk
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError):
            # RuntimeError: an encrypted part; BadZipFile: a CRC that does not match (a lying header).
            raise _not_a_workbook()

    def parse(self, name: str, start=None, end=None, data=None, *, limit: int | None = None) -> None:
        """Stream a part through a safe expat parser with the given handlers (by full ``uri}local`` name)."""
        parser = _safe_expat()
        if start:
            parser.StartElementHandler = start
        if end:
            parser.EndElementHandler = end
        if data:
            parser.CharacterDataHandler = data
        try:
            for chunk in self.chunks(name, limit=limit):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except Exception as exc:  # expat errors and defusedxml's DTDForbidden, EntitiesForbidden, ...
            raise _xml_refused(exc)

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id → (type's last word, target part name)."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        found = {}
        if not self.has(rels_name):
            return found

        def start(name, attrs):
            if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
                found[attrs.get("Id", "")] = (attrs.get("Type", "").rpartition("/")[2], posixpath.normpath(target))

        self.parse(rels_name, start, limit=MAX_SMALL_PART_BYTES)
        return found


class _SharedStrings:
    """The workbook's shared strings, kept as blocks of joined text and offsets rather than as millions of
    objects: string ``i`` is in block ``i // BLOCK``, ending at ``ends[i]`` within it."""

    BLOCK = 4096

    def __init__(self):
        self.blocks, self.pending, self.ends = [], [], array.array("I")
        self.chars = self.block_chars = 0

    def add(self, text: str) -> None:
        self.chars += len(text)
        if self.chars > MAX_SHARED_STRING_CHARS or len(self.ends) >= MAX_SHARED_STRINGS:
            raise ImportFileError(_("The workbook holds more than %(strings)s texts or %(max)s characters of text; "
                                    "split it into smaller files.")
                                  % {"strings": f"{MAX_SHARED_STRINGS:,}", "max": f"{MAX_SHARED_STRING_CHARS:,}"})
        self.block_chars += len(text)
        self.pending.append(text)
        self.ends.append(self.block_chars)
        if len(self.pending) == self.BLOCK:
            self.finish()

    def finish(self) -> None:
        if self.pending:
            self.blocks.append("".join(self.pending))
            self.pending, self.block_chars = [], 0

    def __getitem__(self, index: int) -> str:
        if index < 0:
            raise IndexError(index)
        end = self.ends[index]
        start = self.ends[index - 1] if index % self.BLOCK else 0
        return self.blocks[index // self.BLOCK][start:end]

    def __len__(self) -> int:
        return len(self.ends)


def _read_shared_strings(book: _Workbook, name: str | None) -> _SharedStrings:
    strings = _SharedStrings()
    if name and book.has(name):
        state = {"phonetic": 0, "text": None, "parts": [], "chars": 0}

        def start(tag, attrs):
            local = _local(tag)
            if local == "si":
                state["parts"], state["chars"] = [], 0
            elif local == "rPh":
                state["phonetic"] += 1  # the pronunciation guide above the text, not the text
            elif local == "t" and not state["phonetic"]:
                state["text"] = state["parts"]

        def end(tag):
            local = _local(tag)
            if local == "si":
                strings.add("".join(state["parts"]))
            elif local == "rPh":
                state["phonetic"] -= 1
            elif local == "t":
                state["text"] = None

        def data(text):
            if state["text"] is not None:
                state["chars"] += len(text)
                if state["chars"] > MAX_CELL_CHARS:
                    raise _cell_too_long(None)
                state["text"].append(text)

        book.parse(name, start, end, data)
    strings.finish()
    return strings


def _date_styles(book: _Workbook, name: str | None) -> set[int]:
    """The cell styles (indexes into cellXfs) whose number format is a date or time."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    formats, styles, depth = dict(BUILTIN_FORMATS), [], {"cellXfs": 0}
    if not name or not book.has(name):
        return set()

    def start(tag, attrs):
        local = _local(tag)
        if local == "numFmt":
            try:
                formats[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
            except ValueError:
                pass
        elif local == "cellXfs":
            depth["cellXfs"] += 1
        elif local == "xf" and depth["cellXfs"]:
            styles.append(attrs.get("numFmtId", "0"))

    def end(tag):
        if _local(tag) == "cellXfs":
            depth["cellXfs"] -= 1

    book.parse(name, start, end, limit=MAX_SMALL_PART_BYTES)
    found = set()
    for index, format_id in enumerate(styles):
        try:
            code = formats.get(int(format_id), "")
        except ValueError:
            continue
        if code and is_date_format(code):
            found.add(index)
    return found


def _first_sheet(book: _Workbook) -> tuple[str, str | None, str | None, bool]:
    """(first sheet's part, shared strings' part, styles' part, 1904 date system) from the package's
    relationships and the workbook part."""
    root = book.relationships("")
    workbook = next((target for kind, target in root.values() if kind == "officeDocument"), "xl/workbook.xml")
    if not book.has(workbook):
        raise _not_a_workbook()
    rels = book.relationships(workbook)
    found = {"sheet": None, "date1904": False}

    def start(tag, attrs):
        local = _local(tag)
        if local == "sheet" and found["sheet"] is None:
            found["sheet"] = _attr(attrs, "id")
        elif local == "workbookPr":
            found["date1904"] = attrs.get("date1904", "").lower() in ("1", "true")

    book.parse(workbook, start, limit=MAX_SMALL_PART_BYTES)
    sheet = rels.get(found["sheet"] or "")
    if sheet is None or not book.has(sheet[1]):
        raise ImportFileError(_("The workbook has no sheet to read."))
    by_kind = {kind: target for kind, target in rels.values()}
    return sheet[1], by_kind.get("sharedStrings"), by_kind.get("styles"), found["date1904"]


def _number(text: str):
    text = text.strip()
    if not text:
        return None
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text


def xlsx_rows(source: Path | BinaryIO, *, max_rows: int) -> Iterator[tuple[int, list]]:
    """The non-blank rows of an XLSX workbook's first sheet as (row number, cells), cells as stored (dates as
    dates, numbers as numbers, formulas as their last computed value), read as a stream.

    Checked before the sheet is parsed: the ZIP's part count, each part's declared size and compression
    ratio, what all of them unpack to, the sheet's declared size; while reading: the real sizes, rows
    (``max_rows`` plus HEADER_ROWS), columns (``UPLOAD_MAX_COLUMNS``), characters per cell."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    with _opened(source) as handle:
        book = _Workbook(handle)
        sheet, shared_name, styles_name, date1904 = _first_sheet(book)
        dates = _date_styles(book, styles_name)
        shared = _read_shared_strings(book, shared_name)
        epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        max_columns, limit = settings.UPLOAD_MAX_COLUMNS, max_rows + HEADER_ROWS
        max_cells = limit * max_columns  # cells written in all, blank ones too: Excel writes formatted blanks
        done: list[tuple[int, list]] = []
        s = {"row": 0, "rows": 0, "kept": 0, "cells": [], "count": 0, "all_cells": 0, "column": 0, "type": "n",
             "style": 0, "text": None, "inline": False, "chars": 0, "phonetic": 0}

        def start(tag, attrs):
            local = _local(tag)
            if local == "c":
                s["count"] += 1
                s["all_cells"] += 1
                if s["count"] > EXCEL_COLUMNS:
                    raise _too_many_columns(s["row"], max_columns)
                if s["all_cells"] > max_cells:
                    raise ImportFileError(_("The sheet has more than %(max)s cells, counting empty cells with "
                                            "formatting; delete the formatted rows and columns below and to the "
                                            "right of the table, or split the file.") % {"max": f"{max_cells:,}"})
                column = _column_index(attrs.get("r"))
                s["column"] = column if column is not None else s["column"] + 1
                s["type"], s["value"], s["chars"] = attrs.get("t", "n"), [], 0
                try:
                    s["style"] = int(attrs.get("s", 0))
                except ValueError:
                    s["style"] = 0
            elif local == "v" or (local == "t" and s["inline"] and not s["phonetic"]):
                s["text"] = s["value"]
            elif local == "is":
                s["inline"] = True
            elif local == "rPh":
                s["phonetic"] += 1
            elif local == "row":
                s["rows"] += 1
                try:
                    number = int(attrs.get("r", ""))
                except ValueError:
                    number = s["row"] + 1
                if s["rows"] > EXCEL_ROWS or not 0 < number <= EXCEL_ROWS:
                    raise _not_a_workbook()
                s["row"], s["cells"], s["count"], s["column"] = number, [], 0, 0
            elif local == "dimension":
                _check_dimension(attrs.get("ref", ""), max_rows, max_columns)

        def end(tag):
            local = _local(tag)
            if local == "c":
                value = _cell_value(s["type"], "".join(s["value"]), s["style"])
                if value is not None and value != "":
                    column = s["column"]
                    if column > max_columns:
                        raise _too_many_columns(s["row"], max_columns)
                    cells = s["cells"]
                    if column > len(cells):
                        cells.extend([None] * (column - len(cells)))
                    cells[column - 1] = value
                s["text"] = None
            elif local in ("v", "t"):
                s["text"] = None
            elif local == "is":
                s["inline"] = False
            elif local == "rPh":
                s["phonetic"] -= 1
            elif local == "row":
                if s["cells"]:
                    s["kept"] += 1
                    if s["kept"] > limit:
                        raise _too_many_rows(max_rows)
                    done.append((s["row"], s["cells"]))
                s["cells"] = []

        def data(text):
            if s["text"] is not None:
                s["chars"] += len(text)
                if s["chars"] > MAX_CELL_CHARS:
                    raise _cell_too_long(s["row"])
                s["text"].append(text)

        def _cell_value(kind: str, text: str, style: int):
            if kind == "s":
                try:
                    return shared[int(text)]
                except (ValueError, IndexError):
                    raise _not_a_workbook()
            if kind in ("inlineStr", "str", "e"):
                return text
            if kind == "b":
                return text.strip() in ("1", "true")
            if kind == "d":
                try:
                    return datetime.datetime.fromisoformat(text.strip())
                except ValueError:
                    return text
            value = _number(text)
            if style in dates and isinstance(value, int | float):
                try:
                    return from_excel(value, epoch)
                except (OverflowError, ValueError):
                    return value
            return value

        parser = _safe_expat()
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
        try:
            for chunk in book.chunks(sheet):
                try:
                    parser.Parse(chunk, False)
                except Exception as exc:
                    raise _xml_refused(exc)
                yield from done
                done.clear()
            try:
                parser.Parse(b"", True)
            except Exception as exc:
                raise _xml_refused(exc)
            yield from done
        finally:
            book.zip.close()


def _check_dimension(ref: str, max_rows: int, max_columns: int) -> None:
    """Refuse a sheet whose declared size (``<dimension ref="A1:N1001"/>``) is beyond what can be read. The
    declaration may be wrong either way (some programs write A1 for any sheet), so it is only a first look:
    it refuses what claims more cells than the limits allow in all; the rows as read decide the rest."""
    first, _colon, last = ref.partition(":")
    last = last or first
    start_column, end_column = _column_index(first), _column_index(last)
    start_match, end_match = _CELL_REF.match(first), _CELL_REF.match(last)
    if None in (start_column, end_column, start_match, end_match):
        return
    rows = int(end_match.group(2)) - int(start_match.group(2)) + 1
    columns = end_column - start_column + 1
    if rows * columns > (max_rows + HEADER_ROWS) * max_columns:
        raise ImportFileError(_("The sheet says it is %(rows)s rows by %(columns)s columns (%(ref)s); a file may have "
                                "at most %(max_rows)s rows and %(max_columns)d columns. Delete the stray cells far "
                                "below or to the right, or split the file.")
                              % {"rows": f"{rows:,}", "columns": f"{columns:,}", "ref": ref,
                                 "max_rows": f"{max_rows:,}", "max_columns": max_columns})
