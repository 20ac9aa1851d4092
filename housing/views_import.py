"""Pages of the resident import: upload, the dry run's report, confirmation, progress and the final report.

The work itself is in ``housing.imports`` (and its tasks); these views check access and show the job.
Only users who may register residents (``housing.add_residence``) import; a job is its uploader's.
"""

import csv
import io

from django import forms
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST

from registry.forms import BootstrapFormMixin, add_service_error
from registry.scoping import get_object_for_user, scope_for
from registry.spreadsheets import formula_safe
from registry.uploads import size_text

from . import imports
from .import_files import Progress
from .import_sheet import COLUMNS, MAX_ROWS
from .models import ImportJob, ImportStatusChoices
from .tasks import import_commit_start, import_validate_start

RECENT_JOBS = 10
ERRORS_ON_PAGE = 500


class ImportUploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The cap is a setting: the page states the one in force.
        self.fields["file"].help_text = _(
            "CSV (UTF-8 or GB18030, as Excel saves it) or an Excel workbook (.xlsx), at most %(max)s and "
            "%(columns)d columns. Nothing is saved until you have seen the check and confirmed."
        ) % {"max": size_text(settings.UPLOAD_MAX_BYTES), "columns": settings.UPLOAD_MAX_COLUMNS}


class ImportAccessMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous users go to the login page; users who may not register residents get 403."""

    permission_required = imports.PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and scope_for(request.user).is_empty:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_job(self) -> ImportJob:
        return get_object_for_user(ImportJob, self.request.user, pk=self.kwargs["pk"])


class ImportUploadView(ImportAccessMixin, View):
    template_name = "imports/upload.html"

    def get(self, request):
        return self.render(ImportUploadForm())

    def post(self, request):
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_validate_start(user=request.user, upload=form.cleaned_data["file"],
                                            language=translation.get_language())
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                return redirect("imports:job_detail", pk=job.pk)
        return self.render(form, status=400)

    def render(self, form, status=200):
        jobs = ImportJob.objects.visible_to(self.request.user).filter(user=self.request.user)[:RECENT_JOBS]
        return render(self.request, self.template_name,
                      {"form": form, "jobs": jobs, "columns": COLUMNS,
                       "max_rows": MAX_ROWS}, status=status)


def _progress_context(job: ImportJob) -> dict:
    done, total = Progress.read(job) if job.is_busy else (job.progress_done, job.progress_total)
    return {"job": job, "done": done, "total": total, "percent": int(done * 100 / total) if total else 0}


class ImportJobDetailView(ImportAccessMixin, View):
    template_name = "imports/job_detail.html"

    def get(self, request, pk):
        job = self.get_job()
        earlier = (ImportJob.objects.visible_to(request.user)
                   .filter(user=job.user, sha256=job.sha256, status=ImportStatusChoices.DONE)
                   .exclude(pk=job.pk).order_by("-finished_at").first())
        context = _progress_context(job)
        context.update(
            errors=job.errors[:ERRORS_ON_PAGE], errors_cut=len(job.errors) > ERRORS_ON_PAGE,
            errors_capped=len(job.errors) >= imports.MAX_REPORTED_ERRORS, earlier=earlier,
            will_import=job.valid_rows - job.expected.get("unchanged", 0),
        )
        return render(request, self.template_name, context)


class ImportJobProgressView(ImportAccessMixin, View):
    """The progress bar, polled every second by htmx while the job runs; once it stops, the page reloads."""

    def get(self, request, pk):
        job = self.get_job()
        response = render(request, "imports/job_progress.html", _progress_context(job))
        if not job.is_busy and request.htmx:
            response["HX-Refresh"] = "true"
        return response


@method_decorator(require_POST, name="dispatch")
class ImportJobConfirmView(ImportAccessMixin, View):
    """Import the valid rows of a checked file; a second click (or a second tab) changes nothing."""

    def post(self, request, pk):
        job = self.get_job()
        import_commit_start(job=job, language=translation.get_language())
        return redirect("imports:job_detail", pk=job.pk)


class ImportJobErrorsView(ImportAccessMixin, View):
    """The dry run's problems as CSV (row, column, message), to work through beside the file."""

    def get(self, request, pk):
        job = self.get_job()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_("Row"), _("Column"), _("Problem")])
        for entry in job.errors:
            writer.writerow([entry["row"], formula_safe(entry.get("column") or entry["field"] or ""),
                             formula_safe(entry["message"])])
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
        return response


class ImportTemplateView(ImportAccessMixin, View):
    """The template: a header row and one example row, as CSV or XLSX."""

    def get(self, request, fmt):
        if fmt == "xlsx":
            response = HttpResponse(imports.template_xlsx(), content_type=(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        else:
            response = HttpResponse(imports.template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="residents-import-template.{fmt}"'
        return response
