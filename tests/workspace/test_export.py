import csv
import datetime
import io

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import ImportJob
from persons.factories import PersonFactory
from registry.factories import CommunityFactory, make_user
from registry.models import AuditEvent
from registry.roles import RoleChoices


@pytest.fixture(autouse=True)
def _english(client, settings, tmp_path):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.VAR_DIR = tmp_path


@pytest.fixture
def staff_client(client, staff_a):
    client.force_login(staff_a)
    return client


@pytest.fixture
def residents(community_a, community_b):
    """Two residents in station A (a woman and a man) and one in station B."""
    unit_a = UnitFactory(property__community=community_a, label="101室")
    woman = ResidenceFactory(unit=unit_a, person__sex="F", person__name="李娜", person__hukou_address="=1+2").person
    man = ResidenceFactory(unit=unit_a, person__sex="M", person__name="张伟").person
    other = ResidenceFactory(unit=UnitFactory(property__community=community_b), person__name="赵六").person
    return woman, man, other


def _csv_rows(response):
    assert response.streaming, "CSV is streamed"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _download(kind, fmt="csv"):
    return reverse("exports:download", args=[kind, fmt])


def _last_export():
    return AuditEvent.objects.filter(action="export").latest("id")


def test_person_export_has_the_lists_rows_with_its_filters_masked_and_is_audited(staff_client, staff_a, residents):
    woman, man, other = residents
    response = staff_client.get(_download("persons"), {"sex": "F", "page": "2"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    rows = _csv_rows(response)
    header = rows[0]
    assert header[:4] == ["Document type", "Document number", "Issuing country", "Name"]
    assert [row[header.index("Name")] for row in rows[1:]] == ["李娜"]
    row = dict(zip(header, rows[1], strict=True))
    assert row["Document number"] == woman.document_masked and woman.document_number not in str(rows)
    assert row["Unit"] == "101室" and row["Sex"] == "Female"
    assert row["Place of household registration"] == "'=1+2", "no formulas in a spreadsheet"
    event = _last_export()
    assert (event.actor_id, event.object_type, event.via) == (staff_a.pk, "persons.person", "web")
    assert event.changes == {"rows": 1, "filters": {"sex": "F"}}


def test_export_never_holds_rows_outside_the_users_scope(staff_client, residents):
    rows = _csv_rows(staff_client.get(_download("persons")))
    names = {row[3] for row in rows[1:]}
    assert names == {"李娜", "张伟"}


def test_an_id_number_typed_in_the_search_is_not_kept_in_the_audit_trail(staff_client, residents):
    woman = residents[0]
    rows = _csv_rows(staff_client.get(_download("persons"), {"q": woman.document_number}, follow=True))
    assert len(rows) == 2
    assert _last_export().changes["filters"] == {"q": "[ID number]"}
    _csv_rows(staff_client.get(_download("persons"), {"q": woman.document_number[-4:]}, follow=True))
    assert _last_export().changes["filters"] == {"q": "[digits]"}
    assert woman.document_number[-4:] not in str(list(AuditEvent.objects.filter(action="export").values_list(
        "changes", flat=True)))


def test_property_export_as_xlsx_with_the_community_filter(staff_client, community_a, station_a):
    other_community = CommunityFactory(station=station_a, name="甲二社区")
    PropertyFactory(community=community_a, address="幸福路1号")
    PropertyFactory(community=other_community, address="=HYPERLINK(\"http://x\")")
    response = staff_client.get(_download("properties", "xlsx"), {"community": other_community.pk})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert values[0][:3] == ("Registration number", "Address", "Type")
    assert [row[1] for row in values[1:]] == ["'=HYPERLINK(\"http://x\")"]
    assert _last_export().changes == {"rows": 1, "filters": {"community": str(other_community.pk)}}


FORMULA_CELLS = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "|calc'!A0", "\uff1d1+2", "\uff0b1",
                 "\uff0d1", "\uff20SUM(A1)", "\uff5ccalc'!A0"]


@pytest.mark.parametrize("address", FORMULA_CELLS)
def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted_in_csv_and_xlsx(staff_client, community_a, address):
    PropertyFactory(community=community_a, address=address)
    rows = _csv_rows(staff_client.get(_download("properties")))
    assert [row[1] for row in rows[1:]] == ["'" + address]
    response = staff_client.get(_download("properties", "xlsx"))
    cells = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    assert [row[1] for row in cells[1:]] == ["'" + address.replace("\r", "\n")]  # XML reads a CR as a line feed


def test_a_cell_starting_with_a_nul_is_quoted_too():
    from registry.spreadsheets import formula_safe

    assert formula_safe("\0=1+2") == "'\0=1+2"


@pytest.mark.parametrize("address", ["幸福路1号", "1=1", "a|b", "甲＝乙", "Room 5-1", "竖线｜", "＃1"])
def test_text_that_only_contains_formula_characters_is_exported_as_it_is(staff_client, community_a, address):
    PropertyFactory(community=community_a, address=address)
    rows = _csv_rows(staff_client.get(_download("properties")))
    assert [row[1] for row in rows[1:]] == [address]


def test_landlord_export_with_search_masks_numbers(staff_client, station_a, station_b):
    mine = LandlordFactory(station=station_a, name="王建国")
    LandlordFactory(station=station_a, name="李四")
    LandlordFactory(station=station_b, name="王五")
    rows = _csv_rows(staff_client.get(_download("landlords"), {"q": "王"}, follow=True))
    assert [(row[0], row[2]) for row in rows[1:]] == [("王建国", mine.document_masked)]


def test_unmasked_export_needs_a_reason_and_records_it(staff_client, staff_a, residents):
    woman = residents[0]
    refused = staff_client.post(_download("persons") + "?sex=F", {"reason": ""})
    assert refused.status_code == 400 and "Reason" in refused.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()
    response = staff_client.post(_download("persons") + "?sex=F", {"reason": "district office request 17"})
    rows = _csv_rows(response)
    assert rows[1][1] == woman.document_number
    assert _last_export().changes == {"rows": 1, "filters": {"sex": "F", "unmasked": True,
                                                             "reason": "district office request 17"}}


def test_unmasking_needs_the_permission(client, station_a, residents):
    user = make_user(RoleChoices.STAFF, username="reader", station=station_a)
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_person"))
    client.force_login(user)
    assert client.get(_download("persons")).status_code == 200
    assert client.post(_download("persons"), {"reason": "just curious, really"}).status_code == 403
    assert "full ID numbers" not in client.get(reverse("exports:export", args=["persons"])).content.decode()


def test_the_export_page_shows_the_count_and_the_filters(staff_client, residents):
    page = staff_client.get(reverse("exports:export", args=["persons"]), {"sex": "M"}).content.decode()
    assert "1 row will be exported." in page
    assert "Sex: <strong>Male</strong>" in page
    assert f'href="{_download("persons", "xlsx")}?sex=M"' in page
    assert "Export with full ID numbers" in page


def test_list_pages_link_to_the_export_with_their_filters(staff_client, residents):
    page = staff_client.get(reverse("persons:person_list"), {"sex": "F"}).content.decode()
    assert f'href="{reverse("exports:export", args=["persons"])}?sex=F"' in page
    assert 'hx-include="#person-filter"' in page
    for name, form in (("housing:property_list", "property-filter"), ("housing:landlord_list", "landlord-filter")):
        assert f'hx-include="#{form}"' in staff_client.get(reverse(name)).content.decode()


def test_anonymous_is_sent_to_login_and_portal_users_are_refused(client, db):
    for kind in ("persons", "properties", "landlords"):
        for url in (reverse("exports:export", args=[kind]), _download(kind), _download(kind, "xlsx")):
            response = client.get(url)
            assert response.status_code == 302 and reverse("login") in response["Location"]
    landlord_user = make_user(RoleChoices.LANDLORD, username="ll")
    LandlordFactory(user=landlord_user)
    client.force_login(landlord_user)
    for kind in ("persons", "properties", "landlords"):
        assert client.get(_download(kind)).status_code == 403
        assert client.get(reverse("exports:export", args=[kind])).status_code == 403
    assert not AuditEvent.objects.filter(action="export").exists()


def test_supervisor_exports_every_station_of_the_district(client, supervisor, residents):
    client.force_login(supervisor)
    rows = _csv_rows(client.get(_download("persons")))
    assert len(rows) == 4


def test_queries_do_not_grow_with_the_number_of_rows(staff_client, community_a):
    unit = UnitFactory(property__community=community_a)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            _csv_rows(staff_client.get(_download("persons")))
        return len(captured)

    ResidenceFactory.create_batch(2, unit=unit)
    queries()  # the first request also reads and caches the permissions
    few = queries()
    ResidenceFactory.create_batch(20, unit=unit)
    PersonFactory.create_batch(5, registered_station=community_a.station)
    assert queries() == few


def test_an_unmasked_export_imports_back_as_unchanged(staff_client, residents, django_capture_on_commit_callbacks):
    exported = b"".join(staff_client.post(_download("persons"), {"reason": "round trip check"}).streaming_content)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("export.csv", exported)})
    job = ImportJob.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert job.status == "validated", job.failure_reason
    assert (job.total_rows, job.valid_rows, job.expected["unchanged"]) == (2, 2, 2), job.errors
    assert {"Registration status", "Registered at", "Record number"} <= set(job.ignored_columns)


def test_dates_are_iso_in_csv(staff_client, residents):
    rows = _csv_rows(staff_client.get(_download("persons"), {"sex": "F"}))
    birth = rows[1][rows[0].index("Date of birth")]
    assert datetime.date.fromisoformat(birth) == residents[0].birth_date
