"""Understanding and checking the rows of a resident import, and finding their units.

``parse_row`` turns a row's cells into the registration service's arguments. ``check_rows`` takes a batch of
rows through the rules the desk form and the API use: the identity validators and ``Person.clean_values()``
for the person, the user's scope for the unit (``UnitFinder``), and the registration service's own check
(``registrations_check``), in a fixed number of queries per batch. Every problem lands on its row, by column.
"""

import datetime
import re
import unicodedata
from collections import defaultdict
from functools import lru_cache

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _

from persons.choices import DocumentTypeChoices, SexChoices
from persons.models import Person
from persons.validators import document_birth_date, document_sex, normalize_document_number, validate_document
from registry.bulk import new_instance
from registry.tabular import cell_text

from .import_sheet import COLUMN_LABELS, ImportRow, labels_in_every_language
from .models import Property, ResidenceReasonChoices, Unit
from .services import Registration, registrations_check

# Outcomes of one row, and the keys of the dry run's expectation and the final report.
CREATED, MOVED, RETURNING, UNCHANGED = "created_persons", "moved_persons", "returning_persons", "unchanged"
# Where a service or model error lands in the report: its field, or the column the user has to fix.
_ERROR_COLUMNS = {"unit": "unit_label", "person": "document_number", "end_date": "start_date",
                  "registered_station": "", NON_FIELD_ERRORS: ""}
# Codes of model field errors whose message already starts with the field's label (Django's own do not).
_NAMES_ITS_FIELD = {"hidden_character"}

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


def _normal_value(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


@lru_cache(maxsize=4)
def value_aliases(key: str) -> dict[str, str]:
    """Normalised text → choice value, for a choice column: the value, its label in every language, synonyms."""
    aliases = {}
    for value, label in _CHOICES[key].choices:
        for name in {value, *labels_in_every_language(label)}:
            aliases[_normal_value(name)] = value
    for name, value in _EXTRA_VALUES.get(key, {}).items():
        aliases.setdefault(_normal_value(name), value)
    return aliases


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
        for error in ValidationError(errors).error_list:
            for message in error:
                if prefix_fields and column in COLUMN_LABELS and error.code not in _NAMES_ITS_FIELD:
                    message = _("%(label)s: %(message)s") % {"label": _label(column), "message": message}
                row.add_error(column, message)


def check_person(row: ImportRow) -> Person:
    """The person's fields through the model's own rules (``Person.clean_values()``), as the desk form and API
    do. For a person already known the service only fills in what is blank, so this is where a bad phone
    is caught; whether the number is already registered is the service's question (``registrations_check``).
    """
    given = {key: value for key, value in row.identity.items() if value not in (None, "")}
    person = new_instance(Person, given)
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
    person = new_instance(Person, {key: value for key, value in row.identity.items() if value not in (None, "")})
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
        # Only the units the rows name (a property has several; reading all of them cost more than the rest of
        # the prefetch), once each: a unit that does not exist is remembered as None.
        wanted, props = defaultdict(set), {}
        for row in rows:
            candidates = ([self._by_number.get(row.registration_number)] if row.registration_number
                          else self._by_address.get(row.address, []))
            for prop in candidates:
                if prop is not None and (prop.pk, row.unit_label) not in self._units:
                    wanted[prop.pk].add(row.unit_label)
                    props[prop.pk] = prop
        for chunk in _chunks(sorted(wanted)):
            labels = set().union(*(wanted[pk] for pk in chunk))
            for unit in Unit.objects.filter(property_id__in=chunk, label__in=sorted(labels)):
                if unit.label in wanted[unit.property_id]:
                    unit.property = props[unit.property_id]
                    self._units[(unit.property_id, unit.label)] = unit
        for pk, labels in wanted.items():
            for label in labels:
                self._units.setdefault((pk, label), None)

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


def entry_errors(pairs: list[tuple[ImportRow, Registration]]) -> list[tuple[ImportRow, Registration]]:
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
    return entry_errors(pending)


def outcome(entry: Registration) -> str:
    if entry.unchanged:
        return UNCHANGED  # re-importing a file changes nothing
    if entry.person is None or entry.person is entry.new_person:  # new, before or after the write
        return CREATED
    return MOVED if entry.current is not None else RETURNING
