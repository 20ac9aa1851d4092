"""Export the lists a user sees — residents, properties, landlords — as CSV or XLSX.

An export is the list page's query: the model's ``visible_to(user)`` and the page's own FilterSet, with
the same parameters, so a file never holds a row the page would not show. ID numbers are masked unless
the user may unmask them and states a reason. Every export is an audit event. CSV is streamed row by
row (``StreamingHttpResponse``), so a list of any length costs the server little memory; XLSX is written
by openpyxl's write-only mode into a temporary file.
"""

import codecs
import csv
import datetime
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import Prefetch, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from housing.filtersets import LandlordFilterSet, PropertyFilterSet
from housing.import_sheet import COLUMN_LABELS
from housing.models import CURRENT_RESIDENCE_STATUSES, Landlord, Property, Residence
from housing.selectors import properties_with_totals
from lodging.filtersets import StayFilterSet
from lodging.models import Stay
from persons.filtersets import PersonFilterSet
from persons.models import Person
from persons.selectors import classify
from registry import audit
from registry.lookups import count_of
from registry.spreadsheets import formula_safe

CHUNK_SIZE = 2000
CSV_ROWS_PER_CHUNK = 200
# Query parameters of a list page that do not change which rows it holds.
NOT_FILTERS = {"page", "per_page", "format"}



@dataclass(frozen=True)
class ExportColumn:
    header: object  # a lazy translated label
    value: Callable


@dataclass(frozen=True)
class ExportKind:
    """One list that can be exported: whose rows, which filters, which columns."""

    key: str
    title: object
    model: type
    filterset_class: type
    permission: str
    list_url_name: str
    queryset: Callable  # (user, unmask) -> the base queryset, narrowed to the user's scope
    columns: Callable  # (unmask) -> [ExportColumn]
    has_documents: bool = False


def _document(unmask: bool):
    return (lambda obj: obj.document_number) if unmask else (lambda obj: obj.document_masked)


def _person_queryset(user, unmask: bool) -> QuerySet:
    # Where each person lives now, if that is inside the user's scope: one query per chunk of rows.
    current = (Residence.objects.visible_to(user).filter(status__in=CURRENT_RESIDENCE_STATUSES)
               .select_related("unit__property").order_by("-start_date", "-id"))
    # The mask is computed from the number on read (persons.models.IdentityDocument.document_masked).
    return Person.objects.visible_to(user).select_related("registered_station").prefetch_related(
        Prefetch("residences", queryset=current, to_attr="current_residences"))


def _residence(person):
    residences = getattr(person, "current_residences", None)
    return residences[0] if residences else None


def _from_residence(getter):
    def value(person):
        residence = _residence(person)
        return getter(residence) if residence is not None else ""
    return value


def _person_columns(unmask: bool) -> list[ExportColumn]:
    # The same names and order as the import's columns, so an exported list can be corrected and imported.
    label = COLUMN_LABELS.__getitem__
    return [
        ExportColumn(label("document_type"), lambda p: p.get_document_type_display()),
        ExportColumn(label("document_number"), _document(unmask)),
        ExportColumn(label("document_country"), lambda p: p.document_country),
        ExportColumn(label("name"), lambda p: p.name),
        ExportColumn(label("sex"), lambda p: p.get_sex_display()),
        ExportColumn(label("birth_date"), lambda p: p.birth_date),
        ExportColumn(label("phone"), lambda p: p.phone),
        ExportColumn(label("hukou_address"), lambda p: p.hukou_address),
        ExportColumn(label("occupation"), lambda p: p.occupation),
        ExportColumn(label("property_registration_number"),
                     _from_residence(lambda r: r.unit.property.registration_number)),
        ExportColumn(label("property_address"), _from_residence(lambda r: r.unit.property.address)),
        ExportColumn(label("unit_label"), _from_residence(lambda r: r.unit.label)),
        ExportColumn(label("start_date"), _from_residence(lambda r: r.start_date)),
        ExportColumn(label("reason"), _from_residence(lambda r: r.get_reason_display())),
        ExportColumn(_("Registration status"), _from_residence(lambda r: r.get_status_display())),
        ExportColumn(_("Registered at"), lambda p: p.registered_station.name if p.registered_station else ""),
        ExportColumn(_("Record number"), lambda p: p.pk),
    ]


def _property_queryset(user, unmask: bool) -> QuerySet:
    return properties_with_totals(Property.objects.visible_to(user).select_related("community", "landlord", "employer"))


def _owner(prop) -> str:
    if prop.landlord_id:
        return prop.landlord.name
    return prop.employer.name if prop.employer_id else ""


def _property_columns(unmask: bool) -> list[ExportColumn]:
    return [
        ExportColumn(_("Registration number"), lambda p: p.registration_number),
        ExportColumn(_("Address"), lambda p: p.address),
        ExportColumn(_("Type"), lambda p: p.get_property_type_display()),
        ExportColumn(_("Community"), lambda p: p.community.name),
        ExportColumn(_("Owner"), _owner),
        ExportColumn(_("Units"), lambda p: p.unit_count),
        ExportColumn(_("Capacity"), lambda p: p.capacity_total),
        ExportColumn(_("Residents"), lambda p: p.occupant_count),
        ExportColumn(_("Unit over capacity"), lambda p: _("Yes") if p.crowded else _("No")),
        ExportColumn(_("Responsibility agreement signed on"), lambda p: p.agreement_signed_on or ""),
        ExportColumn(_("Record number"), lambda p: p.pk),
    ]


def _landlord_queryset(user, unmask: bool) -> QuerySet:
    return Landlord.objects.visible_to(user).annotate(property_count=count_of(Property.objects.all(), "landlord"))


def _landlord_columns(unmask: bool) -> list[ExportColumn]:
    return [
        ExportColumn(_("Name"), lambda o: o.name),
        ExportColumn(_("Document type"), lambda o: o.get_document_type_display()),
        ExportColumn(_("Document number"), _document(unmask)),
        ExportColumn(_("Issuing country"), lambda o: o.document_country),
        ExportColumn(_("Phone"), lambda o: o.phone),
        ExportColumn(_("Address"), lambda o: o.address),
        ExportColumn(_("Properties"), lambda o: o.property_count),
        ExportColumn(_("Portal account"), lambda o: _("Yes") if o.user_id else _("No")),
        ExportColumn(_("Record number"), lambda o: o.pk),
    ]


def _stay_queryset(user, unmask: bool) -> QuerySet:
    return Stay.objects.visible_to(user).select_related("property").order_by("-arrived_at", "-id")


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _stay_columns(unmask: bool) -> list[ExportColumn]:
    return [
        ExportColumn(_("Guest's name"), lambda s: s.name),
        ExportColumn(_("Document type"), lambda s: s.get_document_type_display()),
        ExportColumn(_("Document number"), _document(unmask)),
        ExportColumn(_("Issuing country"), lambda s: s.document_country),
        ExportColumn(_("Lodging"), lambda s: s.property.address),
        ExportColumn(_("Room"), lambda s: s.room),
        ExportColumn(_("Arrived at"), lambda s: _local(s.arrived_at)),
        ExportColumn(_("Nights expected"), lambda s: s.nights),
        ExportColumn(_("Checked out at"), lambda s: _local(s.checked_out_at)),
        ExportColumn(_("Recorded late"), lambda s: _("Yes") if s.is_late else _("No")),
        ExportColumn(_("Record number"), lambda s: s.pk),
    ]


@lru_cache(maxsize=1)
def export_kinds() -> dict[str, ExportKind]:
    kinds = [
        ExportKind("persons", _("Residents"), Person, PersonFilterSet, "persons.view_person",
                   "persons:person_list", _person_queryset, _person_columns, has_documents=True),
        ExportKind("properties", _("Properties"), Property, PropertyFilterSet, "housing.view_property",
                   "housing:property_list", _property_queryset, _property_columns),
        ExportKind("landlords", _("Landlords"), Landlord, LandlordFilterSet, "housing.view_landlord",
                   "housing:landlord_list", _landlord_queryset, _landlord_columns, has_documents=True),
        ExportKind("stays", _("Lodging guests"), Stay, StayFilterSet, "lodging.view_stay", "lodging:ledger",
                   _stay_queryset, _stay_columns, has_documents=True),
    ]
    return {kind.key: kind for kind in kinds}


def export_filterset(kind: ExportKind, request, *, unmask: bool = False):
    """The list page's FilterSet over the user's scope, bound to the request's query parameters."""
    params = request.GET.copy()
    for name in NOT_FILTERS:
        params.pop(name, None)
    return kind.filterset_class(params or None, queryset=kind.queryset(request.user, unmask), request=request)


def audit_filters(params) -> dict:
    """The filters of an export as the audit trail keeps them. A search for a number keeps only that it was
    one: the parts of an ID number, beside a birth date, would rebuild it (as in ``registry.audit``)."""
    filters = {name: value for name, value in params.items() if name not in NOT_FILTERS and value}
    if "q" in filters:
        kind = classify(filters["q"]).kind
        if kind == "document":
            filters["q"] = "[ID number]"
        elif kind in ("digits", "document_part"):
            filters["q"] = "[digits]"
    return filters


def export_record(*, user, kind: ExportKind, count: int, params, reason: str = "") -> None:
    """Audit one export; an unmasked one also names the reason the user gave."""
    filters = audit_filters(params)
    if reason:
        filters.update(unmasked=True, reason=reason)
    audit.record_export(user, kind.model, count=count, filters=filters, via="web")


def _safe(value):
    """Cells as a spreadsheet should get them: text that Excel would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str):
        return formula_safe(value)
    if isinstance(value, (int, float, datetime.date)):
        return value
    return str(value)


def export_rows(kind: ExportKind, queryset: QuerySet, *, unmask: bool) -> Iterator[list]:
    columns = kind.columns(unmask)
    yield [str(column.header) for column in columns]
    for obj in queryset.iterator(chunk_size=CHUNK_SIZE):
        yield [_safe(column.value(obj)) for column in columns]


class _Line:
    """A file-like object whose ``write`` hands back what it was given, for csv.writer in a generator."""

    def write(self, value):
        return value


def csv_chunks(rows: Iterable[list], *, language: str) -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel then shows Chinese correctly), a chunk every few hundred rows."""
    writer = csv.writer(_Line())
    # The response is read after the view has returned: keep the user's language for the labels.
    with translation.override(language):
        yield codecs.BOM_UTF8
        buffer = []
        for row in rows:
            buffer.append(writer.writerow([value.isoformat() if isinstance(value, datetime.date) else value
                                           for value in row]))
            if len(buffer) >= CSV_ROWS_PER_CHUNK:
                yield "".join(buffer).encode("utf-8")
                buffer = []
        if buffer:
            yield "".join(buffer).encode("utf-8")


def xlsx_file(rows: Iterable[list], *, title: str):
    """A workbook in a temporary file (write-only mode keeps memory flat), rewound for reading."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "export")
    for row in rows:
        sheet.append(row)
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return handle
