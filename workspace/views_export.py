"""Export pages: what will be exported (the list's filters and row count), then the CSV or XLSX file.

A plain GET of ``exports/<list>.csv`` (or ``.xlsx``) gives the file with ID numbers masked; a POST with
a reason gives them in full to users who may unmask them. Both are audited (``workspace.exports``).
"""

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views import View

from persons.services import person_check_unmask
from registry.db_router import ReplicaReadsMixin
from registry.forms import BootstrapFormMixin
from registry.scoping import scope_for

from .exports import NOT_FILTERS, csv_chunks, export_filterset, export_kinds, export_record, export_rows, xlsx_file

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNMASK_PERMISSION = "persons.unmask_document"


class ExportUnmaskForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        help_text=_("Why the full numbers are needed; it is recorded with the export."),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. list requested by the district office, letter 2026-17")}),
    )


class ExportMixin(ReplicaReadsMixin, LoginRequiredMixin):
    """Station staff, officers, supervisors and administrators who can see the list; portal users get 403.

    GET reads from the replica when there is one; the unmasking POST (a password check) from the primary."""

    def dispatch(self, request, *args, **kwargs):
        self.kind = export_kinds().get(kwargs["kind"])
        if self.kind is None:
            raise Http404
        if request.user.is_authenticated:
            scope = scope_for(request.user)
            if not (scope.is_global or scope.station_ids) or not request.user.has_perm(self.kind.permission):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @property
    def can_unmask(self) -> bool:
        return self.kind.has_documents and self.request.user.has_perm(UNMASK_PERMISSION)

    def query(self) -> str:
        """The export's own address, for its links: the filters' key (registry/sealed_query.py), not their values."""
        params = self.request.visible_query.copy()
        for name in NOT_FILTERS:
            params.pop(name, None)
        return params.urlencode()

    def render_page(self, form=None, status=200):
        filterset = export_filterset(self.kind, self.request)
        query = self.query()
        list_url = reverse(self.kind.list_url_name)
        return render(self.request, "exports/export.html", {
            "kind": self.kind, "count": filterset.qs.count(), "filters": filter_summary(filterset),
            "query": query, "list_url": f"{list_url}?{query}" if query else list_url,
            "can_unmask": self.can_unmask, "form": form or ExportUnmaskForm(),
        }, status=status)


def filter_summary(filterset) -> list[tuple[str, str]]:
    """The list's filters in words, as the page shows them: [(label, value)]."""
    form = filterset.form
    if not form.is_bound:
        return []
    form.is_valid()
    summary = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if name == "ordering" or value in (None, "", [], ()):
            continue
        if isinstance(value, bool):
            value = _("Yes") if value else _("No")
        elif not isinstance(field, forms.ModelChoiceField) and getattr(field, "choices", None):
            value = dict(field.choices).get(value, value)
        summary.append((str(_filter_label(filterset, name, field)), str(value)))
    return summary


def _filter_label(filterset, name, field):
    # django-filter leaves a filter's label unset until it first builds a form for its model; fall back to
    # the label it would compute (the model field's verbose name).
    from django_filters.utils import label_for_filter

    declared = filterset.filters[name]
    return field.label or declared.label or label_for_filter(filterset._meta.model, declared.field_name,
                                                              declared.lookup_expr)


class ExportView(ExportMixin, View):
    """What will be exported: the list's filters, how many rows, and the download buttons."""

    def get(self, request, kind):
        return self.render_page()


class ExportDownloadView(ExportMixin, View):
    """The file. GET: ID numbers masked. POST with a reason: in full, for users who may unmask them."""

    def get(self, request, kind, fmt):
        return self.export(fmt, reason="")

    def post(self, request, kind, fmt):
        if not self.can_unmask:
            raise PermissionDenied

        form = ExportUnmaskForm(request.POST)
        if form.is_valid():
            try:
                reason = person_check_unmask(user=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form.add_error("reason", exc.message_dict.get("reason", exc.messages))
            else:
                return self.export(fmt, reason=reason)
        return self.render_page(form=form, status=400)

    def export(self, fmt: str, *, reason: str):
        unmask = bool(reason)
        queryset = export_filterset(self.kind, self.request, unmask=unmask).qs
        export_record(user=self.request.user, kind=self.kind, count=queryset.count(), params=self.request.GET,
                      reason=reason)
        rows = export_rows(self.kind, queryset, unmask=unmask)
        filename = f"{self.kind.key}-{timezone.localdate():%Y%m%d}{'-unmasked' if unmask else ''}.{fmt}"
        if fmt == "xlsx":
            return FileResponse(xlsx_file(rows, title=str(self.kind.title)), as_attachment=True, filename=filename,
                                content_type=XLSX_TYPE)
        response = StreamingHttpResponse(csv_chunks(rows, language=translation.get_language()),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

