"""Roster reconciliation: parse a pasted or uploaded list, compare it with the registry, apply the ticked changes."""

import datetime
import io
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import Residence
from housing.services import residence_end
from persons.factories import PersonFactory
from persons.identity import make_resident_id
from persons.models import Person
from portal.models import Submission
from portal.roster import RosterLine, roster_apply, roster_compare, roster_pack, roster_parse

TODAY = timezone.localdate()
_birthdays = itertools.count()


def new_number(sex: str = "M") -> str:
    """A valid resident ID number no other test line uses (each call takes the next birth date)."""
    born = datetime.date(1970, 1, 1) + datetime.timedelta(days=next(_birthdays) * 37)
    return make_resident_id(birth_date=born, sex=sex, region="110101")


def number_with_x() -> str:
    while True:
        number = new_number()
        if number.endswith("X"):
            return number


def bad_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def resident(prop, label: str, name: str, **kwargs) -> Residence:
    unit = prop.units.get(label=label)
    person = PersonFactory(name=name, registered_station=prop.station)
    return ResidenceFactory(unit=unit, person=person, start_date=TODAY - datetime.timedelta(days=60), **kwargs)


def snapshot():
    """Every registration as it stands, to show that nothing changed."""
    return sorted(Residence.objects.values_list("pk", "person_id", "unit_id", "status", "end_date", "version"))


# ---- parsing --------------------------------------------------------------------------------------------


def test_parse_reads_header_tabs_chinese_commas_spaces_and_normalises_numbers():
    n1, n2, n3, n4 = new_number(), new_number("F"), number_with_x(), new_number()
    text = "\n".join([
        "证件号码，姓名，房间号，电话",
        f"{n1}，张伟，101室，138 0013 8000",
        f"{n2}\t李娜\t102室",
        "",
        f"{n3[:6]} {n3[6:14]} {n3[14:].lower()}, 阿卜杜拉·艾买提, 101室",
        f"{n4}   Anna Maria Schmidt   102室   13912345678",
    ])
    lines, errors = roster_parse(text=text)
    assert errors == []
    assert [(line.line, line.document_number, line.name, line.unit_label, line.phone) for line in lines] == [
        (2, n1, "张伟", "101室", "13800138000"),
        (3, n2, "李娜", "102室", ""),
        (5, n3, "阿卜杜拉·艾买提", "101室", ""),
        (6, n4, "Anna Maria Schmidt", "102室", "13912345678"),
    ]
    assert n3.endswith("X") and all(line.document_type == "resident_id" for line in lines)


def test_parse_without_header_uses_the_usual_order():
    number = new_number()
    lines, errors = roster_parse(text=f"{number},王芳,101室\n")
    assert errors == []
    assert [(line.line, line.name, line.unit_label) for line in lines] == [(1, "王芳", "101室")]


def test_header_may_put_the_columns_in_another_order():
    number = new_number()
    lines, errors = roster_parse(text=f"name,unit,document number\n赵敏,102室,{number}\n")
    assert errors == []
    assert (lines[0].document_number, lines[0].name, lines[0].unit_label) == (number, "赵敏", "102室")


def test_every_bad_line_is_reported_with_its_number_and_field():
    good, twice = new_number(), new_number()
    text = "\n".join([
        f"{good},张伟,101室",                      # 1 good
        f"{bad_check_digit(new_number())},李娜,101室",  # 2 check digit
        f"{new_number()},王芳",                    # 3 no unit
        f"{new_number()},刘洋,102室,12345",        # 4 bad phone
        "E12345678,Kim Minsu,101室",               # 5 passport
        f"{twice},陈静,102室",                     # 6 good
        f"{twice},陈静,101室",                     # 7 the same person again
        f"{new_number()},张3,101室",               # 8 digit in the name
        f"{new_number()},周杰,101室,13800138000,多余",  # 9 too many fields
    ])
    lines, errors = roster_parse(text=text)
    assert [line.line for line in lines] == [1, 6]
    assert {(error.line, error.field) for error in errors} == {
        (2, "document_number"), (3, "unit_label"), (4, "phone"), (5, "document_number"), (7, "document_number"),
        (8, "name"), (9, ""),
    }
    assert all(str(error).count(str(error.line)) >= 1 and error.message for error in errors)


def test_a_list_with_only_a_header_is_refused_as_a_whole():
    with pytest.raises(ValidationError) as caught:
        roster_parse(text="证件号码,姓名,房间号\n")
    assert "text" in caught.value.error_dict


def test_parse_reads_a_csv_upload_with_english_headers():
    number = new_number()
    data = f"\ufeffphone,document_number,name,unit_label\n13800138000,{number.lower()},张伟,101室\n,,,\n".encode()
    lines, errors = roster_parse(upload=SimpleUploadedFile("roster.csv", data, content_type="text/csv"))
    assert errors == []
    assert [(line.line, line.document_number, line.phone) for line in lines] == [(2, number, "13800138000")]


def test_parse_reads_an_xlsx_upload_and_refuses_numbers_stored_as_numbers():
    import openpyxl

    good = new_number()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["某某小区出租屋住户名单"])
    sheet.append(["身份证号", "姓名", "房间号", "联系电话"])
    sheet.append([good, "张伟", "101室", "13800138000"])
    sheet.append([110101199003071234, "李娜", "102室", None])
    out = io.BytesIO()
    workbook.save(out)
    upload = SimpleUploadedFile("名单.xlsx", out.getvalue())
    lines, errors = roster_parse(upload=upload)
    assert [(line.line, line.document_number, line.phone) for line in lines] == [(3, good, "13800138000")]
    assert [(error.line, error.field) for error in errors] == [(4, "document_number")]


def test_parse_refuses_other_file_types():
    with pytest.raises(ValidationError) as caught:
        roster_parse(upload=SimpleUploadedFile("roster.pdf", b"%PDF-1.4"))
    assert "upload" in caught.value.error_dict


_NAMES = st.text(alphabet="张王李赵刘陈杨黄吴周伟芳娜敏静强磊军洋勇艳杰涛明超秀霞", min_size=2, max_size=4)
_UNITS = st.sampled_from(["101室", "102室", "A101", "3-201"])
_SEPARATOR = st.sampled_from([",", "，", "\t", " , ", "，  ", ";"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_NAMES, _UNITS, _SEPARATOR, st.booleans()), min_size=1, max_size=8))
def test_parse_gives_back_what_was_written_whatever_the_separator(rows):
    numbers = [new_number() for _row in rows]
    text = "\n".join(sep.join([number.lower() if lower else number, name, unit])
                     for number, (name, unit, sep, lower) in zip(numbers, rows, strict=True))
    lines, errors = roster_parse(text=text)
    assert errors == []
    assert [(line.document_number, line.name, line.unit_label) for line in lines] == [
        (number, name, unit) for number, (name, unit, _sep, _lower) in zip(numbers, rows, strict=True)]


# ---- comparing ------------------------------------------------------------------------------------------


def line(number_or_person, name, unit, at=1):
    number = getattr(number_or_person, "document_number", number_or_person)
    return RosterLine(line=at, document_type="resident_id", document_number=number, name=name, unit_label=unit)


@pytest.fixture
def mixed(rental_a, rental_b):
    """Registered at rental_a: same, moved (101→102), renamed, gone. Also one person registered at rental_b."""
    people = {
        "same": resident(rental_a, "101室", "张伟"),
        "moved": resident(rental_a, "101室", "李娜"),
        "renamed": resident(rental_a, "102室", "王芳"),
        "gone": resident(rental_a, "102室", "刘洋"),
        "gone_too": resident(rental_a, "102室", "陈静"),
        "elsewhere": resident(rental_b, "201室", "赵敏"),
    }
    new = new_number()
    lines = [
        line(people["same"].person, "张伟", "101室", 1),
        line(people["moved"].person, "李娜", "102室", 2),
        line(people["renamed"].person, "王小芳", "102室", 3),
        line(new, "孙丽", "101室", 4),
        line(people["elsewhere"].person, "赵敏", "102", 5),  # "102" finds 102室
        line(new_number(), "周杰", "103室", 6),  # no such unit
    ]
    return people, lines, new


def test_compare_classifies_a_mixed_list(rental_a, mixed, django_assert_max_num_queries):
    people, lines, new = mixed
    with django_assert_max_num_queries(4):
        diff = roster_compare(prop=rental_a, lines=lines)
    assert [m.residence for m in diff.unchanged] == [people["same"]]
    mismatches = {m.residence.pk: (m.unit_differs, m.name_differs, m.unit.label) for m in diff.mismatches}
    assert mismatches == {people["moved"].pk: (True, False, "102室"), people["renamed"].pk: (False, True, "102室")}
    assert {d.residence.pk for d in diff.departures} == {people["gone"].pk, people["gone_too"].pk}
    arrivals = {a.line.line: (a.unit.label, a.registered_elsewhere) for a in diff.arrivals}
    assert arrivals == {4: ("101室", False), 5: ("102室", True)}
    assert [(e.line, e.field) for e in diff.errors] == [(6, "unit_label")]
    assert diff.fingerprint


def test_compare_does_not_offer_the_departure_of_someone_listed_in_an_unknown_unit(rental_a):
    residence = resident(rental_a, "101室", "张伟")
    diff = roster_compare(prop=rental_a, lines=[line(residence.person, "张伟", "999室")])
    assert diff.departures == [] and diff.arrivals == [] and [e.field for e in diff.errors] == ["unit_label"]


# ---- applying: owners -----------------------------------------------------------------------------------


@pytest.fixture
def landlord_client(client, landlord_a):
    client.force_login(landlord_a.user)
    return client


@pytest.fixture
def staff_client(client, staff_a):
    client.force_login(staff_a)
    return client


def text_of(lines):
    return "\n".join(f"{item.document_number},{item.name},{item.unit_label}" for item in lines)


def compare(client, url, lines):
    response = client.post(url, {"action": "compare", "text": text_of(lines)})
    assert response.status_code == 200, response.content.decode()[:500]
    return response


def apply(client, url, payload, *, arrivals=(), departures=(), moves=(), date=TODAY, reason="work"):
    return client.post(url, {"action": "apply", "payload": payload, "date": date.isoformat(), "reason": reason,
                             "arrival": [str(a) for a in arrivals], "departure": [str(d) for d in departures],
                             "move": [str(m) for m in moves]})


def test_landlord_sees_the_differences_with_numbers_masked(landlord_client, rental_a, mixed):
    people, lines, new = mixed
    response = compare(landlord_client, reverse("portal:roster", args=[rental_a.pk]), lines)
    page = response.content.decode()
    assert response.templates[0].name == "portal/roster_diff.html"
    for number in [new, *(r.person.document_number for r in people.values())]:
        assert number not in page
    assert people["gone"].person.document_masked in page and "刘洋" in page
    # Nothing about the person registered at rental_b beyond the flag: not the other address.
    assert "乙一路9号" not in page
    # A line could not be used (unknown unit), so no departure is ticked in advance.
    assert response.context["selected"]["departures"] == set()


def test_landlord_apply_sends_only_the_ticked_changes_for_review(landlord_client, rental_a, mixed):
    people, lines, new = mixed
    url = reverse("portal:roster", args=[rental_a.pk])
    payload = compare(landlord_client, url, lines).context["payload"]
    before = snapshot()
    response = apply(landlord_client, url, payload, arrivals=[4], departures=[people["gone"].pk])
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:property_detail", args=[rental_a.pk])
    submissions = Submission.objects.order_by("kind")
    assert [(s.kind, s.status, s.submitted_by_id) for s in submissions] == [
        ("arrival", "waiting", rental_a.landlord.user_id), ("departure", "waiting", rental_a.landlord.user_id)]
    arrival, departure = submissions
    assert (arrival.document_number, arrival.name, arrival.unit.label, arrival.date, arrival.reason) == (
        new, "孙丽", "101室", TODAY, "work")
    assert departure.residence_id == people["gone"].pk and departure.date == TODAY
    assert snapshot() == before
    assert not Person.objects.filter(name="孙丽").exists()


def test_owner_cannot_record_a_move_between_units(rental_a, mixed, landlord_a):
    people, lines, _new = mixed
    diff = roster_compare(prop=rental_a, lines=lines)
    with pytest.raises(ValidationError) as caught:
        roster_apply(prop=rental_a, diff=diff, actor=landlord_a.user, date=TODAY, as_owner=True,
                     selected_arrivals=set(), selected_departures=set(), selected_moves={people["moved"].pk})
    assert caught.value.code == "owner_move"
    assert not Submission.objects.exists()


def test_employer_apply_sends_reports_for_the_dormitory(client, employer_a, dormitory_a):
    worker = resident(dormitory_a, "A101", "工人甲")
    client.force_login(employer_a.user)
    url = reverse("portal:roster", args=[dormitory_a.pk])
    newcomer = new_number()
    payload = compare(client, url, [line(newcomer, "工人乙", "A101")]).context["payload"]
    response = apply(client, url, payload, arrivals=[1], departures=[worker.pk])
    assert response.status_code == 302
    assert sorted(Submission.objects.values_list("kind", "property_id")) == [
        ("arrival", dormitory_a.pk), ("departure", dormitory_a.pk)]
    assert Residence.objects.get(pk=worker.pk).status == "active"


def test_landlord_cannot_compare_another_landlords_property(landlord_client, rental_b):
    url = reverse("portal:roster", args=[rental_b.pk])
    assert landlord_client.get(url).status_code == 404
    assert landlord_client.post(url, {"action": "compare", "text": f"{new_number()},张伟,201室"}).status_code == 404


def test_staff_of_another_station_get_404_on_the_staff_page(client, staff_b, rental_a):
    client.force_login(staff_b)
    url = reverse("review:roster", args=[rental_a.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "compare", "text": f"{new_number()},张伟,101室"}).status_code == 404


# ---- applying: staff ------------------------------------------------------------------------------------


def test_staff_apply_registers_deregisters_and_moves_directly(staff_client, rental_a, mixed):
    people, lines, new = mixed
    url = reverse("review:roster", args=[rental_a.pk])
    payload = compare(staff_client, url, lines).context["payload"]
    response = apply(staff_client, url, payload, arrivals=[4, 5], departures=[people["gone"].pk],
                     moves=[people["moved"].pk])
    assert response.status_code == 302
    assert response["Location"] == reverse("housing:property_detail", args=[rental_a.pk])
    newcomer = Residence.objects.get(person__document_hash=Person.document_key("resident_id", new))
    assert (newcomer.status, newcomer.unit.label, newcomer.start_date, newcomer.source) == (
        "active", "101室", TODAY, "desk")
    # Registered at rental_b until now: moved here, the old registration ended the same day.
    old = Residence.objects.get(pk=people["elsewhere"].pk)
    assert (old.status, old.end_date) == ("ended", TODAY)
    assert Residence.objects.get(person=people["elsewhere"].person, status="active").unit.property_id == rental_a.pk
    gone = Residence.objects.get(pk=people["gone"].pk)
    assert (gone.status, gone.end_date) == ("ended", TODAY)
    assert Residence.objects.get(pk=people["gone_too"].pk).status == "active"  # not ticked
    assert Residence.objects.get(pk=people["moved"].pk).status == "ended"
    assert Residence.objects.get(person=people["moved"].person, status="active").unit.label == "102室"
    assert not Submission.objects.exists()


def test_staff_apply_is_all_or_nothing_when_one_line_fails(staff_client, rental_a, mixed):
    people, lines, new = mixed
    # Someone known under this number by another name: person_register refuses the line.
    known = PersonFactory(name="钱七", registered_station=rental_a.station)
    lines = [*lines, line(known, "钱八", "102室", 7)]
    url = reverse("review:roster", args=[rental_a.pk])
    payload = compare(staff_client, url, lines).context["payload"]
    before, people_before = snapshot(), Person.objects.count()
    response = apply(staff_client, url, payload, arrivals=[4, 7], departures=[people["gone"].pk],
                     moves=[people["moved"].pk])
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and "7" in errors[0] and "钱八" in errors[0]
    assert snapshot() == before
    assert Person.objects.count() == people_before


# ---- stale comparisons and altered payloads -------------------------------------------------------------


def test_a_comparison_made_stale_by_another_change_is_refused(landlord_client, rental_a, mixed):
    people, lines, _new = mixed
    url = reverse("portal:roster", args=[rental_a.pk])
    payload = compare(landlord_client, url, lines).context["payload"]
    residence_end(residence=people["gone_too"], end_date=TODAY)  # the desk deregisters someone meanwhile
    before = snapshot()
    response = apply(landlord_client, url, payload, arrivals=[4], departures=[people["gone"].pk])
    assert response.status_code == 409
    assert response.context["stale_error"]
    assert not Submission.objects.exists()
    assert snapshot() == before
    # The page shows the comparison as it is now, with a payload that can be confirmed.
    fresh = response.context["payload"]
    assert apply(landlord_client, url, fresh, arrivals=[4], departures=[people["gone"].pk]).status_code == 302
    assert Submission.objects.count() == 2


def test_apply_refuses_a_fingerprint_that_is_not_current(rental_a, mixed, staff_a):
    people, lines, _new = mixed
    diff = roster_compare(prop=rental_a, lines=lines)
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        roster_apply(prop=rental_a, diff=diff, actor=staff_a, date=TODAY, as_owner=False, fingerprint="0" * 32,
                     selected_arrivals={4}, selected_departures={people["gone"].pk})
    assert caught.value.code == "stale"
    assert snapshot() == before


def test_a_tampered_payload_is_refused_with_400(landlord_client, rental_a, mixed):
    people, lines, _new = mixed
    url = reverse("portal:roster", args=[rental_a.pk])
    payload = compare(landlord_client, url, lines).context["payload"]
    tampered = payload[:40] + ("A" if payload[40] != "A" else "B") + payload[41:]
    response = apply(landlord_client, url, tampered, arrivals=[4], departures=[people["gone"].pk])
    assert response.status_code == 400
    assert response.context["payload_error"]
    assert not Submission.objects.exists()


def test_a_payload_made_for_another_property_is_refused(landlord_client, landlord_a, rental_a, community_a):
    other = PropertyFactory(community=community_a, landlord=landlord_a, address="甲一路3号")
    UnitFactory(property=other, label="101室", capacity=2)
    lines = [line(new_number(), "孙丽", "101室")]
    payload = roster_pack(prop=other, user=landlord_a.user, lines=lines,
                          fingerprint=roster_compare(prop=other, lines=lines).fingerprint)
    response = apply(landlord_client, reverse("portal:roster", args=[rental_a.pk]), payload, arrivals=[1])
    assert response.status_code == 400
    assert not Submission.objects.exists()


# ---- pages and access -----------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, rental_a):
    for url in (reverse("portal:roster", args=[rental_a.pk]), reverse("review:roster", args=[rental_a.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_landlord_on_the_staff_page_gets_403(landlord_client, rental_a):
    assert landlord_client.get(reverse("review:roster", args=[rental_a.pk])).status_code == 403


def test_staff_on_the_portal_page_gets_403(staff_client, rental_a):
    assert staff_client.get(reverse("portal:roster", args=[rental_a.pk])).status_code == 403


def test_supervisor_cannot_apply_a_roster(client, supervisor, rental_a):
    client.force_login(supervisor)
    assert client.get(reverse("review:roster", args=[rental_a.pk])).status_code == 403


def test_forms_show_their_errors(landlord_client, rental_a):
    url = reverse("portal:roster", args=[rental_a.pk])
    page = landlord_client.get(url)
    assert page.status_code == 200 and page.templates[0].name == "portal/roster_form.html"
    empty = landlord_client.post(url, {"action": "compare", "text": ""})
    assert empty.status_code == 200 and empty.context["form"].non_field_errors()
    unreadable = landlord_client.post(url, {"action": "compare", "text": "not a list at all"})
    assert unreadable.context["parse_errors"] and unreadable.templates[0].name == "portal/roster_form.html"
    detail = landlord_client.get(reverse("portal:property_detail", args=[rental_a.pk])).content.decode()
    assert url in detail


def test_apply_with_a_date_in_the_future_shows_the_field_error(staff_client, rental_a, mixed):
    people, lines, _new = mixed
    url = reverse("review:roster", args=[rental_a.pk])
    payload = compare(staff_client, url, lines).context["payload"]
    before = snapshot()
    response = apply(staff_client, url, payload, arrivals=[4], date=TODAY + datetime.timedelta(days=1))
    assert response.status_code == 200 and "date" in response.context["form"].errors
    assert snapshot() == before
