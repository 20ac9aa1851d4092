"""The resident's access report (issue 16, point 5): a PDF of what the registry holds about the person and every
access to their record, by role and station; printing it is audited; it holds no other person's data."""

import pypdfium2 as pdfium

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from persons.factories import PersonFactory
from registry import audit
from registry.models import AuditAction, AuditEvent


def pdf_text(content: bytes) -> str:
    document = pdfium.PdfDocument(content)
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def test_an_officer_prints_the_report_with_every_access_and_nothing_of_anyone_else(client, officer_a, staff_a,
                                                                                    station_a, community_a):
    person = PersonFactory(registered_station=station_a)
    residence = ResidenceFactory(person=person, unit=UnitFactory(property=PropertyFactory(community=community_a)))
    other = PersonFactory(registered_station=person.registered_station)
    audit.record_view(staff_a, person, via="web")
    audit.record_unmask(staff_a, person, reason="核对租住登记", via="web")
    audit.record_view(staff_a, other, via="web")
    client.force_login(officer_a)
    answer = client.post(f"/persons/{person.pk}/access-report.pdf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    text = pdf_text(answer.content)
    assert person.name in text and person.document_number in text  # the resident's own number, in full
    assert residence.unit.property.address in text
    assert "核对租住登记" in text  # the reason given for the unmasking
    assert "查看" in text  # the view, in the deployment's language
    assert other.name not in text and other.document_number not in text
    assert staff_a.username not in text  # readers by role and station, never by name
    printed = AuditEvent.objects.filter(object_type="persons.person", object_id=str(person.pk),
                                        action=AuditAction.UNMASK, actor_id=officer_a.pk).get()
    assert printed.reason == "resident's request"


def test_the_report_needs_the_permissions_and_the_scope(client, staff_b, officer_a, landlord_a, station_b):
    person = PersonFactory(registered_station=station_b)
    client.force_login(officer_a)
    assert client.post(f"/persons/{person.pk}/access-report.pdf").status_code == 404  # another station's
    assert client.get(f"/persons/{person.pk}/access-report.pdf").status_code == 405
    client.force_login(staff_b)  # staff may unmask, but do not read the access log
    assert client.post(f"/persons/{person.pk}/access-report.pdf").status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.UNMASK, object_id=str(person.pk)).exists()
