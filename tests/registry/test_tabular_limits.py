"""The CSV/XLSX reader (registry.tabular): hostile files are refused with a message naming the limit, and
ordinary files read as spreadsheet programs wrote them."""

import csv
import datetime
import io
import zipfile

import openpyxl
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import tabular
from registry.tabular import ImportFileError, cell_text, table_rows

from . import hostile_files as hostile


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _refusal(path, max_rows=100_000) -> str:
    with pytest.raises(ImportFileError) as caught:
        for _row in table_rows(path, max_rows=max_rows):
            pass
    return str(caught.value)


def test_an_xlsx_compression_bomb_is_refused_from_its_declared_sizes_before_the_sheet_is_inflated(
        tmp_path, monkeypatch):
    bomb = hostile.xlsx_compression_bomb(tmp_path / "bomb.xlsx")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    opened = []
    monkeypatch.setattr(tabular._Workbook, "chunks", lambda self, name, **kw: opened.append(name) or iter(()))
    assert "compressed more than 100 times" in _refusal(bomb)
    assert opened == []  # refused from the ZIP's directory alone


def test_a_zipped_csv_compression_bomb_named_csv_is_refused_before_it_is_inflated(tmp_path):
    bomb = hostile.csv_compression_bomb(tmp_path / "bomb.csv")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    assert "compressed more than 100 times" in _refusal(bomb)


def test_an_xlsx_whose_headers_understate_the_sheet_is_refused_while_reading_it(tmp_path):
    lying = hostile.understate_sizes(hostile.xlsx_compression_bomb(tmp_path / "lying.xlsx", megabytes=50))
    with zipfile.ZipFile(lying) as package:
        assert package.getinfo("xl/worksheets/sheet1.xml").file_size == 4000  # the header looks harmless
    assert "could not be read as an Excel workbook" in _refusal(lying)


def test_what_the_parts_unpack_to_is_capped_while_reading_whatever_they_declare(tmp_path, settings):
    settings.UPLOAD_MAX_UNPACKED_BYTES = 3 * 1024 * 1024
    rows = (f"<row><c><v>{n}</v></c></row>".encode() for n in range(400_000))  # ~10 MB, compresses 5x
    path = hostile.xlsx(tmp_path / "big.xlsx", rows)
    assert "unpacks to more than 3 MB" in _refusal(path)


def test_a_million_columns_are_refused_at_the_column_limit(tmp_path):
    assert "Row 2 has more than 100 columns" in _refusal(hostile.xlsx_million_columns(tmp_path / "wide.xlsx"))
    assert "Row 2 has more than 100 columns" in _refusal(hostile.csv_million_columns(tmp_path / "wide.csv"))


def test_a_sheet_that_declares_the_whole_grid_is_refused_before_its_rows_are_read(tmp_path):
    message = _refusal(hostile.xlsx_huge_dimension(tmp_path / "grid.xlsx"))
    assert "1,048,576 rows by 16,384 columns" in message and "at most 100,000 rows and 100 columns" in message


def test_xml_entities_are_refused(tmp_path):
    assert "a DTD or entities" in _refusal(hostile.xlsx_with_dtd(tmp_path / "laughs.xlsx"))


def test_csv_bombs_a_huge_field_a_huge_line_and_millions_of_rows_are_refused_naming_the_limit(tmp_path):
    assert "Row 2 has a cell longer than 32,767 characters" in _refusal(hostile.csv_huge_field(tmp_path / "a.csv"))
    assert "Row 2 is longer than 262,144 characters" in _refusal(hostile.csv_long_line(tmp_path / "b.csv"))
    assert "more than 100,000 rows" in _refusal(hostile.csv_million_rows(tmp_path / "c.csv"))


def test_blank_rows_do_not_count_and_rows_past_the_limit_and_a_header_allowance_are_refused():
    eleven = b"h1,h2\n" + b"a,b\n\n,,\n" * 10  # a header and 10 rows, 20 blank lines between them
    read = list(table_rows(io.BytesIO(eleven), max_rows=1))  # allowed: 1 + HEADER_ROWS non-blank rows
    assert len(read) == 11 and read[-1][0] == 2 + 3 * 9
    assert "more than 1 rows" in _refusal(io.BytesIO(eleven + b"a,b\n"), max_rows=1)


def test_a_file_over_the_upload_cap_is_refused_before_it_is_parsed(settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    assert "larger than 1 MB" in _refusal(io.BytesIO(b"a,b\n" * 300_000))


def _workbook_bytes(rows, *, epoch=None) -> bytes:
    workbook = openpyxl.Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_an_ordinary_workbook_reads_its_strings_numbers_dates_and_row_numbers():
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    rows = [["标题"], [], ["证件号码", "姓名", "出生日期", "电话", "在住"],
            ["11010119900307123X", "阿依古丽·买买提", datetime.date(1990, 3, 7), 13912345678, True],
            [None, "𠮷田", datetime.datetime(2026, 1, 2, 8, 30), 1.5, None]]
    for epoch in (None, CALENDAR_MAC_1904):
        read = list(table_rows(io.BytesIO(_workbook_bytes(rows, epoch=epoch)), max_rows=10))
        assert [number for number, _cells in read] == [1, 3, 4, 5]
        assert read[2][1] == ["11010119900307123X", "阿依古丽·买买提", datetime.datetime(1990, 3, 7), 13912345678, True]
        assert read[3][1] == [None, "𠮷田", datetime.datetime(2026, 1, 2, 8, 30), 1.5]
        assert cell_text(read[2][1][2]) == "1990-03-07"


# openpyxl writes a text that starts with "=" as a formula (with no computed value), so such texts are not
# "text as written" for the XLSX half.
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(str.strip).filter(
    lambda text: not text.startswith("="))
# The delimiter is guessed from the first line, so every file starts with a header line, as real ones do.
_HEADER = ["h1", "h2", "h3"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_text, min_size=1, max_size=6), min_size=1, max_size=8))
def test_any_grid_of_text_reads_back_as_written_from_xlsx_and_csv(grid):
    grid = [_HEADER, *grid]
    expected = [(number, tabular._trimmed([cell or None for cell in row]))
                for number, row in enumerate(grid, start=1) if any(row)]
    from_xlsx = list(table_rows(io.BytesIO(_workbook_bytes(grid)), max_rows=100))
    assert from_xlsx == expected
    out = io.StringIO()
    csv.writer(out).writerows(grid)
    from_csv = [(number, [cell or None for cell in cells])
                for number, cells in table_rows(io.BytesIO(out.getvalue().encode()), max_rows=100)]
    assert from_csv == expected
