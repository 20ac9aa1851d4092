"""``/audit/``: the audit trail for supervisors (their district) and administrators (issue 16, point 1).

Reading it is itself audited (the filters used, never a value), and so is an export from it."""

import datetime

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View

from oversight.models import AccessFlag
from persons.models import Person
from registry import audit
from registry.db_router import ReplicaReadsMixin
from registry.forms import BootstrapFormMixin
from registry.models import AuditAction, AuditEvent, Station
from registry.scoping import oversees

from .audit_trail import RECORD_TYPES, audit_events, page_after, users_in_scope
from .exports import csv_chunks, xlsx_file

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_CHUNK = 2000


class AuditReaderMixin(ReplicaReadsMixin, LoginRequiredMixin):
    """Supervisors (the permission to read the trail) and administrators; everyone else 403. Reads may come
    from the replica; the events recording that they read go to the primary."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not oversees(request.user, "registry.view_auditevent"):
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
        filterset, events = audit_events(request, self.filters())
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
        filterset, events = audit_events(request, self.filters())
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


class UserActivityView(AuditReaderMixin, View):
    """One user's activity over a period: events by day and action (a chart and its table), the persons they
    read (masked), and their access flags (issue 16, point 2). Opening it is audited."""

    DAYS = 30
    PERSONS = 50

    def get(self, request, pk):
        account = get_object_or_404(users_in_scope(request.user), pk=pk)
        form = PeriodForm(request.GET or None)
        until = timezone.localdate()
        since = until - datetime.timedelta(days=self.DAYS - 1)
        if form.is_valid():
            since = form.cleaned_data.get("since") or since
            until = form.cleaned_data.get("until") or until
        if since > until:
            since, until = until, since
        start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
        end = timezone.make_aware(datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min))
        events = AuditEvent.objects.visible_to(request.user).filter(actor_id=account.pk, at__gte=start, at__lt=end)
        audit.record(action=AuditAction.VIEW, object_type="auth.user", object_id=account.pk,
                     changes={"activity": [since.isoformat(), until.isoformat()]}, via="web")
        return render(request, "audit/user.html", {
            "account": account, "form": form, "since": since, "until": until,
            "chart": activity_chart(events, since, until),
            "persons": self.persons(events),
            "flags": AccessFlag.objects.visible_to(request.user).filter(actor_id=account.pk)[:20],
        })

    def persons(self, events):
        """The persons read (viewed or unmasked), most read first, masked; only those the reader may see."""
        counted = (events.filter(object_type="persons.person", action__in=(AuditAction.VIEW, AuditAction.UNMASK))
                   .order_by().values("object_id").annotate(n=Count("pk"), last=Max("at")).order_by("-n", "-last"))
        rows = list(counted[:self.PERSONS])
        found = Person.objects.visible_to(self.request.user).only(
            "id", "name", "document_number", "document_type").in_bulk(
            [int(row["object_id"]) for row in rows if row["object_id"].isdigit()])
        return [{"person": found.get(int(row["object_id"])), "id": row["object_id"], "reads": row["n"],
                 "last": row["last"]} for row in rows if row["object_id"].isdigit()]


class PeriodForm(BootstrapFormMixin, forms.Form):
    since = forms.DateField(label=_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


CHART_ACTIONS = [AuditAction.VIEW, AuditAction.UNMASK, AuditAction.EXPORT, AuditAction.CREATE, AuditAction.UPDATE]


def activity_chart(events, since: datetime.date, until: datetime.date) -> dict:
    """Events per day and action: one query; the days in order (none missing), the actions as series, and the
    scale for the bars drawn in SVG (no inline style: the page's content security policy forbids it)."""
    counted = (events.filter(action__in=CHART_ACTIONS).order_by()
               .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
               .values("day", "action").annotate(n=Count("pk")).values_list("day", "action", "n"))
    by_day = {}
    for day, action, n in counted:
        by_day.setdefault(day, {})[action] = n
    days = [since + datetime.timedelta(days=i) for i in range((until - since).days + 1)]
    labels = dict(AuditAction.choices)
    rows = [{"day": day, "counts": [by_day.get(day, {}).get(action, 0) for action in CHART_ACTIONS],
             "total": sum(by_day.get(day, {}).values())} for day in days]
    top = max([row["total"] for row in rows] + [1])
    width = max(8, min(24, 720 // max(len(days), 1)))
    height = 160
    bars = []
    for index, row in enumerate(rows):
        y = height
        for series, n in enumerate(row["counts"]):
            if not n:
                continue
            h = max(1, round(n / top * height))
            y -= h
            bars.append({"x": 40 + index * width, "y": y + 10, "w": width - 2, "h": h, "series": series,
                         "title": f"{row['day']:%Y-%m-%d} {labels[CHART_ACTIONS[series]]}: {n}"})
    return {"rows": rows, "bars": bars, "series": [labels[action] for action in CHART_ACTIONS], "top": top,
            "width": 40 + len(days) * width + 10, "height": height + 40, "base": height + 10,
            "ticks": [{"value": value, "y": 10 + height - round(value / top * height)}
                      for value in sorted({0, top // 2, top})],
            "labels": [{"x": 40 + i * width, "text": f"{day:%m-%d}"} for i, day in enumerate(days)
                       if i % max(1, len(days) // 6) == 0]}
