"""Import residents with their unit from a CSV or XLSX file: upload, dry run, confirm, import.

Every row goes through the rules the desk form and the API use: the identity validators and
``Person.clean_values()`` for the person, the user's scope for the unit, and the registration service
(``registrations_check`` / ``registrations_apply``, which ``person_register`` calls for one entry) for the
registration itself. The dry run runs the service's check, which writes nothing, so it reports exactly
what the import would refuse; the import checks again and writes the confirmed rows in chunks of a
thousand, in one transaction: all of them or none. Tasks (``housing.tasks``) and views
(``housing.views_import``) only call the functions here. The column reference is docs/import.md.
"""

import codecs
import csv
import datetime
import gc
import hashlib
import io
import logging
import os
import re
import time
import unicodedata
import uuid
import zipfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.iso7064 import mod_11_2

from persons.choices import DocumentTypeChoices, SexChoices
from persons.models import Person
from persons.validators import document_birth_date, document_sex, normalize_document_number, validate_document
from registry.bulk import copies_in_background
from registry.scoping import scope_for

from .models import (
    ImportJob,
    ImportStatusChoices,
    Property,
    ResidenceReasonChoices,
    ResidenceSourceChoices,
    Unit,
)
from .services import Registration, registrations_apply, registrations_check

logger = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
# The page and the job row keep this many problems; every bad row is still left out of the import.
MAX_REPORTED_ERRORS = 5_000
# Rows checked and written together: a fixed number of queries each (see registrations_check).
CHUNK = 1000
EXTENSIONS = (".csv", ".txt", ".xlsx")
PERMISSION = "housing.add_residence"

# Outcomes of one row, and the keys of the dry run's expectation and the final report.
CREATED, MOVED, RETURNING, UNCHANGED = "created_persons", "moved_persons", "returning_persons", "unchanged"


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
# Where a service or model error lands in the report: its field, or the column the user has to fix.
_ERROR_COLUMNS = {"unit": "unit_label", "person": "document_number", "end_date": "start_date",
                  "registered_station": "", NON_FIELD_ERRORS: ""}

_EXTRA_VALUES = {
    "document_type": {"身份证": "resident_id", "二代身份证": "resident_id", "id": "resident_id",
                      "idcard": "resident_id", "港澳台居住证": "hkmt_permit", "永居证": "foreign_permanent_id",
                      "外国人永久居留证": "foreign_permanent_id"},
    "sex": {"男性": "M", "女性": "F"},
    "reason": {"工作": "work", "打工": "work", "做生意": "business", "学习": "study", "上学": "study",
               "投亲": "family", "家庭": "family", "随迁": "family", "医疗": "medical", "其它": "other"},
}
_CHOICES = {"document_type": DocumentTypeChoices, "sex": SexChoices, "reason": ResidenceReasonChoices}
_SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})(\d{2})(\d{2})")
_MIDNIGHT = re.compile(r"[ T]0?0:00(:00(\.0+)?)?$")


class ImportFileError(Exception):
    """The file as a whole cannot be used (unreadable, no header, columns missing): no row is checked."""


class RowFailed(Exception):
    """A confirmed row was refused at import time: the whole import is rolled back."""


# ---- files on disk --------------------------------------------------------------------------------


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_path(job: ImportJob) -> Path:
    return imports_dir() / job.stored_name


def _progress_path(job: ImportJob) -> Path:
    return imports_dir() / f"{Path(job.stored_name).stem}.progress"


def _remove_files(job: ImportJob) -> None:
    for path in (job_path(job), _progress_path(job)):
        path.unlink(missing_ok=True)


class Progress:
    """Rows done out of rows to do, in a small file beside the upload.

    The import runs in one transaction, so nothing it writes to the job row is visible before it
    commits; the page reads this file instead (web and worker share ``VAR_DIR/imports`` anyway,
    since the worker reads the uploaded file from there).
    """

    interval = 0.5  # seconds between writes

    def __init__(self, job: ImportJob, total: int):
        self.path, self.total, self.written_at = _progress_path(job), total, 0.0
        self.update(0, force=True)

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.written_at < self.interval:
            return
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(f"{done} {self.total}")
        os.replace(temporary, self.path)
        self.written_at = now

    @staticmethod
    def read(job: ImportJob) -> tuple[int, int]:
        try:
            done, total = (int(n) for n in _progress_path(job).read_text().split())
        except (OSError, ValueError):
            return job.progress_done, job.progress_total
        return done, total


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


def _normal_header(text) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).lstrip("\ufeff")
    text = re.sub(r"\(.*?\)", "", text)  # 出生日期(YYYY-MM-DD)
    return re.sub(r"[\s_\-*:]+", "", text).lower()


def _normal_value(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _labels_in_every_language(label) -> set[str]:
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
        for name in {column.key, *column.aliases, *_labels_in_every_language(column.label)}:
            aliases.setdefault(_normal_header(name), column.key)
    return aliases


@lru_cache(maxsize=4)
def value_aliases(key: str) -> dict[str, str]:
    """Normalised text → choice value, for a choice column: the value, its label in every language, synonyms."""
    aliases = {}
    for value, label in _CHOICES[key].choices:
        for name in {value, *_labels_in_every_language(label)}:
            aliases[_normal_value(name)] = value
    for name, value in _EXTRA_VALUES.get(key, {}).items():
        aliases.setdefault(_normal_value(name), value)
    return aliases


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


def _csv_rows(data: bytes) -> list[list]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _xlsx_rows(path: Path) -> list[list]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError):
        raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx); open it in Excel and "
                                "save it again, or save it as CSV."))
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write a wrong sheet size; read every row there is
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if len(rows) > MAX_ROWS + 20:
                break
        return rows
    finally:
        workbook.close()


def read_sheet(path: Path) -> Sheet:
    """Read a stored upload: find the header row, map its columns, and return the data rows."""
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"PK\x03\x04"):
        raw_rows = _xlsx_rows(path)
    elif magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("This is an old Excel file (.xls): save it as .xlsx or as CSV, then upload it again."))
    else:
        raw_rows = _csv_rows(path.read_bytes())
    aliases = header_aliases()
    # A title line above the header ("某某派出所流动人口登记表") is allowed: the header is the first
    # of the first ten rows that names at least two known columns.
    header_index = next((index for index, raw in enumerate(raw_rows[:10])
                         if sum(1 for cell in raw if aliases.get(_normal_header(cell))) >= 2), None)
    if header_index is None:
        raise ImportFileError(_("No header row found: the first row must name the columns, e.g. document_number, "
                                "name, unit_label. Download the template to see them."))
    header = raw_rows[header_index]
    keys = [aliases.get(_normal_header(cell)) for cell in header]
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
    for number, raw in enumerate(raw_rows[header_index + 1:], start=header_index + 2):
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


# ---- understanding a row ------------------------------------------------------------------------------


def _label(key: str) -> str:
    return str(COLUMN_LABELS[key])


def _required(row: ImportRow, key: str) -> None:
    row.add_error(key, _("%(label)s: this field is required.") % {"label": _label(key)})


def _choice(row: ImportRow, key: str) -> str:
    text = row.text(key)
    if not text:
        return ""
    value = value_aliases(key).get(_normal_value(text))
    if value is None:
        accepted = ", ".join(f"{value} ({label})" for value, label in _CHOICES[key].choices)
        row.add_error(key, _("%(label)s: “%(value)s” is not one of %(accepted)s.")
                      % {"label": _label(key), "value": text, "accepted": accepted})
        return ""
    return value


def parse_date(value) -> datetime.date | None:
    """A date from an Excel date cell or text: 2026-03-05, 2026/3/5, 2026.03.05, 2026年3月5日 or 20260305."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _MIDNIGHT.sub("", cell_text(value))
    match = _DATE.fullmatch(text)
    if not match:
        raise ValueError(text)
    year, month, day = (int(part) for part in (match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)))
    return datetime.date(year, month, day)


def _date(row: ImportRow, key: str) -> datetime.date | None:
    if not row.text(key):
        return None
    try:
        return parse_date(row.cells[key])
    except ValueError:
        row.add_error(key, _("%(label)s: “%(value)s” is not a date; use YYYY-MM-DD, e.g. 2026-03-05.")
                      % {"label": _label(key), "value": row.text(key)})
        return None


def parse_row(row: ImportRow, *, checked: bool = False) -> None:
    """Turn the cells into the service's arguments; problems a cell has on its own go to ``row.errors``.
    ``checked``: the dry run found the row valid (the import re-reads the same bytes), so an ID number's date
    of birth and sex are read from it without validating it first; ``check_person`` validates it anyway."""
    document_type = _choice(row, "document_type") or (
        "" if row.has_error("document_type") else DocumentTypeChoices.RESIDENT_ID)
    raw_number = row.cells.get("document_number")
    number = normalize_document_number(row.text("document_number"))
    if isinstance(raw_number, float) or _SCIENTIFIC.fullmatch(number):
        row.add_error("document_number", _(
            "Document number: Excel stored it as a number and dropped its last digits; format the column as "
            "text and type the number again."))
    elif not number:
        _required(row, "document_number")
    country = row.text("document_country").upper() if document_type == DocumentTypeChoices.PASSPORT else ""
    sex = _choice(row, "sex")
    birth_date = _date(row, "birth_date")
    if document_type and document_type != DocumentTypeChoices.PASSPORT and not row.has_error("document_number"):
        # ID numbers carry the date of birth and the sex; Person.clean() checks any that were given.
        try:
            valid_number = number if checked else validate_document(document_type, number)
            document_birth_date(document_type, valid_number)
        except (ValidationError, ValueError):
            pass  # reported by Person.clean() with the validator's reason
        else:
            birth_date = birth_date or (None if row.has_error("birth_date")
                                        else document_birth_date(document_type, valid_number))
            sex = sex or (None if row.has_error("sex") else document_sex(document_type, valid_number))
    elif document_type == DocumentTypeChoices.PASSPORT:
        for key, value in (("sex", sex), ("birth_date", birth_date)):
            if not value and not row.has_error(key):
                _required(row, key)
    row.identity = {
        "document_type": document_type, "document_country": country, "document_number": number,
        "name": row.text("name"), "sex": sex or "", "birth_date": birth_date, "phone": row.text("phone"),
        "hukou_address": row.text("hukou_address"), "occupation": row.text("occupation"),
    }
    if document_type and number:
        row.document_key = Person.document_key(document_type, number, country)
    row.registration_number = row.text("property_registration_number")
    row.address = re.sub(r"\s+", " ", row.text("property_address"))
    if not (row.registration_number or row.address):
        row.add_error("property_registration_number", _(
            "Property: give the property registration number or the property address."))
    row.unit_label = row.text("unit_label")
    if not row.unit_label:
        _required(row, "unit_label")
    row.start_date = _date(row, "start_date")
    if row.start_date is None and not row.has_error("start_date"):
        _required(row, "start_date")
    row.reason = _choice(row, "reason")
    if not row.reason and not row.has_error("reason"):
        _required(row, "reason")


def mark_duplicates(rows: list[ImportRow]) -> None:
    """One person, one row: every row of a document that appears twice is an error."""
    by_key = defaultdict(list)
    for row in rows:
        if row.document_key:
            by_key[row.document_key].append(row.number)
    for row in rows:
        others = [n for n in by_key.get(row.document_key, ()) if n != row.number]
        if others:
            row.add_error("document_number", _(
                "Document number: the same person is also on row %(rows)s of this file; keep one row per person.")
                % {"rows": ", ".join(str(n) for n in others[:5])})


def _add_validation_error(row: ImportRow, exc: ValidationError, *, prefix_fields: bool = False) -> None:
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            row.add_error("", message)
        return
    for key, errors in exc.error_dict.items():
        column = _ERROR_COLUMNS.get(key, key)
        for message in ValidationError(errors).messages:
            if prefix_fields and column in COLUMN_LABELS:
                message = _("%(label)s: %(message)s") % {"label": _label(column), "message": message}
            row.add_error(column, message)


def check_person(row: ImportRow) -> Person:
    """The person's fields through the model's own rules (``Person.clean_values()``), as the desk form and API
    do. For a person already known the service only fills in what is blank, so this is where a bad phone
    is caught; whether the number is already registered is the service's question (``registrations_check``).
    """
    given = {key: value for key, value in row.identity.items() if value not in (None, "")}
    person = Person(**given)
    skip = [key for key in row.identity if key not in given or row.has_error(key)] + ["registered_station"]
    try:
        person.clean_fields(exclude=skip)
    except ValidationError as exc:
        _add_validation_error(row, exc, prefix_fields=True)
    try:
        person.clean_values()
    except ValidationError as exc:
        _add_validation_error(row, exc)
    for key in ("document_number", "document_country", "name", "phone"):
        if row.identity[key]:
            row.identity[key] = getattr(person, key)  # normalised, as the model stores it
    return person


def checked_person(row: ImportRow) -> Person:
    """The person of a row the dry run accepted, for the import: it re-reads the same bytes (SHA-256), so
    ``check_person``'s rules hold; only what they normalise is applied (``normalise_checked``). Should a value
    not pass even that, the row goes through ``check_person`` and is refused with its reason."""
    person = Person(**{key: value for key, value in row.identity.items() if value not in (None, "")})
    try:
        person.normalise_checked()
    except ValidationError:
        return check_person(row)
    for key in ("document_number", "document_country", "name", "phone"):
        if row.identity[key]:
            row.identity[key] = getattr(person, key)
    return person


class UnitFinder:
    """Units by property registration number or address and unit label, only inside the user's scope.

    ``prefetch`` looks up every property and unit a batch of rows names in a few queries. Outside the
    scope a property does not exist: its row gets the same message as a made-up one.
    """

    def __init__(self, user):
        self.properties = Property.objects.visible_to(user)
        self._by_number, self._by_address, self._units = {}, {}, {}

    def prefetch(self, rows: list[ImportRow]) -> None:
        numbers = sorted({row.registration_number for row in rows if row.registration_number} - set(self._by_number))
        addresses = sorted({row.address for row in rows if row.address and not row.registration_number}
                           - set(self._by_address))
        found = []
        for chunk in _chunks(numbers):
            found += self.properties.filter(registration_number__in=chunk)
        for chunk in _chunks(addresses):
            found += self.properties.filter(address__in=chunk)
        self._by_number.update(dict.fromkeys(numbers))
        for address in addresses:
            self._by_address[address] = []
        for prop in found:
            if prop.registration_number in self._by_number:
                self._by_number[prop.registration_number] = prop
            if prop.address in self._by_address and prop not in self._by_address[prop.address]:
                self._by_address[prop.address].append(prop)
        props = {prop.pk: prop for prop in found}
        for chunk in _chunks(sorted(props)):
            for unit in Unit.objects.filter(property_id__in=chunk):
                unit.property = props[unit.property_id]
                self._units[(unit.property_id, unit.label)] = unit

    def find(self, row: ImportRow) -> Unit | None:
        prop = self._property(row)
        if prop is None:
            return None
        unit = self._units.get((prop.pk, row.unit_label))
        if unit is None:
            row.add_error("unit_label", _("Unit: property %(property)s (%(address)s) has no unit “%(unit)s”.")
                          % {"property": prop.registration_number, "address": prop.address, "unit": row.unit_label})
        return unit

    def _property(self, row: ImportRow) -> Property | None:
        if row.registration_number:
            number = row.registration_number
            prop = self._by_number.get(number)
            if prop is None:
                row.add_error("property_registration_number", _(
                    "Property registration number: no property “%(number)s” in your area.") % {"number": number})
            elif row.address and re.sub(r"\s+", " ", prop.address) != row.address:
                row.add_error("property_address", _(
                    "Property address: does not match property %(number)s, which is at “%(address)s”.")
                    % {"number": number, "address": prop.address})
                return None
            return prop
        found = self._by_address.get(row.address, [])
        if not found:
            row.add_error("property_address", _(
                "Property address: no property at “%(address)s” in your area; check it against the property's "
                "page, or give the registration number.") % {"address": row.address})
            return None
        if len(found) > 1:
            row.add_error("property_address", _(
                "Property address: more than one property in your area has this address; give the property "
                "registration number instead."))
            return None
        return found[0]


@contextmanager
def _without_cycle_collector():
    """Pause Python's cycle collector while a file is checked or imported: with 100,000 rows' objects alive,
    its full passes cost ~15% of the run (measured), and an import leaves next to no cycles behind."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(items: list, size: int = 1000):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def row_entries(rows: list[ImportRow], finder: UnitFinder, *, checked: bool = False
                ) -> list[tuple[ImportRow, Registration]]:
    """What can be said about a batch of rows on their own: cells, units, the person's fields (``checked``:
    rows the dry run accepted, see ``checked_person``). Returns the rows without a problem so far, each with
    its registration for the service."""
    finder.prefetch(rows)
    pending = []
    for row in rows:
        unit = None if row.has_error("property_registration_number") else finder.find(row)
        person = (checked_person(row) if checked else check_person(row)) if row.identity["document_type"] else None
        if not row.errors:
            # The person's fields were just checked by the model's own rules: the service need not again.
            pending.append((row, Registration(identity=row.identity, unit=unit, start_date=row.start_date,
                                              reason=row.reason, unchanged_ok=True, new_person=person)))
    return pending


def _entry_errors(pairs: list[tuple[ImportRow, Registration]]) -> list[tuple[ImportRow, Registration]]:
    """Copy the service's verdict onto the rows; returns the pairs it accepted."""
    good = []
    for row, entry in pairs:
        if entry.errors:
            _add_validation_error(row, ValidationError(entry.errors))
        else:
            good.append((row, entry))
    return good


def check_rows(rows: list[ImportRow], finder: UnitFinder) -> list[tuple[ImportRow, Registration]]:
    """Everything that can be said about a batch of rows without writing, ending with the registration
    service's own check (``registrations_check``). Returns the good rows with their registrations."""
    pending = row_entries(rows, finder)
    registrations_check([entry for _row, entry in pending])
    return _entry_errors(pending)


def outcome(entry: Registration) -> str:
    if entry.unchanged:
        return UNCHANGED  # re-importing a file changes nothing
    if entry.person is None or entry.person is entry.new_person:  # new, before or after the write
        return CREATED
    return MOVED if entry.current is not None else RETURNING


def _report(outcomes: Counter) -> dict:
    return {"created_persons": outcomes[CREATED], "moved_persons": outcomes[MOVED],
            "new_residences": outcomes[CREATED] + outcomes[MOVED] + outcomes[RETURNING],
            "unchanged": outcomes[UNCHANGED]}


# ---- the flow: upload, dry run, confirm, import -----------------------------------------------------


def check_file_upload(upload) -> str:
    """Preconditions for storing an upload; returns its lower-case extension."""
    extension = Path(upload.name or "").suffix.lower()
    if extension not in EXTENSIONS:
        raise ValidationError({"file": _("File: upload a CSV file or an Excel workbook (.xlsx).")})
    if not upload.size:
        raise ValidationError({"file": _("File: the file is empty.")})
    if upload.size > MAX_BYTES:
        raise ValidationError({"file": _("File: at most %(max)d MB; split the file into smaller ones.")
                               % {"max": MAX_BYTES // (1024 * 1024)}})
    return extension


@transaction.atomic
def import_job_create(*, user, upload, language: str) -> ImportJob:
    """Store an upload under ``VAR_DIR/imports`` and queue its dry run."""
    from .tasks import import_validate_task

    extension = check_file_upload(upload).replace(".txt", ".csv")
    stored_name = f"{uuid.uuid4().hex}{extension}"
    digest = hashlib.sha256()
    path = imports_dir() / stored_name
    with open(path, "wb") as handle:
        for chunk in upload.chunks():
            digest.update(chunk)
            handle.write(chunk)
    path.chmod(0o600)
    stations = scope_for(user).station_ids or ()
    job = ImportJob.objects.create(
        user=user, station_id=next(iter(stations)) if len(stations) == 1 else None,
        filename=Path(upload.name).name[:255], stored_name=stored_name, sha256=digest.hexdigest(),
        size=upload.size, language=language,
    )
    transaction.on_commit(lambda: import_validate_task.delay(job.pk, language))
    return job


def import_job_confirm(*, job: ImportJob, language: str) -> bool:
    """The user confirms importing the valid rows; queue the import once (a second click changes nothing)."""
    from .tasks import import_commit_task

    confirmed = ImportJob.objects.filter(pk=job.pk, status=ImportStatusChoices.VALIDATED, confirmed_at__isnull=True,
                                         valid_rows__gt=0).update(confirmed_at=timezone.now(), language=language)
    if confirmed:
        transaction.on_commit(lambda: import_commit_task.delay(job.pk, language))
    return bool(confirmed)


def _fail(job: ImportJob, reason: str) -> None:
    job.status, job.failure_reason, job.finished_at = ImportStatusChoices.FAILED, reason, timezone.now()
    job.save(update_fields=["status", "failure_reason", "finished_at"])
    _remove_files(job)


def _claim(job_id: int, *, before: str, during: str) -> ImportJob | None:
    """Take the job for this worker with a conditional UPDATE; None if another worker has it, or it is gone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=before).update(status=during, started_at=timezone.now())
    if claimed != 1:
        return None
    return ImportJob.objects.select_related("user").get(pk=job_id)


def _user_may_import(job: ImportJob) -> bool:
    user = job.user
    return user is not None and user.is_active and user.has_perm(PERMISSION)


def import_validate(job_id: int) -> ImportJob | None:
    """The dry run: check every row, the way the import will, and write nothing. Returns the job, or None
    if it was not waiting for a check (already checked, or taken by another worker)."""
    job = _claim(job_id, before=ImportStatusChoices.UPLOADED, during=ImportStatusChoices.VALIDATING)
    if job is None:
        return None
    if not _user_may_import(job):
        _fail(job, _("The uploader may no longer import residents."))
        return job
    try:
        with _without_cycle_collector():
            sheet = read_sheet(job_path(job))
            errors, bad_rows, outcomes = _dry_run(job, sheet)
    except ImportFileError as exc:
        _fail(job, str(exc))
        return job
    except SoftTimeLimitExceeded:
        _fail(job, _("The check took longer than allowed; split the file into smaller ones."))
        return job
    except DatabaseError:
        logger.exception("import %s: the database refused the check", job.pk)
        _fail(job, _("The database was busy (perhaps with another import) and the check stopped; nothing was "
                     "saved. Upload the file again in a few minutes."))
        return job
    except Exception:
        logger.exception("import %s: the check stopped", job.pk)
        _fail(job, _("The check stopped because of an unexpected error; the administrator can find it in the "
                     "log. Try again later."))
        return job
    job.status, job.validated_at = ImportStatusChoices.VALIDATED, timezone.now()
    job.total_rows, job.error_rows = len(sheet.rows), len(bad_rows)
    job.valid_rows = job.total_rows - job.error_rows
    job.errors, job.bad_rows = errors[:MAX_REPORTED_ERRORS], sorted(bad_rows)
    job.ignored_columns, job.expected = sheet.ignored, _report(outcomes)
    job.progress_done = job.progress_total = job.total_rows
    job.save(update_fields=["status", "validated_at", "total_rows", "error_rows", "valid_rows", "errors",
                            "bad_rows", "ignored_columns", "expected", "progress_done", "progress_total"])
    return job


def _dry_run(job: ImportJob, sheet: Sheet) -> tuple[list, set, Counter]:
    rows = sheet.rows
    finder, outcomes, progress = UnitFinder(job.user), Counter(), Progress(job, len(rows))
    for row in rows:
        parse_row(row)
    mark_duplicates(rows)
    # The registration service decides, without writing; a fixed number of queries per chunk of rows.
    for first in range(0, len(rows), CHUNK):
        for _row, entry in check_rows(rows[first:first + CHUNK], finder):
            outcomes[outcome(entry)] += 1
        progress.update(min(first + CHUNK, len(rows)))
    progress.update(len(rows), force=True)
    errors = [{"row": row.number, "field": key, "column": sheet.headers.get(key, key), "message": message}
              for row in rows for key, message in row.errors]
    return errors, {row.number for row in rows if row.errors}, outcomes


def _settle_change_feed() -> None:
    # Two feed entries per row: numbered in the background, not by the next reader of the feed.
    from registry.tasks import changes_settle_task

    changes_settle_task.delay()


def import_commit(job_id: int) -> ImportJob | None:
    """Import the rows the dry run found valid, in one transaction: all of them or none."""
    job = _claim(job_id, before=ImportStatusChoices.VALIDATED, during=ImportStatusChoices.IMPORTING)
    if job is None:
        return None
    if not _user_may_import(job):
        _fail(job, _("The uploader may no longer import residents."))
        return job
    try:
        _check_unchanged_file(job)
        with _without_cycle_collector():
            sheet = read_sheet(job_path(job))
        bad_rows = set(job.bad_rows)
        rows = [row for row in sheet.rows if row.number not in bad_rows]
        with transaction.atomic(), _without_cycle_collector():
            outcomes = _import_rows(job, rows)
            job.status, job.finished_at = ImportStatusChoices.DONE, timezone.now()
            job.result = _report(outcomes)
            job.progress_done = job.progress_total = len(rows)
            job.save(update_fields=["status", "finished_at", "result", "progress_done", "progress_total"])
            transaction.on_commit(lambda: _remove_files(job))
            transaction.on_commit(_settle_change_feed)
    except (ImportFileError, RowFailed) as exc:
        _fail(job, str(exc))
    except SoftTimeLimitExceeded:
        _fail(job, _("The import took longer than allowed, so nothing was imported; split the file into "
                     "smaller ones."))
    except DatabaseError:
        logger.exception("import %s: the database refused the import", job.pk)
        _fail(job, _("The database refused the import (another change touched the same records at the same "
                     "time). Nothing was imported; upload the file again."))
    except Exception:
        logger.exception("import %s: the import stopped", job.pk)
        _fail(job, _("The import stopped because of an unexpected error; nothing was imported. The administrator "
                     "can find the error in the log."))
    return job


def _check_unchanged_file(job: ImportJob) -> None:
    digest = hashlib.sha256()
    try:
        with open(job_path(job), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        raise ImportFileError(_("The uploaded file is no longer stored; upload it again."))
    if digest.hexdigest() != job.sha256:
        raise ImportFileError(_("The stored file changed after it was checked; upload it again."))


def _import_rows(job: ImportJob, rows: list[ImportRow]) -> Counter:
    finder, progress, decided = UnitFinder(job.user), Progress(job, len(rows)), []
    for row in rows:
        parse_row(row, checked=True)
    mark_duplicates(rows)
    for first in range(0, len(rows), CHUNK):  # units first: a query would wait for the COPYs below
        finder.prefetch(rows[first:first + CHUNK])
    with copies_in_background():  # PostgreSQL writes a chunk while the next one is checked
        for first in range(0, len(rows), CHUNK):
            chunk = rows[first:first + CHUNK]
            pending = row_entries(chunk, finder, checked=True)
            entries = [entry for _row, entry in pending]
            if len(pending) == len(chunk):
                try:  # the service checks each entry again, under locks, before it writes
                    registrations_apply(entries, source=ResidenceSourceChoices.IMPORT, actor=job.user)
                except ValidationError:
                    _entry_errors(pending)
            refused = next((row for row in chunk if row.errors), None)
            decided += [outcome(entry) for entry in entries]
            if refused is not None:
                raise RowFailed(_("Row %(row)d was refused, so nothing was imported: %(message)s Check the file "
                                  "again (upload it once more).")
                                % {"row": refused.number, "message": refused.errors[0][1]})
            progress.update(first + len(chunk))
    progress.update(len(rows), force=True)
    return Counter(decided)


def imports_tidy(*, now=None, keep_days: int = 7, stuck_after: datetime.timedelta | None = None) -> int:
    """Close uploads nobody confirmed within ``keep_days`` and jobs a dead worker left running, and delete
    stored files no job needs any more. Returns how many jobs were closed."""
    now = now or timezone.now()
    stuck_after = stuck_after or datetime.timedelta(hours=2)
    waiting = [ImportStatusChoices.UPLOADED, ImportStatusChoices.VALIDATED]
    running = [ImportStatusChoices.VALIDATING, ImportStatusChoices.IMPORTING]
    closed = 0
    for job in ImportJob.objects.filter(
            Q(status__in=waiting, created_at__lt=now - datetime.timedelta(days=keep_days))
            | Q(status__in=running, started_at__lt=now - stuck_after)):
        with translation.override(job.language or settings.LANGUAGE_CODE):
            reason = (_("Not confirmed within %(days)d days, so the file was deleted; upload it again.")
                      % {"days": keep_days} if job.status in waiting else
                      _("Interrupted (the worker stopped); nothing was imported. Upload the file again."))
        # Conditional, like a claim: a job that moved on in the meantime is left alone.
        if ImportJob.objects.filter(pk=job.pk, status=job.status).update(
                status=ImportStatusChoices.FAILED, finished_at=now, failure_reason=reason):
            closed += 1
            _remove_files(job)
    needed = {Path(name).stem for name in ImportJob.objects.exclude(
        status__in=[ImportStatusChoices.DONE, ImportStatusChoices.FAILED]).values_list("stored_name", flat=True)}
    for path in imports_dir().iterdir():
        if path.stem not in needed and path.stat().st_mtime < now.timestamp() - 24 * 3600:
            path.unlink(missing_ok=True)
    return closed


# ---- the template a user can download ---------------------------------------------------------------


def example_row() -> dict:
    """One filled-in row: a synthetic but valid ID number, so the template passes the checks as it is."""
    body = "11010119900307123"
    return {
        "document_type": DocumentTypeChoices.RESIDENT_ID, "document_number": body + mod_11_2.calc_check_digit(body),
        "document_country": "", "name": "张伟", "sex": SexChoices.MALE, "birth_date": "1990-03-07",
        "phone": "13800138000", "hukou_address": "河南省郑州市金水区", "occupation": "快递员",
        "property_registration_number": "001-0000001", "property_address": "", "unit_label": "101室",
        "start_date": timezone.localdate().replace(day=1).isoformat(), "reason": ResidenceReasonChoices.WORK,
    }


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with a BOM, so that Excel shows the Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMN_KEYS)
    example = example_row()
    writer.writerow([example[key] for key in COLUMN_KEYS])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The template as XLSX: every column formatted as text, so Excel keeps ID numbers whole."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "residents"
    example = example_row()
    for index, column in enumerate(COLUMNS, start=1):
        head = sheet.cell(row=1, column=index, value=column.key)
        head.font = Font(bold=True)
        if column.help:
            head.comment = Comment(f"{column.label}: {column.help}", "registry")
        cell = sheet.cell(row=2, column=index, value=example[column.key])
        letter = head.column_letter
        sheet.column_dimensions[letter].width = max(14, len(column.key) + 2)
        sheet.column_dimensions[letter].number_format = "@"
        cell.number_format = "@"
        for row in range(3, 1002):
            sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
