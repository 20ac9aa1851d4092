"""The resident import's columns, and reading a stored upload into rows of them.

``COLUMNS`` is the reference of docs/import.md: each column's key, its label, and the names offices give it;
``header_aliases`` knows all of them in every language. ``read_sheet`` finds the header row with them and
returns the data rows as ``ImportRow``s, which ``housing.import_rows`` understands and checks. Reading the
file itself (CSV or XLSX, any encoding Excel writes) is ``registry.tabular``'s.
"""

import datetime
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.tabular import ImportFileError, cell_text, normal_header, table_rows

MAX_ROWS = 100_000


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    aliases: tuple[str, ...] = ()
    help: object = ""
    required: bool = False


COLUMNS = (
    Column("document_type", gettext_lazy("Document type"), ("证件类型", "证件种类"),
           gettext_lazy("resident_id (when blank), hkmt_permit, foreign_permanent_id or passport, "
                        "or the document's name, e.g. 居民身份证, 护照.")),
    Column("document_number", gettext_lazy("Document number"),
           ("证件号码", "证件号", "身份证号", "身份证号码", "公民身份号码"),
           gettext_lazy("Format this column as text in Excel: as a number it loses its last digits."), True),
    Column("document_country", gettext_lazy("Issuing country"), ("签发国家", "签发国", "国籍"),
           gettext_lazy("Passports only: the three-letter code printed in the passport, e.g. KOR.")),
    Column("name", gettext_lazy("Name"), ("姓名",), gettext_lazy("As on the document."), True),
    Column("sex", gettext_lazy("Sex"), ("性别",),
           gettext_lazy("M or F (男 or 女); may be blank for ID numbers, which carry it.")),
    Column("birth_date", gettext_lazy("Date of birth"), ("出生日期", "出生年月日"),
           gettext_lazy("YYYY-MM-DD; may be blank for ID numbers, which carry it.")),
    Column("phone", gettext_lazy("Phone"), ("电话", "手机", "手机号", "手机号码", "联系方式"),
           gettext_lazy("Mobile (11 digits) or landline with area code.")),
    Column("hukou_address", gettext_lazy("Place of household registration"), ("户籍地址", "户籍所在地", "户籍"), ""),
    Column("occupation", gettext_lazy("Occupation"), ("职业", "工作"), ""),
    Column("property_registration_number", gettext_lazy("Property registration number"),
           ("房屋编号", "房屋登记号", "房屋登记编号", "登记编号"),
           gettext_lazy("As shown on the property's page; or leave blank and give the address.")),
    Column("property_address", gettext_lazy("Property address"), ("房屋地址", "出租房屋地址", "地址", "住址"),
           gettext_lazy("Exactly as registered; used when there is no registration number.")),
    Column("unit_label", gettext_lazy("Unit"), ("房间号", "房号", "单元", "房屋单元"),
           gettext_lazy("The room or flat, exactly as registered for the property, e.g. 101室."), True),
    Column("start_date", gettext_lazy("Moved in on"), ("入住时间", "居住起始日期", "起始日期", "来本地日期"),
           gettext_lazy("YYYY-MM-DD, not in the future."), True),
    Column("reason", gettext_lazy("Reason for living here"), ("事由", "暂住事由", "居住原因"),
           gettext_lazy("work, business, study, family, medical or other, or 务工, 经商, 就学, 投亲靠友, 就医, 其他."),
           True),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
COLUMN_LABELS = {column.key: column.label for column in COLUMNS}


# ---- reading a file ---------------------------------------------------------------------------------


@dataclass
class ImportRow:
    """One data row: its number in the file (the header is row 1), its cells by column, what was understood."""

    number: int
    cells: dict
    errors: list = field(default_factory=list)  # [(column key, message)]
    identity: dict = field(default_factory=dict)
    document_key: str = ""
    registration_number: str = ""
    address: str = ""
    unit_label: str = ""
    start_date: datetime.date | None = None
    reason: str = ""

    def text(self, key: str) -> str:
        return cell_text(self.cells.get(key))

    def add_error(self, key: str, message) -> None:
        if not any(existing == key for existing, _message in self.errors) or not key:
            self.errors.append((key, str(message)))

    def has_error(self, key: str) -> bool:
        return any(existing == key for existing, _message in self.errors)


@dataclass
class Sheet:
    rows: list[ImportRow]
    headers: dict  # column key → the header as written in the file
    ignored: list[str]


def labels_in_every_language(label) -> set[str]:
    names = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.add(str(label))
    return names


@lru_cache(maxsize=1)
def header_aliases() -> dict[str, str]:
    """Normalised header text → column key: the key, its label in every language, common Chinese names."""
    aliases = {}
    for column in COLUMNS:
        for name in {column.key, *column.aliases, *labels_in_every_language(column.label)}:
            aliases.setdefault(normal_header(name), column.key)
    return aliases


def read_sheet(path: Path) -> Sheet:
    """Read a stored upload: find the header row, map its columns, and return the data rows. The file is read
    as a stream under the upload limits (``registry.tabular``); only the mapped cells of each row are kept."""
    with closing(table_rows(path, max_rows=MAX_ROWS)) as raw_rows:
        return _sheet(raw_rows)


def _sheet(raw_rows) -> Sheet:
    aliases = header_aliases()
    # A title line above the header ("某某派出所流动人口登记表") is allowed: the header is the first
    # of the first ten rows that names at least two known columns.
    header = None
    for _number, raw in islice(raw_rows, 10):
        if sum(1 for cell in raw if aliases.get(normal_header(cell))) >= 2:
            header = raw
            break
    if header is None:
        raise ImportFileError(_("No header row found: the first row must name the columns, e.g. document_number, "
                                "name, unit_label. Download the template to see them."))
    keys = [aliases.get(normal_header(cell)) for cell in header]
    positions, headers, ignored = {}, {}, []
    for position, (cell, key) in enumerate(zip(header, keys, strict=True)):
        title = cell_text(cell)
        if key is None:
            if title:
                ignored.append(title)
            continue
        if key in positions:
            raise ImportFileError(_("Two columns mean the same thing: “%(first)s” and “%(second)s”. Keep one.")
                                  % {"first": headers[key], "second": title})
        positions[key], headers[key] = position, title
    missing = [key for key in COLUMN_KEYS if _column(key).required and key not in positions]
    if "property_registration_number" not in positions and "property_address" not in positions:
        missing.append("property_registration_number")
    if missing:
        raise ImportFileError(_("Columns missing: %(columns)s. Download the template to see every column.")
                              % {"columns": ", ".join(missing)})
    rows = []
    for number, raw in raw_rows:
        cells = {key: raw[position] if position < len(raw) else None for key, position in positions.items()}
        if all(cell_text(value) == "" for value in cells.values()):
            continue
        rows.append(ImportRow(number=number, cells=cells))
        if len(rows) > MAX_ROWS:
            raise ImportFileError(_("The file has more than %(max)s rows; split it into smaller files.")
                                  % {"max": f"{MAX_ROWS:,}"})
    if not rows:
        raise ImportFileError(_("The file has a header row but no residents below it."))
    return Sheet(rows=rows, headers=headers, ignored=ignored)


def _column(key: str) -> Column:
    return next(column for column in COLUMNS if column.key == key)
