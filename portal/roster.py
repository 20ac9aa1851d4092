"""Roster reconciliation: compare a list of occupants with the registry, then apply the differences.

The owner of a property (a landlord) or of a dormitory (an employer), or station staff, paste or
upload the current list of occupants of one property. ``roster_parse`` reads it line by line,
``roster_compare`` sets it against the current registrations in a few set-based queries, and
``roster_apply`` applies what the user ticked through the normal services: owners' changes become
Submissions waiting for review, staff changes go straight to ``person_register``/``residence_end``/
``residence_move``. All of them or none.

Between the comparison and the confirmation the list travels in the page, signed and encrypted
(``roster_pack``/``roster_unpack``), so nothing personal is stored on the server; the confirmation
carries a fingerprint of the registrations it was compared with and is refused if they changed.
"""

import datetime
import hashlib
import re
import unicodedata
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from housing.extensions import property_inputs_changed
from housing.import_sheet import header_aliases
from housing.models import CURRENT_RESIDENCE_STATUSES as CURRENT
from housing.models import Property, Residence, ResidenceReasonChoices, ResidenceSourceChoices, Unit
from housing.services import person_register, residence_end, residence_move
from persons.choices import DocumentTypeChoices
from persons.models import Person
from persons.validators import (
    document_birth_date,
    document_sex,
    normalize_document_number,
    normalize_phone,
    validate_document,
    validate_person_name,
)
from registry.crypto import decrypt, encrypt, mask
from registry.tabular import ImportFileError, cell_text, normal_header, table_rows
from registry.uploads import check_upload_size

from .models import Submission, SubmissionKindChoices
from .services import submission_report_arrival, submission_report_departure

MAX_LINES = 2_000
MAX_TEXT_CHARS = 200_000
UPLOAD_EXTENSIONS = (".csv", ".txt", ".xlsx")
# How long a comparison may be confirmed; after that the user compares again.
PAYLOAD_MAX_AGE = 2 * 3600
PAYLOAD_SALT = "portal.roster.v1"

KEYS = ("document_number", "name", "unit_label", "phone")
REQUIRED_KEYS = ("document_number", "name", "unit_label")
FIELD_LABELS = {
    "document_number": gettext_lazy("Document number"), "name": gettext_lazy("Name"),
    "unit_label": gettext_lazy("Unit"), "phone": gettext_lazy("Phone"),
}
# Headers people write on a roster that the import's column list does not know.
_EXTRA_HEADERS = {"房间": "unit_label", "房间号码": "unit_label", "宿舍": "unit_label", "宿舍号": "unit_label",
                  "门牌号": "unit_label", "room": "unit_label", "身份证": "document_number",
                  "证件": "document_number", "联系电话": "phone", "手机号码": "phone", "mobile": "phone"}
_SEPARATORS = re.compile(r"\s*[,，\t;；]\s*")
_DELIMITED = re.compile(r"[,，\t;；]")
_PHONE_LIKE = re.compile(r"\+?[\d\-()（）]{7,}")
_UNIT_SUFFIX = re.compile(r"(室|房|号|號|房间)$")
STALE_MESSAGE = gettext_lazy("The list of occupants changed since you compared (someone registered or "
                             "deregistered a person here); nothing was changed. Compare again.")


@dataclass(frozen=True)
class RosterLine:
    """One occupant on the list, checked and normalised."""

    line: int
    document_type: str
    document_number: str
    name: str
    unit_label: str
    phone: str = ""

    @property
    def document_key(self) -> str:
        return Person.document_key(self.document_type, self.document_number)

    @property
    def document_masked(self) -> str:
        return mask(self.document_number)

    def as_list(self) -> list:
        return [self.line, self.document_type, self.document_number, self.name, self.unit_label, self.phone]

    @classmethod
    def from_list(cls, values: list) -> "RosterLine":
        line, document_type, number, name, unit_label, phone = values
        return cls(line=int(line), document_type=str(document_type), document_number=str(number), name=str(name),
                   unit_label=str(unit_label), phone=str(phone))


@dataclass(frozen=True)
class RosterError:
    """A line that could not be used: its number, the field at fault and why."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return _("Line %(line)d: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class RosterArrival:
    """On the list, not registered here: to register (staff) or to report (owner)."""

    line: RosterLine
    unit: Unit
    registered_elsewhere: bool = False  # a current registration at another address; never which one
    already_reported: bool = False  # an arrival report of this person here waits for review


@dataclass
class RosterDeparture:
    """Registered here, not on the list: to deregister (staff) or to report (owner)."""

    residence: Residence
    already_reported: bool = False


@dataclass
class RosterMatch:
    """On the list and registered here; ``unit`` is the unit the list names."""

    line: RosterLine
    residence: Residence
    unit: Unit

    @property
    def unit_differs(self) -> bool:
        return self.unit.pk != self.residence.unit_id

    @property
    def name_differs(self) -> bool:
        return self.line.name != self.residence.person.name


@dataclass
class RosterDiff:
    arrivals: list[RosterArrival] = field(default_factory=list)
    departures: list[RosterDeparture] = field(default_factory=list)
    unchanged: list[RosterMatch] = field(default_factory=list)
    mismatches: list[RosterMatch] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def has_changes(self) -> bool:
        return bool(self.arrivals or self.departures or any(m.unit_differs for m in self.mismatches))


class RosterPayloadError(Exception):
    """The list carried by the page is not ours, was altered, or is too old."""


# ---- reading the list -----------------------------------------------------------------------------------


def _aliases() -> dict[str, str]:
    aliases = {name: key for name, key in header_aliases().items() if key in KEYS}
    aliases.update({normal_header(name): key for name, key in _EXTRA_HEADERS.items()})
    return aliases


def _header_positions(cells: list) -> dict[str, int] | None:
    """Column positions if ``cells`` is a header row (it names at least two roster columns), else None."""
    aliases = _aliases()
    keys = [aliases.get(normal_header(cell_text(cell))) for cell in cells]
    if sum(1 for key in keys if key) < 2:
        return None
    positions = {}
    for position, key in enumerate(keys):
        if key is None:
            continue
        if key in positions:
            raise ValidationError(_("The header names the same column twice (%(column)s); keep one.")
                                  % {"column": FIELD_LABELS[key]})
        positions[key] = position
    missing = [str(FIELD_LABELS[key]) for key in REQUIRED_KEYS if key not in positions]
    if missing:
        raise ValidationError(_("Columns missing from the header: %(columns)s.") % {"columns": ", ".join(missing)})
    return positions


def _text_rows(text: str) -> list[tuple[int, list, bool]]:
    """(line number, fields, separated by spaces only) for each non-blank line."""
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.replace("\u3000", " ").replace("\xa0", " ").strip()
        if not line:
            continue
        if _DELIMITED.search(line):
            rows.append((number, _SEPARATORS.split(line), False))
        else:
            rows.append((number, line.split(), True))
    return rows


def _split_spaced(cells: list) -> dict:
    """A line separated by spaces only: number first, a phone-like last field is the phone, the field
    before it the unit, and everything between is the name (Latin names have spaces)."""
    number, rest = cells[0], list(cells[1:])
    phone = rest.pop() if len(rest) >= 3 and _PHONE_LIKE.fullmatch(rest[-1]) else ""
    unit = rest.pop() if len(rest) >= 2 else ""
    return {"document_number": number, "name": " ".join(rest), "unit_label": unit, "phone": phone}


def _upload_rows(upload) -> list[tuple[int, list, bool]]:
    extension = Path(upload.name or "").suffix.lower()
    if extension not in UPLOAD_EXTENSIONS:
        raise ValidationError({"upload": _("File: upload a CSV file or an Excel workbook (.xlsx).")})
    if not upload.size:
        raise ValidationError({"upload": _("File: the file is empty.")})
    check_upload_size(upload, field="upload")
    # Read as a stream under the upload limits, and no further than the longest list allowed.
    try:
        with closing(table_rows(upload.file, max_rows=MAX_LINES)) as raw_rows:
            return [(number, list(cells), False) for number, cells in raw_rows
                    if any(cell_text(cell) for cell in cells)]
    except ImportFileError as exc:
        raise ValidationError({"upload": str(exc)})


def _document(raw) -> tuple[str, str, str | None]:
    """(document type, normalised number, error message or None) for one cell."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return "", "", _("Document number: Excel stored it as a number and dropped its last digits; format the "
                         "column as text and type the number again.")
    number = normalize_document_number(unicodedata.normalize("NFKC", cell_text(raw)))
    if not number:
        return "", "", _("Document number: this field is required.")
    if not re.fullmatch(r"[\dX]+", number):
        return "", number, _("Document number: only identity card numbers can be compared from a list; "
                             "use the arrival form for passports.")
    if len(number) == 18 and number[:2] in ("81", "82", "83"):
        document_type = DocumentTypeChoices.HKMT_PERMIT.value
    elif len(number) == 18 and number[0] == "9":
        document_type = DocumentTypeChoices.FOREIGN_PERMANENT_ID.value
    else:
        document_type = DocumentTypeChoices.RESIDENT_ID.value
    try:
        return document_type, validate_document(document_type, number), None
    except ValidationError as exc:
        return document_type, number, " ".join(exc.messages)


def _check_row(number: int, cells: dict, extra: list) -> tuple[RosterLine | None, list[RosterError]]:
    errors = []
    document_type, document_number, problem = _document(cells.get("document_number"))
    if problem:
        errors.append(RosterError(number, "document_number", problem))
    name = ""
    try:
        name = validate_person_name(cell_text(cells.get("name")))
    except ValidationError as exc:
        errors.append(RosterError(number, "name", " ".join(exc.messages)))
    unit_label = re.sub(r"\s+", " ", cell_text(cells.get("unit_label")))
    if not unit_label:
        errors.append(RosterError(number, "unit_label", _("Unit: this field is required.")))
    phone = unicodedata.normalize("NFKC", cell_text(cells.get("phone")))
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            errors.append(RosterError(number, "phone", " ".join(exc.messages)))
    if any(cell_text(cell) for cell in extra):
        errors.append(RosterError(number, "", _(
            "Too many fields: give the document number, the name, the unit and (optionally) the phone, "
            "separated by commas.")))
    if errors:
        return None, errors
    return RosterLine(line=number, document_type=document_type, document_number=document_number, name=name,
                      unit_label=unit_label, phone=phone), []


def roster_parse(*, text: str | None = None, upload=None) -> tuple[list[RosterLine], list[RosterError]]:
    """Read a pasted or uploaded list: one occupant per line (document number, name, unit, phone).

    Returns the usable lines and one error per bad field of a bad line. A list that cannot be read at
    all (wrong file type, no lines, too many) raises ValidationError on ``text`` or ``upload``.
    """
    source = "upload" if upload is not None else "text"
    if upload is not None:
        rows = _upload_rows(upload)
    else:
        if len(text or "") > MAX_TEXT_CHARS:
            raise ValidationError({"text": _("List: too long; upload it as a file instead.")})
        rows = _text_rows(text or "")
    positions = None
    # A header is optional; title lines of one cell above it ("某某小区住户名单") are allowed, as in imports.
    for index, (_number, cells, _spaced) in enumerate(rows[:10]):
        try:
            positions = _header_positions(cells)
        except ValidationError as exc:
            raise ValidationError({source: exc.messages})
        if positions is not None:
            rows = rows[index + 1:]
            break
        if sum(1 for cell in cells if cell_text(cell)) > 1:
            break  # data: there is no header
    if not rows:
        raise ValidationError({source: _("List: no occupants found; give one occupant per line: document number, "
                                         "name, unit and (optionally) phone.")})
    if len(rows) > MAX_LINES:
        raise ValidationError({source: _("List: at most %(max)d occupants at a time.") % {"max": MAX_LINES}})
    order = positions or {key: index for index, key in enumerate(KEYS)}
    # Spaces are ambiguous (a Latin name has them); in the usual column order they are read by shape.
    usual_order = sorted(order, key=order.get) == list(KEYS[:len(order)])
    lines, errors, seen = [], [], {}
    for number, cells, spaced in rows:
        if spaced and usual_order:
            values, extra = _split_spaced(cells), []
        else:
            values = {key: cells[index] if index < len(cells) else None for key, index in order.items()}
            extra = [cell for index, cell in enumerate(cells) if index not in order.values()]
        line, problems = _check_row(number, values, extra)
        errors.extend(problems)
        if line is None:
            continue
        first = seen.setdefault(line.document_key, line.line)
        if first != line.line:
            errors.append(RosterError(number, "document_number", _(
                "Document number: the same person is already on line %(line)d; keep one line per person.")
                % {"line": first}))
            continue
        lines.append(line)
    return lines, errors


# ---- comparing ------------------------------------------------------------------------------------------


def _unit_key(label: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", label)).casefold()


class _UnitIndex:
    """A property's units by label, forgiving width, case, spaces and a missing 室/号 if that is unambiguous."""

    def __init__(self, units):
        self.units = list(units)
        self.exact = {_unit_key(u.label): u for u in self.units}
        loose = {}
        for unit in self.units:
            loose.setdefault(_UNIT_SUFFIX.sub("", _unit_key(unit.label)), []).append(unit)
        self.loose = {key: found[0] for key, found in loose.items() if len(found) == 1}

    def find(self, label: str) -> Unit | None:
        key = _unit_key(label)
        return self.exact.get(key) or self.loose.get(_UNIT_SUFFIX.sub("", key))


def roster_fingerprint(pairs) -> str:
    """A digest of the current registrations, (id, version) pairs: any change to them changes it."""
    digest = hashlib.sha256()
    for pk, version in sorted(pairs):
        digest.update(f"{pk}:{version};".encode())
    return digest.hexdigest()[:32]


def _current_residences(prop: Property):
    return Residence.objects.filter(unit__property=prop, status__in=CURRENT)


def roster_compare(*, prop: Property, lines: list[RosterLine]) -> RosterDiff:
    """Set the list against the property's current registrations: arrivals, departures, (mis)matches.

    A handful of queries whatever the size of the list: units, current registrations with their
    persons, persons registered elsewhere (a flag only: nothing about them is read), reports waiting.
    """
    units = _UnitIndex(Unit.objects.filter(property=prop).order_by("label"))
    residences = list(_current_residences(prop).select_related("person", "unit__property")
                      .order_by("unit__label", "person__name_pinyin", "id"))
    here = {(r.person.document_type, r.person.document_hash): r for r in residences}
    diff = RosterDiff(fingerprint=roster_fingerprint((r.pk, r.version) for r in residences))
    waiting = Submission.objects.waiting().filter(property=prop).values_list("kind", "document_hash", "residence_id")
    waiting_arrivals, waiting_departures = set(), set()
    for kind, document_hash, residence_id in waiting:
        if kind == SubmissionKindChoices.ARRIVAL:
            waiting_arrivals.add(document_hash)
        else:
            waiting_departures.add(residence_id)
    present, newcomers = set(), []
    for line in lines:
        key = (line.document_type, line.document_key)
        residence = here.get(key)
        if residence is not None:
            present.add(residence.pk)
        unit = units.find(line.unit_label)
        if unit is None:
            diff.errors.append(RosterError(line.line, "unit_label", _(
                "Unit: this property has no unit “%(unit)s”; its units are %(units)s.")
                % {"unit": line.unit_label, "units": "、".join(u.label for u in units.units) or "—"}))
        elif residence is None:
            newcomers.append((line, unit))
        else:
            match = RosterMatch(line=line, residence=residence, unit=unit)
            (diff.mismatches if match.unit_differs or match.name_differs else diff.unchanged).append(match)
    elsewhere = set()
    if newcomers:
        current_elsewhere = Residence.objects.filter(person=OuterRef("pk"), status__in=CURRENT).exclude(
            unit__property=prop)
        elsewhere = set(Person.objects.filter(document_hash__in=[line.document_key for line, _unit in newcomers])
                        .filter(Exists(current_elsewhere)).values_list("document_type", "document_hash"))
    diff.arrivals = [RosterArrival(line=line, unit=unit,
                                   registered_elsewhere=(line.document_type, line.document_key) in elsewhere,
                                   already_reported=line.document_key in waiting_arrivals)
                     for line, unit in newcomers]
    diff.departures = [RosterDeparture(residence=r, already_reported=r.pk in waiting_departures)
                       for r in residences if r.pk not in present]
    diff.errors.sort(key=lambda error: error.line)
    return diff


# ---- applying -------------------------------------------------------------------------------------------


def roster_check_apply(*, diff: RosterDiff, fingerprint: str, current_fingerprint: str, date: datetime.date,
                       as_owner: bool, selected_arrivals: set[int], selected_departures: set[int],
                       selected_moves: set[int]) -> None:
    """Preconditions of ``roster_apply``; raises ValidationError (code ``stale`` if the registrations changed)."""
    if not fingerprint or fingerprint != diff.fingerprint or fingerprint != current_fingerprint:
        raise ValidationError(STALE_MESSAGE, code="stale")
    if date > timezone.localdate():
        raise ValidationError({"date": _("Date: cannot be in the future.")})
    if not (selected_arrivals or selected_departures or selected_moves):
        raise ValidationError(_("Nothing was selected: tick the changes to apply."), code="empty")
    arrival_lines = {a.line.line for a in diff.arrivals}
    departure_ids = {d.residence.pk for d in diff.departures}
    move_ids = {m.residence.pk for m in diff.mismatches if m.unit_differs}
    if not (selected_arrivals <= arrival_lines and selected_departures <= departure_ids
            and selected_moves <= move_ids):
        raise ValidationError(STALE_MESSAGE, code="stale")
    if as_owner and selected_moves:
        raise ValidationError(_("Moves between units are recorded by the station; tell the station or visit "
                                "the desk."), code="owner_move")


def _row_error(what: str, exc: ValidationError) -> ValidationError:
    return ValidationError(_("%(what)s: %(reason)s Nothing was changed; untick this line or correct it and "
                             "compare again.") % {"what": what, "reason": " ".join(exc.messages)}, code="row")


def _line_name(line: RosterLine) -> str:
    return _("Line %(line)d (%(name)s)") % {"line": line.line, "name": line.name}


def _residence_name(residence: Residence) -> str:
    return _("%(name)s in %(unit)s") % {"name": residence.person.name, "unit": residence.unit.label}


@transaction.atomic
def roster_apply(*, prop: Property, diff: RosterDiff, actor, date: datetime.date, as_owner: bool,
                 selected_arrivals, selected_departures, selected_moves=(),
                 reason: str = ResidenceReasonChoices.OTHER, fingerprint: str | None = None) -> dict:
    """Apply the ticked differences, all of them or none.

    ``fingerprint`` is the one the user saw with the comparison (``diff.fingerprint`` when omitted).
    Owners (``as_owner``) send arrival and departure reports for review; staff register, deregister and
    move between units directly, with the desk as the source. Returns counts of what was done.
    """
    selected_arrivals, selected_departures = set(selected_arrivals), set(selected_departures)
    selected_moves = set(selected_moves)
    locked = _current_residences(prop).select_for_update(of=("self",)).values_list("pk", "version")
    roster_check_apply(diff=diff, fingerprint=diff.fingerprint if fingerprint is None else fingerprint,
                       current_fingerprint=roster_fingerprint(locked), date=date, as_owner=as_owner,
                       selected_arrivals=selected_arrivals, selected_departures=selected_departures,
                       selected_moves=selected_moves)
    if reason not in ResidenceReasonChoices.values:
        raise ValidationError({"reason": _("Reason: choose one from the list.")})
    departures = [d.residence for d in diff.departures if d.residence.pk in selected_departures]
    moves = [m for m in diff.mismatches if m.residence.pk in selected_moves]
    arrivals = [a for a in diff.arrivals if a.line.line in selected_arrivals]
    if as_owner:
        _report(prop=prop, actor=actor, date=date, reason=reason, departures=departures, arrivals=arrivals)
    else:
        _register(prop=prop, actor=actor, date=date, reason=reason, departures=departures, moves=moves,
                  arrivals=arrivals)
        property_inputs_changed(prop.pk)
    return {"arrivals": len(arrivals), "departures": len(departures), "moves": len(moves)}


def _report(*, prop, actor, date, reason, departures, arrivals) -> None:
    for residence in departures:
        try:
            submission_report_departure(prop=prop, residence=residence, actor=actor, date=date)
        except ValidationError as exc:
            raise _row_error(_residence_name(residence), exc)
    for arrival in arrivals:
        line = arrival.line
        try:
            submission_report_arrival(prop=prop, unit=arrival.unit, actor=actor, document_type=line.document_type,
                                      document_number=line.document_number, name=line.name, phone=line.phone,
                                      date=date, reason=reason)
        except ValidationError as exc:
            raise _row_error(_line_name(line), exc)


def _register(*, prop, actor, date, reason, departures, moves, arrivals) -> None:
    today = timezone.localdate()
    for residence in departures:
        try:
            residence_end(residence=residence, end_date=date, reported_on=today,
                          note=_("Not on the list of occupants compared on %(date)s") % {"date": today})
        except ValidationError as exc:
            raise _row_error(_residence_name(residence), exc)
    for move in moves:
        try:
            residence_move(person=move.residence.person, unit=move.unit, start_date=date,
                           reason=move.residence.reason, source=ResidenceSourceChoices.DESK, actor=actor,
                           reported_on=today)
        except ValidationError as exc:
            raise _row_error(_line_name(move.line), exc)
    employer = prop.employer if prop.employer_id else None
    for arrival in arrivals:
        line = arrival.line
        identity = {"document_type": line.document_type, "document_number": line.document_number,
                    "document_country": "", "name": line.name, "phone": line.phone,
                    "birth_date": document_birth_date(line.document_type, line.document_number),
                    "sex": document_sex(line.document_type, line.document_number)}
        try:
            person_register(identity=identity, unit=arrival.unit, start_date=date, reason=reason,
                            source=ResidenceSourceChoices.DESK, actor=actor, employer=employer, reported_on=today)
        except ValidationError as exc:
            raise _row_error(_line_name(line), exc)


# ---- carrying the list between the comparison and the confirmation --------------------------------------


def roster_pack(*, prop: Property, user, lines: list[RosterLine], fingerprint: str) -> str:
    """The list as a hidden field: signed (so it cannot be altered) and encrypted (so the page does not
    hold the document numbers in clear), bound to this property and this user."""
    token = signing.dumps({"p": prop.pk, "u": user.pk, "f": fingerprint, "l": [line.as_list() for line in lines]},
                          salt=PAYLOAD_SALT, compress=True)
    return encrypt(token)


def roster_unpack(*, token: str, prop: Property, user) -> tuple[list[RosterLine], str]:
    """The lines and the fingerprint from ``roster_pack``; RosterPayloadError if anything is wrong."""
    try:
        data = signing.loads(decrypt(token or ""), salt=PAYLOAD_SALT, max_age=PAYLOAD_MAX_AGE)
    except signing.SignatureExpired:
        raise RosterPayloadError(_("The comparison is more than two hours old; compare the list again."))
    except (ValueError, signing.BadSignature):
        raise RosterPayloadError(_("The list sent back with the confirmation was altered or damaged; nothing "
                                   "was changed. Compare the list again."))
    try:
        if data["p"] != prop.pk or data["u"] != user.pk:
            raise ValueError
        return [RosterLine.from_list(values) for values in data["l"]], str(data["f"])
    except (KeyError, TypeError, ValueError):
        raise RosterPayloadError(_("The list sent back with the confirmation belongs to another property or "
                                   "user; nothing was changed. Compare the list again."))
