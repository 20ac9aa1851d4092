"""The resident's access report as a PDF, printed from the person's page (issue 16, point 5)."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views import View

from persons.models import Person
from registry import audit
from registry.models import AuditAction
from registry.scoping import get_object_for_user
from registry.views import StaffPageMixin

from .access_report import access_report_pdf

REASON = "resident's request"


class PersonAccessReportView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """POST: the PDF. It holds the full document number, so it needs the unmask permission as well as the
    access log's; printing it is audited as an unmasking with the reason "resident's request"."""

    permission_required = ("persons.view_access_log", "persons.unmask_document")
    http_method_names = ["post"]

    def post(self, request, pk):
        person = get_object_for_user(Person.objects.select_related("registered_station"), request.user, pk=pk)
        audit.record(action=AuditAction.UNMASK, obj=person, reason=REASON, via="web",
                     changes={"access_report": True})
        response = HttpResponse(access_report_pdf(person), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            True, f"access-report-{person.pk}-{timezone.localdate():%Y%m%d}.pdf")
        return response
