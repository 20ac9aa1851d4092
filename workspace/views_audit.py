"""``/audit/``: the audit trail for supervisors (their district) and administrators (issue 16, point 1).

Reading it is itself audited (the filters used, never a value), and so is an export from it."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views import View

from persons.models import Person
from registry import audit
from registry.models import AuditAction, Station
from registry.scoping import scope_for

from .audit_trail import RECORD_TYPES, audit_events, page_after
from .exports import csv_chunks, xlsx_file

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_CHUNK = 2000


class AuditReaderMixin(LoginRequiredMixin):
    """Supervisors (the permission to read the trail) and administrators; everyone else 403."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            scope = scope_for(request.user)
            if not (scope.is_global or (scope.station_ids and request.user.has_perm("registry.view_auditevent"))):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def filters(self):
        params = self.request.GET.copy()
        params.pop("after", None)
        return params

    def audited_filters(self, filterset) -> dict:
        """The filters as the trail keeps them: ids and dates, no value about anyone."""
        if not filterset.is_bound or not filterset.is_valid():
            return {}
        kept = {}
        for name, value in filterset.form.cleaned_data.items():
            if value in (None, ""):
                continue
            kept[name] = getattr(value, "pk", value if isinstance(value, int | str) else str(value))
        return kept


class AuditListView(AuditReaderMixin, View):
    def get(self, request):
        filterset, events = audit_events(request.user, self.filters())
        rows, next_cursor, error = [], None, ""
        if filterset.is_bound and not filterset.is_valid():
            error = _("Correct the filters to see events.")
        else:
            try:
                rows, next_cursor = page_after(events, request.GET.get("after"))
            except ValidationError as exc:
                error = exc.messages[0]
        audit.record(action=AuditAction.VIEW, object_type="registry.auditevent",
                     changes={"filters": self.audited_filters(filterset)}, via="web")
        stations = dict(Station.objects.filter(pk__in={row.station_id for row in rows if row.station_id})
                        .values_list("pk", "name"))
        types = dict(RECORD_TYPES)
        for row in rows:
            row.station_name = stations.get(row.station_id, "")
            row.type_label = types.get(row.object_type, row.object_type)
            row.person_link = row.object_type == "persons.person" and row.object_id.isdigit()
        person = None
        if filterset.is_bound and filterset.is_valid() and filterset.form.cleaned_data.get("person"):
            person = Person.objects.visible_to(request.user).filter(
                pk=filterset.form.cleaned_data["person"]).only("id", "name", "document_number",
                                                                "document_type").first()
        query = request.visible_query.copy()
        query.pop("after", None)
        return render(request, "audit/list.html", {
            "filterset": filterset, "rows": rows, "next_cursor": next_cursor, "error": error, "person": person,
            "query": query.urlencode(), "first_page": not request.GET.get("after"),
        })


class AuditExportView(AuditReaderMixin, View):
    """Every event the filters find, newest first, as CSV (streamed) or XLSX."""

    def get(self, request, fmt):
        filterset, events = audit_events(request.user, self.filters())
        if filterset.is_bound and not filterset.is_valid():
            return render(request, "audit/list.html", {"filterset": filterset, "rows": [],
                                                       "error": _("Correct the filters to see events.")},
                          status=400)
        count = events.count()
        audit.record(action=AuditAction.EXPORT, object_type="registry.auditevent",
                     changes={"rows": count, "filters": self.audited_filters(filterset)}, via="web")
        rows = self.rows(events)
        filename = f"audit-{timezone.localdate():%Y%m%d}.{fmt}"
        if fmt == "xlsx":
            return FileResponse(xlsx_file(rows, title=_("Audit trail")), as_attachment=True, filename=filename,
                                content_type=XLSX_TYPE)
        response = StreamingHttpResponse(csv_chunks(rows, language=translation.get_language()),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @staticmethod
    def rows(events):
        yield [_("Time"), _("User"), _("Station"), _("Action"), _("Record type"), _("Record id"), _("Reason"),
               _("Via"), _("IP address")]
        stations = dict(Station.objects.values_list("pk", "name"))
        actions = dict(AuditAction.choices)
        zone = timezone.get_current_timezone()
        for event in events.iterator(chunk_size=EXPORT_CHUNK):
            yield [event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), event.actor_username,
                   stations.get(event.station_id, ""), str(actions.get(event.action, event.action)),
                   event.object_type, event.object_id, event.reason, event.via, event.ip_address or ""]
