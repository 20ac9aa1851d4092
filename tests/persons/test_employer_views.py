import datetime

import pytest
from django.urls import reverse

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import PropertyTypeChoices
from persons.factories import EmployerFactory, EmploymentFactory, PersonFactory, _uscc
from persons.filtersets import EmployerFilterSet
from persons.models import Employer
from registry.factories import make_user
from registry.roles import RoleChoices

LIST = reverse("persons:employer_list")
CREATE = reverse("persons:employer_create")


@pytest.fixture(autouse=True)
def _english(client):
    # The product defaults to Chinese; these tests read the English source strings.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def employer_a(station_a):
    return EmployerFactory(station=station_a, name="东湖食品有限公司", uscc=_uscc(900001))


@pytest.fixture
def employer_b(station_b):
    return EmployerFactory(station=station_b, name="西山机械厂", uscc=_uscc(900002))


def _pages(employer):
    return [LIST, CREATE, reverse("persons:employer_detail", args=[employer.pk]),
            reverse("persons:employer_edit", args=[employer.pk])]


def _data(employer=None, **overrides):
    data = {"name": "桃园物流有限公司", "uscc": _uscc(900003), "address": "桃园路9号", "contact_name": "陈红",
            "contact_phone": "13600001234"}
    if employer is not None:
        data.update(name=employer.name, uscc=employer.uscc, address=employer.address,
                    contact_name=employer.contact_name, contact_phone=employer.contact_phone,
                    version=employer.version)
    data.update(overrides)
    return data


def _dormitory(community, employer, **kwargs):
    return PropertyFactory(community=community, landlord=None, employer=employer,
                           property_type=PropertyTypeChoices.DORMITORY, **kwargs)


# ---- access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_from_every_employer_page(client, employer_a):
    for url in _pages(employer_a):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


def test_employer_and_landlord_accounts_get_403_on_staff_pages(client, station_a):
    user = make_user(RoleChoices.EMPLOYER, username="emp")
    own = EmployerFactory(station=station_a, user=user)
    client.force_login(user)
    for url in _pages(own):
        assert client.get(url).status_code == 403, url
    client.force_login(make_user(RoleChoices.LANDLORD, username="ll"))
    for url in _pages(own):
        assert client.get(url).status_code == 403, url


def test_supervisor_reads_employers_but_may_not_create_or_edit(client, supervisor, employer_a):
    client.force_login(supervisor)
    assert client.get(LIST).status_code == 200
    assert client.get(reverse("persons:employer_detail", args=[employer_a.pk])).status_code == 200
    assert client.get(CREATE).status_code == 403
    assert client.post(reverse("persons:employer_edit", args=[employer_a.pk]), _data(employer_a)).status_code == 403


def test_other_stations_employer_is_404(client, staff_a, employer_b):
    client.force_login(staff_a)
    for url in _pages(employer_b)[2:]:
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("persons:employer_edit", args=[employer_b.pk]), _data(employer_b, name="改名"))
    assert response.status_code == 404
    employer_b.refresh_from_db()
    assert employer_b.name == "西山机械厂"


def test_staff_in_scope_sees_every_page(client, staff_a, employer_a):
    client.force_login(staff_a)
    for url in _pages(employer_a):
        assert client.get(url).status_code == 200, url


# ---- list -------------------------------------------------------------------------------------------


def test_list_shows_own_station_only(client, staff_a, employer_a, employer_b):
    client.force_login(staff_a)
    response = client.get(LIST)
    assert list(response.context["page_obj"].object_list) == [employer_a]
    body = response.content.decode()
    assert "东湖食品有限公司" in body and "西山机械厂" not in body
    assert "1 employer" in body


def test_list_search_by_name_and_credit_code(client, staff_a, employer_a, station_a):
    EmployerFactory(station=station_a, name="新村超市")
    client.force_login(staff_a)
    assert list(client.get(LIST, {"q": "食品"}, follow=True).context["page_obj"].object_list) == [employer_a]
    found = client.get(LIST, {"q": employer_a.uscc[:12]}, follow=True).context["page_obj"].object_list
    assert list(found) == [employer_a]


def test_list_counts_current_employees_and_dormitories(client, staff_a, employer_a, community_a):
    EmploymentFactory.create_batch(2, employer=employer_a)
    EmploymentFactory(employer=employer_a, end_date=datetime.date.today())
    _dormitory(community_a, employer_a)
    client.force_login(staff_a)
    [row] = client.get(LIST).context["page_obj"].object_list
    assert (row.employee_count, row.dormitory_count) == (2, 1)


def test_list_sorts_by_name_descending(client, staff_a, station_a):
    EmployerFactory(station=station_a, name="A公司")
    EmployerFactory(station=station_a, name="B公司")
    client.force_login(staff_a)
    rows = client.get(LIST, {"ordering": "-name"}).context["page_obj"].object_list
    assert [e.name for e in rows] == ["B公司", "A公司"]


def test_list_empty_states(client, staff_a):
    client.force_login(staff_a)
    assert "No employers yet" in client.get(LIST).content.decode()
    assert "No employers match" in client.get(LIST, {"q": "不存在"}, follow=True).content.decode()


def test_list_query_count_is_the_same_for_3_and_20_employers(client, staff_a, station_a, community_a,
                                                              django_assert_num_queries):
    def add_employer():
        employer = EmployerFactory(station=station_a)
        EmploymentFactory(employer=employer)
        _dormitory(community_a, employer)

    for _ in range(3):
        add_employer()
    client.force_login(staff_a)
    client.get(LIST)
    # user with profile (scope), count, rows (the session and the permissions come from the cache)
    with django_assert_num_queries(4):
        response = client.get(LIST, {"per_page": 50})
    assert len(response.context["page_obj"].object_list) == 3
    for _ in range(17):
        add_employer()
    with django_assert_num_queries(4):
        response = client.get(LIST, {"per_page": 50})
    assert len(response.context["page_obj"].object_list) == 20


# ---- detail -----------------------------------------------------------------------------------------


def test_detail_shows_current_employees_masked_and_their_dormitories(client, staff_a, employer_a, community_a):
    dorm = _dormitory(community_a, employer_a, address="工业园宿舍1栋")
    worker = ResidenceFactory(unit=UnitFactory(property=dorm)).person
    EmploymentFactory(employer=employer_a, person=worker, job_title="包装工")
    former = EmploymentFactory(employer=employer_a, end_date=datetime.date.today())
    client.force_login(staff_a)
    response = client.get(reverse("persons:employer_detail", args=[employer_a.pk]))
    body = response.content.decode()
    assert list(response.context["dormitories"]) == [dorm]
    assert reverse("housing:property_detail", args=[dorm.pk]) in body
    assert reverse("persons:person_detail", args=[worker.pk]) in body
    assert worker.document_masked in body and worker.document_number not in body
    assert "包装工" in body
    assert former.person.name not in body


def test_detail_links_only_to_employees_the_user_may_see(client, staff_a, employer_a, station_b):
    elsewhere = PersonFactory(registered_station=station_b)
    EmploymentFactory(employer=employer_a, person=elsewhere)
    client.force_login(staff_a)
    body = client.get(reverse("persons:employer_detail", args=[employer_a.pk])).content.decode()
    assert elsewhere.name in body
    assert reverse("persons:person_detail", args=[elsewhere.pk]) not in body


def test_detail_empty_states(client, staff_a, employer_a):
    client.force_login(staff_a)
    body = client.get(reverse("persons:employer_detail", args=[employer_a.pk])).content.decode()
    assert "No dormitory recorded for this employer." in body
    assert "No current employees recorded." in body


# ---- create and edit --------------------------------------------------------------------------------


def test_create_employer_in_the_users_station(client, staff_a, station_a):
    client.force_login(staff_a)
    response = client.post(CREATE, _data(uscc=_uscc(900003).lower(), contact_phone="136 0000 1234"), follow=True)
    employer = Employer.objects.get()
    assert response.redirect_chain[-1][0] == reverse("persons:employer_detail", args=[employer.pk])
    assert employer.station == station_a
    assert (employer.uscc, employer.contact_phone) == (_uscc(900003), "13600001234")
    assert "Employer added" in response.content.decode()


def test_create_with_a_bad_credit_code_names_the_field_and_saves_nothing(client, staff_a):
    client.force_login(staff_a)
    code = _uscc(900003)
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = client.post(CREATE, _data(uscc=bad))
    assert response.status_code == 200
    assert response.context["form"].errors["uscc"] == [
        "Unified social credit code: the last character (check character) does not match."]
    assert not Employer.objects.exists()


def test_create_with_an_already_registered_credit_code_names_the_field(client, staff_a, employer_b):
    client.force_login(staff_a)
    response = client.post(CREATE, _data(uscc=employer_b.uscc))
    assert response.context["form"].errors["uscc"] == [
        "Unified social credit code: an employer with this code is already registered."]
    assert Employer.objects.count() == 1


def test_edit_employer_bumps_the_version(client, staff_a, employer_a):
    client.force_login(staff_a)
    response = client.post(reverse("persons:employer_edit", args=[employer_a.pk]),
                           _data(employer_a, contact_name="周敏"))
    assert response.status_code == 302
    assert response["Location"] == reverse("persons:employer_detail", args=[employer_a.pk])
    employer_a.refresh_from_db()
    assert (employer_a.contact_name, employer_a.version) == ("周敏", 2)


def test_edit_with_a_bad_phone_names_the_field_and_saves_nothing(client, staff_a, employer_a):
    client.force_login(staff_a)
    phone = employer_a.contact_phone
    response = client.post(reverse("persons:employer_edit", args=[employer_a.pk]),
                           _data(employer_a, contact_phone="123"))
    assert response.status_code == 200 and "contact_phone" in response.context["form"].errors
    employer_a.refresh_from_db()
    assert (employer_a.contact_phone, employer_a.version) == (phone, 1)


def test_edit_from_a_stale_page_is_refused_and_saves_nothing(client, staff_a, employer_a):
    client.force_login(staff_a)
    url = reverse("persons:employer_edit", args=[employer_a.pk])
    stale = _data(employer_a)
    assert client.post(url, {**stale, "address": "第一次"}).status_code == 302
    response = client.post(url, {**stale, "address": "第二次"})
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    employer_a.refresh_from_db()
    assert (employer_a.address, employer_a.version) == ("第一次", 2)


# ---- filterset shared with the API --------------------------------------------------------------------


def test_employer_filterset_finds_by_contact_phone_tail(employer_a, employer_b):
    filterset = EmployerFilterSet({"q": employer_b.contact_phone[-4:]}, queryset=Employer.objects.all())
    assert employer_b in filterset.qs
