"""Correcting a person (issue 17, point 2): the edit page, its required reason, the version it was opened at,
the history on the person page, and search after a change of name."""

import datetime

import pytest
from django.urls import reverse

from housing.factories import ResidenceFactory
from persons.choices import DocumentTypeChoices, SexChoices
from persons.models import Person
from persons.services import person_correct
from registry.factories import make_user
from registry.models import AuditAction, AuditEvent
from registry.roles import RoleChoices
from registry.services import StaleVersionError

LIST = reverse("persons:person_list")


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def person_a(community_a, station_a):
    return ResidenceFactory(unit__property__community=community_a, person__name="张三",
                            person__registered_station=station_a, person__phone="13800000001",
                            person__hukou_address="河南省郑州市", person__occupation="厨师").person


@pytest.fixture
def person_b(community_b, station_b):
    return ResidenceFactory(unit__property__community=community_b, person__registered_station=station_b).person


def _url(person):
    return reverse("persons:person_correct", args=[person.pk])


def _form(person, **changes):
    data = {"name": person.name, "phone": person.phone, "hukou_address": person.hukou_address,
            "occupation": person.occupation, "version": person.version, "reason": "居民来站更正"}
    if person.document_type == DocumentTypeChoices.PASSPORT:
        data |= {"birth_date": person.birth_date.isoformat(), "sex": person.sex}
    return data | changes


def _updates(person):
    return AuditEvent.objects.filter(object_type="persons.person", object_id=str(person.pk),
                                     action=AuditAction.UPDATE).order_by("at", "pk")


@pytest.mark.parametrize(("field", "value"), [
    ("name", "张三丰"), ("phone", "13912345678"), ("hukou_address", "湖北省武汉市"), ("occupation", "司机"),
])
def test_each_field_is_corrected_with_its_reason_in_the_audit_event(client, staff_a, person_a, field, value):
    client.force_login(staff_a)
    response = client.post(_url(person_a), _form(person_a, **{field: value}))
    assert response.status_code == 302 and response["Location"] == reverse("persons:person_detail",
                                                                           args=[person_a.pk])
    person_a.refresh_from_db()
    assert getattr(person_a, field) == value
    assert person_a.version == 2
    event = _updates(person_a).get()
    assert event.reason == "居民来站更正"
    assert event.actor_id == staff_a.pk
    # Personal values are never in clear in the trail: only that the field changed.
    assert event.changes == {field: ["", "changed"]}


def test_a_passport_holders_birth_date_and_sex_can_be_corrected(client, officer_a, community_a, station_a):
    person = ResidenceFactory(unit__property__community=community_a, person__registered_station=station_a,
                              person__document_type=DocumentTypeChoices.PASSPORT, person__document_country="KOR",
                              person__document_number="M12345678", person__sex=SexChoices.MALE,
                              person__birth_date=datetime.date(1990, 1, 1)).person
    client.force_login(officer_a)
    page = client.get(_url(person))
    assert "birth_date" in page.context["form"].fields and "sex" in page.context["form"].fields
    response = client.post(_url(person), _form(person, birth_date="1991-02-03", sex=SexChoices.FEMALE))
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.birth_date, person.sex) == (datetime.date(1991, 2, 3), SexChoices.FEMALE)
    assert set(_updates(person).get().changes) == {"birth_date", "sex"}


def test_an_id_cards_birth_date_and_sex_are_not_offered_and_not_accepted(client, staff_a, person_a):
    client.force_login(staff_a)
    form = client.get(_url(person_a)).context["form"]
    assert "birth_date" not in form.fields and "sex" not in form.fields
    # Posted anyway, they are ignored: the number says them.
    client.post(_url(person_a), _form(person_a, occupation="司机", birth_date="1950-01-01", sex="F"))
    born = person_a.birth_date
    person_a.refresh_from_db()
    assert person_a.birth_date == born and person_a.occupation == "司机"
    with pytest.raises(Exception, match="cannot be corrected here"):
        person_correct(person=person_a, reason="test", expected_version=person_a.version,
                       birth_date=datetime.date(1950, 1, 1))


def test_reason_is_required_and_nothing_changes_without_it(client, staff_a, person_a):
    client.force_login(staff_a)
    response = client.post(_url(person_a), _form(person_a, phone="13912345678", reason="  "))
    assert response.status_code == 200
    assert "Reason for the correction: this field is required." in response.content.decode()
    person_a.refresh_from_db()
    assert person_a.phone == "13800000001" and person_a.version == 1
    assert not _updates(person_a).exists()


def test_a_stale_form_is_refused_with_a_clear_message_and_changes_nothing(client, staff_a, person_a):
    client.force_login(staff_a)
    opened = _form(person_a)  # the form as both clerks opened it, at version 1
    assert client.post(_url(person_a), {**opened, "phone": "13911111111"}).status_code == 302
    stale = client.post(_url(person_a), {**opened, "occupation": "司机", "phone": "13922222222"})
    assert stale.status_code == 200
    assert "changed by someone else after you opened it" in stale.content.decode()
    person_a.refresh_from_db()
    assert (person_a.phone, person_a.occupation, person_a.version) == ("13911111111", "厨师", 2)
    assert _updates(person_a).count() == 1


def test_the_service_refuses_a_stale_version(person_a):
    with pytest.raises(StaleVersionError):
        person_correct(person=person_a, reason="more", expected_version=person_a.version + 1,
                       occupation="司机")


def test_an_invalid_phone_names_the_field_and_changes_nothing(client, staff_a, person_a):
    client.force_login(staff_a)
    response = client.post(_url(person_a), _form(person_a, phone="12345"))
    assert response.status_code == 200 and response.context["form"].errors["phone"]
    person_a.refresh_from_db()
    assert person_a.phone == "13800000001"


def test_nothing_changed_is_said_and_not_recorded(client, staff_a, person_a):
    client.force_login(staff_a)
    response = client.post(_url(person_a), _form(person_a))
    assert response.status_code == 200 and "Nothing was changed" in response.content.decode()
    assert not _updates(person_a).exists()


def test_history_on_the_person_page_shows_when_who_which_fields_and_why_but_no_values(client, staff_a,
                                                                                        officer_a, person_a):
    client.force_login(staff_a)
    client.post(_url(person_a), _form(person_a, phone="13912345678", occupation="司机", reason="换了新手机号"))
    client.force_login(officer_a)
    page = client.get(reverse("persons:person_detail", args=[person_a.pk]))
    history = page.context["history"]
    assert len(history) == 1
    assert history[0]["reason"] == "换了新手机号"
    assert history[0]["role"] == RoleChoices.STAFF.label
    assert history[0]["station"] == staff_a.profile.station.name
    assert {str(f) for f in history[0]["fields"]} == {"phone", "occupation"}
    body = page.content.decode()
    section = body[body.index('id="history"'):body.index("</section>", body.index('id="history"'))]
    assert "换了新手机号" in section and "Phone" in section and "Occupation" in section
    assert staff_a.username not in section  # a role and a station, never a name
    assert "13912345678" not in section and "13800000001" not in section


def test_a_new_name_is_found_by_name_pinyin_and_initials_and_the_old_one_is_not(client, staff_a, person_a):
    client.force_login(staff_a)
    client.post(_url(person_a), _form(person_a, name="李四"))
    person_a.refresh_from_db()
    assert (person_a.name_pinyin, person_a.name_initials) == ("lisi", "ls")
    for query in ("李四", "lisi", "ls"):
        found = client.get(LIST, {"q": query}, follow=True).context["page_obj"].object_list
        assert list(found) == [person_a], query
    assert list(client.get(LIST, {"q": "zhangsan"}, follow=True).context["page_obj"].object_list) == []


def test_access_cases(client, staff_a, supervisor, person_a, person_b, community_a):
    url = _url(person_a)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(supervisor)  # reads the district, corrects nothing
    assert client.get(url).status_code == 403
    landlord = make_user(RoleChoices.LANDLORD, username="ll")
    client.force_login(landlord)
    assert client.get(url).status_code == 403
    client.force_login(staff_a)
    assert client.get(_url(person_b)).status_code == 404
    assert client.post(_url(person_b), _form(person_b, occupation="司机")).status_code == 404
    assert client.get(url).status_code == 200
    person_b.refresh_from_db()
    assert Person.objects.get(pk=person_b.pk).version == 1
