"""Hostile spreadsheets for the upload tests, each small on disk: built as streams, never whole in memory.

The import's column keys make the header, so each file gets as far as the reader's limits (not to "no
header row found"). XLSX parts follow what Excel writes; the sheet is the part that carries the attack.
"""

import random
import struct
import zipfile
from pathlib import Path

HEADER = ("document_number", "name", "unit_label", "start_date", "reason", "property_registration_number")

_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>")
_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="xl/workbook.xml" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    b"</Relationships>")
_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="residents" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    b"</Relationships>")
SHEET_START = (b'<?xml version="1.0" encoding="UTF-8"?>'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _inline(column: str, row: int, text: str) -> bytes:
    return f'<c r="{column}{row}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def header_row() -> bytes:
    return b'<row r="1">' + b"".join(_inline(chr(65 + i), 1, key) for i, key in enumerate(HEADER)) + b"</row>"


def xlsx(path: Path, sheet_chunks, *, dimension: str | None = None) -> Path:
    """A workbook whose first sheet is the header row and then whatever ``sheet_chunks`` yields."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _ROOT_RELS)
        package.writestr("xl/workbook.xml", _WORKBOOK)
        package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(SHEET_START)
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>" + header_row())
            for chunk in sheet_chunks:
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return path


def xlsx_compression_bomb(path: Path, *, megabytes: int = 300) -> Path:
    """A sheet of ``megabytes`` MB of identical rows, deflated more than a thousand times (the issue's 844 KB
    file unpacked to a 305 MB sheet)."""
    row = b"<row>" + b"".join(f"<c><v>{i}</v></c>".encode() for i in range(6)) + b"</row>"
    block = row * (1024 * 1024 // len(row))
    return xlsx(path, (block for _ in range(megabytes)))


def understate_sizes(path: Path, part: str = "xl/worksheets/sheet1.xml", size: int = 4000) -> Path:
    """Rewrite the ZIP's central directory so that ``part`` claims to unpack to ``size`` bytes: the ratio and
    the sizes then look harmless, and only reading the part can tell (zipfile reads sizes from there)."""
    data = bytearray(path.read_bytes())
    name, offset = part.encode(), 0
    while (central := data.find(b"PK\x01\x02", offset)) >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46:central + 46 + name_length]) == name:
            assert struct.unpack_from("<I", data, central + 24)[0] != 0xFFFFFFFF
            struct.pack_into("<I", data, central + 24, size)
        offset = central + 4
    path.write_bytes(bytes(data))
    return path


def xlsx_million_columns(path: Path, *, columns: int = 1_000_000) -> Path:
    """One data row of a million cells, each with a different number (so it hardly compresses)."""
    rng = random.Random(16384)

    def chunks():
        yield b"<row>"
        for start in range(0, columns, 10_000):
            yield b"".join(f"<c><v>{rng.randrange(10**9)}</v></c>".encode() for _ in range(10_000))
        yield b"</row>"

    return xlsx(path, chunks())


def xlsx_huge_dimension(path: Path) -> Path:
    """A small sheet that declares the whole of Excel's grid, A1:XFD1048576."""
    return xlsx(path, [b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'], dimension="A1:XFD1048576")


def xlsx_with_dtd(path: Path) -> Path:
    """The billion-laughs shape: an entity declared in a DTD and used in a cell."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _ROOT_RELS)
        package.writestr("xl/workbook.xml", _WORKBOOK)
        package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        package.writestr("xl/worksheets/sheet1.xml", (
            b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + header_row() + b'<row><c t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'))
    return path


def csv_header() -> bytes:
    return ",".join(HEADER).encode() + b"\r\n"


def csv_huge_field(path: Path, *, megabytes: int = 15) -> Path:
    """One quoted field of ``megabytes`` MB, over many short lines (each line alone looks harmless)."""
    with open(path, "wb") as out:
        out.write(csv_header() + b'110101199003071234,"')
        line = b"x" * 99 + b"\n"
        for _ in range(megabytes * 1024 * 1024 // len(line)):
            out.write(line)
        out.write(b'",101,2026-01-01,work,001-0000001\r\n')
    return path


def csv_long_line(path: Path, *, megabytes: int = 15) -> Path:
    """One line of ``megabytes`` MB with no delimiter in it."""
    with open(path, "wb") as out:
        out.write(csv_header())
        for _ in range(megabytes):
            out.write(b"y" * (1024 * 1024))
        out.write(b"\r\n")
    return path


def csv_compression_bomb(path: Path, *, megabytes: int = 300) -> Path:
    """A CSV of ``megabytes`` MB of identical rows, zipped (as mail programs and users do) and named .csv:
    the reader goes by the first bytes, not the name."""
    row = b"110101199003071234,x,101,2026-01-01,work,001-0000001\r\n"
    block = row * (1024 * 1024 // len(row))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        with package.open("residents.csv", "w") as member:
            member.write(csv_header())
            for _ in range(megabytes):
                member.write(block)
    return path


def csv_million_columns(path: Path, *, columns: int = 1_000_000) -> Path:
    with open(path, "wb") as out:
        out.write(csv_header())
        out.write(b",".join(b"1" for _ in range(columns)) + b"\r\n")
    return path


def csv_million_rows(path: Path, *, rows: int = 5_000_000) -> Path:
    with open(path, "wb") as out:
        out.write(csv_header())
        out.write(b"1\n" * rows)
    return path
