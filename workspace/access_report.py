"""The resident's access report (issue 16, point 5; PIPL art. 45): what the registry holds about a person and
every access to their record, as a PDF an officer prints for the resident who asks.

It names the readers by role and station, never by name: the resident learns who processed their data in the
sense the law asks (which office, in which capacity), and staff are not exposed by name.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from housing.models import Residence
from patrol.models import ResidencePermit, VisitOutcome
from persons.models import Person
from registry.models import AuditAction, AuditEvent, Profile, Station
from registry.roles import RoleChoices

ACCESS_ACTIONS = [AuditAction.VIEW, AuditAction.UNMASK, AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE,
                  AuditAction.EXPORT]


def access_report_context(person: Person) -> dict:
    residences = list(Residence.objects.filter(person=person).select_related("unit__property__community")
                      .order_by("start_date", "pk"))
    permits = list(ResidencePermit.objects.filter(person=person).order_by("issued_on", "pk"))
    visits = list(VisitOutcome.objects.filter(residence__person=person).select_related("visit__property")
                  .order_by("visit__visited_on", "pk"))
    events = list(AuditEvent.objects.filter(object_type="persons.person", object_id=str(person.pk),
                                            action__in=ACCESS_ACTIONS).order_by("at", "pk"))
    roles = dict(Profile.objects.filter(user_id__in={e.actor_id for e in events if e.actor_id})
                 .values_list("user_id", "role"))
    stations = dict(Station.objects.filter(pk__in={e.station_id for e in events if e.station_id})
                    .values_list("pk", "name"))
    role_labels = dict(RoleChoices.choices)
    accesses = [{"at": event.at, "action": event.get_action_display(),
                 "role": role_labels.get(roles.get(event.actor_id), "") if event.actor_id else "",
                 "via": event.via, "station": stations.get(event.station_id, ""),
                 "reason": event.reason if event.action == AuditAction.UNMASK else ""}
                for event in events]
    return {"person": person, "residences": residences, "permits": permits, "visits": visits,
            "accesses": accesses, "printed_at": timezone.localtime()}


def access_report_html(person: Person, *, language: str | None = None) -> str:
    with translation.override(language or translation.get_language()):
        return render_to_string("persons/access_report_pdf.html", access_report_context(person))


def access_report_pdf(person: Person, *, language: str | None = None) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Nothing is fetched: the report is text only, and a value in it can never make the renderer call out.
    fetcher = URLFetcher(allowed_protocols=set())
    return HTML(string=access_report_html(person, language=language), base_url=str(settings.BASE_DIR),
                url_fetcher=fetcher).write_pdf()
