import datetime

import pytest
from django.urls import reverse

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from housing.filtersets import PropertyFilterSet, UnitFilterSet
from housing.models import Property, PropertyTypeChoices, Unit
from patrol.models import Inspection, Visit
from persons.factories import EmployerFactory
from registry.factories import CommunityFactory, make_user
from registry.roles import RoleChoices

LIST = reverse("housing:property_list")
CREATE = reverse("housing:property_create")


@pytest.fixture(autouse=True)
def _english(client):
    # The product defaults to Chinese; these tests read the English source strings.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def property_a(community_a):
    return PropertyFactory(community=community_a, address="幸福路12号")


@pytest.fixture
def property_b(community_b):
    return PropertyFactory(community=community_b, address="西山路7号")


@pytest.fixture
def unit_a(property_a):
    return UnitFactory(property=property_a, label="101室", capacity=2)


@pytest.fixture
def unit_b(property_b):
    return UnitFactory(property=property_b, label="201室")


def _pages(prop, unit):
    return [
        LIST, CREATE,
        reverse("housing:property_detail", args=[prop.pk]),
        reverse("housing:property_edit", args=[prop.pk]),
        reverse("housing:unit_create", args=[prop.pk]),
        reverse("housing:unit_edit", args=[unit.pk]),
    ]


def _property_data(prop=None, **overrides):
    data = {"address": "幸福路12号", "property_type": PropertyTypeChoices.RESIDENTIAL_FLAT,
            "community": "", "landlord": "", "employer": "", "agreement_signed_on": ""}
    if prop is not None:
        data.update(address=prop.address, property_type=prop.property_type, community=prop.community_id,
                    landlord=prop.landlord_id or "", employer=prop.employer_id or "", version=prop.version)
    data.update(overrides)
    return data


# ---- access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_from_every_property_page(client, unit_a):
    for url in _pages(unit_a.property, unit_a):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


def test_landlord_gets_403_on_staff_pages_even_for_own_property(client, community_a):
    user = make_user(RoleChoices.LANDLORD, username="ll")
    landlord = LandlordFactory(station=community_a.station, user=user)
    unit = UnitFactory(property__community=community_a, property__landlord=landlord)
    client.force_login(user)
    for url in _pages(unit.property, unit):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("housing:property_edit", args=[unit.property_id]), {}).status_code == 403


def test_employer_account_gets_403_on_staff_pages_even_for_own_dormitory(client, community_a):
    user = make_user(RoleChoices.EMPLOYER, username="emp")
    employer = EmployerFactory(station=community_a.station, user=user)
    unit = UnitFactory(property__community=community_a, property__landlord=None, property__employer=employer,
                       property__property_type=PropertyTypeChoices.DORMITORY)
    client.force_login(user)
    for url in _pages(unit.property, unit):
        assert client.get(url).status_code == 403, url


def test_supervisor_reads_properties_but_may_not_create_or_edit(client, supervisor, unit_a):
    client.force_login(supervisor)
    assert client.get(LIST).status_code == 200
    assert client.get(reverse("housing:property_detail", args=[unit_a.property_id])).status_code == 200
    for url in [CREATE, *_pages(unit_a.property, unit_a)[3:]]:  # create, edit, add unit, edit unit
        assert client.get(url).status_code == 403, url
    assert client.post(CREATE, _property_data(community=unit_a.property.community_id)).status_code == 403


def test_other_stations_property_and_units_are_404(client, staff_a, unit_b):
    client.force_login(staff_a)
    for url in _pages(unit_b.property, unit_b)[2:]:
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("housing:property_edit", args=[unit_b.property_id]),
                           _property_data(unit_b.property, address="改了"))
    assert response.status_code == 404
    unit_b.property.refresh_from_db()
    assert unit_b.property.address == "西山路7号"


def test_officer_in_scope_sees_every_page(client, officer_a, unit_a):
    client.force_login(officer_a)
    for url in _pages(unit_a.property, unit_a):
        assert client.get(url).status_code == 200, url


# ---- list -------------------------------------------------------------------------------------------


def test_list_shows_only_own_stations_properties(client, staff_a, property_a, property_b):
    client.force_login(staff_a)
    response = client.get(LIST)
    assert list(response.context["page_obj"].object_list) == [property_a]
    body = response.content.decode()
    assert "幸福路12号" in body and "西山路7号" not in body
    assert "1 property" in body


def test_list_search_finds_by_part_of_the_address_and_by_registration_number(client, staff_a, community_a):
    wanted = PropertyFactory(community=community_a, address="桃园街88号")
    PropertyFactory(community=community_a, address="东湖路1号")
    client.force_login(staff_a)
    assert list(client.get(LIST, {"q": "桃园"}, follow=True).context["page_obj"].object_list) == [wanted]
    wanted.refresh_from_db()
    found = client.get(LIST, {"q": wanted.registration_number}, follow=True).context["page_obj"].object_list
    assert list(found) == [wanted]


def test_list_search_finds_by_landlord_pinyin_initials(client, staff_a, community_a):
    wanted = PropertyFactory(community=community_a, landlord=LandlordFactory(name="张三", station=community_a.station))
    PropertyFactory(community=community_a, landlord=LandlordFactory(name="李四", station=community_a.station))
    client.force_login(staff_a)
    assert list(client.get(LIST, {"q": "zs"}, follow=True).context["page_obj"].object_list) == [wanted]


def test_list_filters_by_type_and_community(client, staff_a, community_a):
    other_community = CommunityFactory(station=community_a.station, code="CA2", name="甲二社区")
    flat = PropertyFactory(community=community_a)
    group = PropertyFactory(community=other_community, property_type=PropertyTypeChoices.GROUP_RENTAL)
    client.force_login(staff_a)
    by_type = client.get(LIST, {"property_type": PropertyTypeChoices.GROUP_RENTAL}).context["page_obj"]
    assert list(by_type.object_list) == [group]
    by_community = client.get(LIST, {"community": community_a.pk}).context["page_obj"]
    assert list(by_community.object_list) == [flat]


def test_list_refuses_to_filter_by_another_stations_community(client, staff_a, property_a, property_b):
    client.force_login(staff_a)
    response = client.get(LIST, {"community": property_b.community_id})
    assert "community" in response.context["filterset"].form.errors
    assert property_b not in response.context["page_obj"].object_list


def test_list_over_capacity_filter_and_badge(client, staff_a, community_a):
    crowded = UnitFactory(property__community=community_a, capacity=1)
    ResidenceFactory.create_batch(2, unit=crowded)
    roomy = UnitFactory(property__community=community_a, capacity=5)
    ResidenceFactory(unit=roomy)
    client.force_login(staff_a)
    response = client.get(LIST, {"over_capacity": "true"})
    assert list(response.context["page_obj"].object_list) == [crowded.property]
    assert "Unit over capacity" in response.content.decode()
    within = client.get(LIST, {"over_capacity": "false"}).context["page_obj"].object_list
    assert list(within) == [roomy.property]


def test_list_shows_units_occupants_and_capacity_per_property(client, staff_a, community_a):
    prop = PropertyFactory(community=community_a)
    first = UnitFactory(property=prop, capacity=3)
    UnitFactory(property=prop, capacity=2)
    ResidenceFactory.create_batch(2, unit=first)
    ResidenceFactory(unit=first, status="ended", end_date=datetime.date.today())
    client.force_login(staff_a)
    row = client.get(LIST).context["page_obj"].object_list[0]
    assert (row.unit_count, row.occupant_count, row.capacity_total, row.crowded) == (2, 2, 5, False)


def test_list_sorts_by_address_descending(client, staff_a, community_a):
    PropertyFactory(community=community_a, address="A路1号")
    PropertyFactory(community=community_a, address="B路1号")
    client.force_login(staff_a)
    rows = client.get(LIST, {"ordering": "-address"}).context["page_obj"].object_list
    assert [p.address for p in rows] == ["B路1号", "A路1号"]


def test_list_paginates_and_htmx_gets_only_the_rows(client, staff_a, community_a):
    PropertyFactory.create_batch(3, community=community_a)
    client.force_login(staff_a)
    response = client.get(LIST, {"per_page": 2, "page": 2}, HTTP_HX_REQUEST="true")
    assert len(response.context["page_obj"].object_list) == 1
    assert [t.name for t in response.templates][0] == "housing/property_list_rows.html"
    assert "<html" not in response.content.decode()


def test_list_empty_state_offers_to_add_a_property(client, staff_a):
    client.force_login(staff_a)
    body = client.get(LIST).content.decode()
    assert "No properties yet" in body and CREATE in body
    assert "No properties match" in client.get(LIST, {"q": "没有这个地址"}, follow=True).content.decode()


def test_list_query_count_is_the_same_for_3_and_20_properties(client, staff_a, community_a,
                                                               django_assert_num_queries):
    for _ in range(3):
        ResidenceFactory(unit__property__community=community_a)
    client.force_login(staff_a)
    client.get(LIST)  # warm the session and permission caches
    # user with profile (scope), communities for the filter, count, rows (session, permissions: cached)
    with django_assert_num_queries(5):
        response = client.get(LIST, {"per_page": 50})
    assert len(response.context["page_obj"].object_list) == 3
    for _ in range(17):
        ResidenceFactory(unit__property__community=community_a)
    with django_assert_num_queries(5):
        response = client.get(LIST, {"per_page": 50})
    assert len(response.context["page_obj"].object_list) == 20


# ---- detail -----------------------------------------------------------------------------------------


def test_detail_shows_units_with_occupancy_and_current_occupants_masked(client, staff_a, unit_a):
    living = ResidenceFactory.create_batch(3, unit=unit_a)
    left = ResidenceFactory(unit=unit_a, status="ended", end_date=datetime.date.today())
    client.force_login(staff_a)
    response = client.get(reverse("housing:property_detail", args=[unit_a.property_id]))
    body = response.content.decode()
    [unit] = response.context["units"]
    assert (unit.occupants, unit.capacity, unit.over_capacity) == (3, 2, True)
    for residence in living:
        assert reverse("persons:person_detail", args=[residence.person_id]) in body
        assert residence.person.document_masked in body
        assert residence.person.document_number not in body
    assert left.person.name not in body
    assert "Over capacity" in body and "Rating: not yet rated" in body


def test_detail_shows_owner_community_station_registration_and_links(client, staff_a, property_a):
    client.force_login(staff_a)
    body = client.get(reverse("housing:property_detail", args=[property_a.pk])).content.decode()
    property_a.refresh_from_db()
    assert property_a.registration_number in body
    assert reverse("housing:landlord_detail", args=[property_a.landlord_id]) in body
    assert property_a.community.name in body and property_a.station.name in body
    assert reverse("housing:property_edit", args=[property_a.pk]) in body
    assert reverse("housing:unit_create", args=[property_a.pk]) in body
    assert property_a.landlord.document_number not in body


def test_detail_empty_states_for_units_inspections_and_visits(client, staff_a, property_a):
    client.force_login(staff_a)
    body = client.get(reverse("housing:property_detail", args=[property_a.pk])).content.decode()
    assert "No units yet" in body
    assert "No safety inspection recorded." in body
    assert "No household visits recorded." in body


def test_detail_lists_inspections_and_visits(client, staff_a, officer_a, property_a):
    Inspection.objects.create(property=property_a, inspected_on=datetime.date(2026, 1, 5), inspector=officer_a,
                              fire_extinguishers=True, escape_routes=True, wiring=False, partitions=True, gas=True)
    Visit.objects.create(property=property_a, visited_on=datetime.date(2026, 2, 6), visited_by=staff_a)
    client.force_login(staff_a)
    body = client.get(reverse("housing:property_detail", args=[property_a.pk])).content.decode()
    assert "2026-01-05" in body and "Failed" in body
    assert "2026-02-06" in body


def test_detail_query_count_does_not_grow_with_units_and_residents(client, staff_a, property_a,
                                                                   django_assert_num_queries):
    ResidenceFactory(unit__property=property_a)
    client.force_login(staff_a)
    url = reverse("housing:property_detail", args=[property_a.pk])
    client.get(url)
    # user with profile, property, units, residents, inspections, visits (session, permissions: cached)
    with django_assert_num_queries(9):
        client.get(url)
    for _ in range(5):
        ResidenceFactory(unit__property=property_a)
    with django_assert_num_queries(9):
        client.get(url)


# ---- create and edit --------------------------------------------------------------------------------


def test_create_property_derives_the_station_and_goes_to_its_page(client, staff_a, community_a):
    landlord = LandlordFactory(station=community_a.station)
    client.force_login(staff_a)
    response = client.post(CREATE, _property_data(address="新村路3号", community=community_a.pk,
                                                  landlord=landlord.pk, agreement_signed_on="2026-01-02"),
                           follow=True)
    prop = Property.objects.get(address="新村路3号")
    assert response.redirect_chain[-1][0] == reverse("housing:property_detail", args=[prop.pk])
    assert prop.station_id == community_a.station_id and prop.registration_number
    assert "Property added" in response.content.decode()


def test_create_prefills_the_owner_from_the_landlords_page(client, staff_a, community_a):
    landlord = LandlordFactory(station=community_a.station)
    client.force_login(staff_a)
    form = client.get(CREATE, {"landlord": landlord.pk}).context["form"]
    assert form["landlord"].value() == str(landlord.pk)


def test_create_rental_without_landlord_names_the_landlord_field_and_saves_nothing(client, staff_a, community_a):
    client.force_login(staff_a)
    response = client.post(CREATE, _property_data(community=community_a.pk))
    assert response.status_code == 200
    assert "landlord" in response.context["form"].errors
    assert "is-invalid" in response.content.decode()
    assert not Property.objects.exists()


def test_create_dormitory_without_employer_names_the_employer_field(client, staff_a, community_a):
    client.force_login(staff_a)
    response = client.post(CREATE, _property_data(community=community_a.pk,
                                                  property_type=PropertyTypeChoices.DORMITORY))
    assert response.status_code == 200 and "employer" in response.context["form"].errors
    assert not Property.objects.exists()


def test_create_refuses_another_stations_community_and_landlord(client, staff_a, community_b):
    foreign_landlord = LandlordFactory(station=community_b.station)
    client.force_login(staff_a)
    response = client.post(CREATE, _property_data(community=community_b.pk, landlord=foreign_landlord.pk))
    errors = response.context["form"].errors
    assert "community" in errors and "landlord" in errors
    assert not Property.objects.exists()


def test_create_form_offers_only_own_stations_choices(client, staff_a, community_a, community_b):
    mine = LandlordFactory(station=community_a.station)
    theirs = LandlordFactory(station=community_b.station)
    client.force_login(staff_a)
    form = client.get(CREATE).context["form"]
    assert list(form.fields["community"].queryset) == [community_a]
    assert list(form.fields["landlord"].queryset) == [mine]
    assert theirs.name not in client.get(CREATE).content.decode()


def test_edit_property_saves_bumps_the_version_and_goes_to_its_page(client, staff_a, property_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:property_edit", args=[property_a.pk]),
                           _property_data(property_a, address="幸福路12号院", agreement_signed_on="2026-03-01"))
    assert response.status_code == 302
    assert response["Location"] == reverse("housing:property_detail", args=[property_a.pk])
    property_a.refresh_from_db()
    assert (property_a.address, property_a.agreement_signed_on, property_a.version) == (
        "幸福路12号院", datetime.date(2026, 3, 1), 2)


def test_edit_form_carries_the_version(client, staff_a, property_a):
    client.force_login(staff_a)
    body = client.get(reverse("housing:property_edit", args=[property_a.pk])).content.decode()
    assert 'name="version"' in body and f'value="{property_a.version}"' in body


def test_edit_with_empty_address_names_the_field_and_saves_nothing(client, staff_a, property_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:property_edit", args=[property_a.pk]),
                           _property_data(property_a, address=""))
    assert response.status_code == 200
    assert response.context["form"].errors["address"] == ["Address: this field is required."]
    property_a.refresh_from_db()
    assert (property_a.address, property_a.version) == ("幸福路12号", 1)


def test_edit_from_a_stale_page_is_refused_and_saves_nothing(client, staff_a, property_a):
    client.force_login(staff_a)
    url = reverse("housing:property_edit", args=[property_a.pk])
    stale = _property_data(property_a)
    assert client.post(url, {**stale, "address": "第一次修改"}).status_code == 302
    response = client.post(url, {**stale, "address": "第二次修改"})
    assert response.status_code == 200
    assert "changed by someone else" in " ".join(response.context["form"].non_field_errors())
    assert "changed by someone else" in response.content.decode()
    property_a.refresh_from_db()
    assert (property_a.address, property_a.version) == ("第一次修改", 2)


def test_add_unit_to_a_property(client, staff_a, property_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:unit_create", args=[property_a.pk]), {"label": "302室", "capacity": 3})
    unit = Unit.objects.get(property=property_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("housing:property_detail", args=[property_a.pk]) + f"#unit-{unit.pk}"
    assert (unit.label, unit.capacity) == ("302室", 3)


def test_add_unit_with_a_label_already_used_names_the_label_and_saves_nothing(client, staff_a, unit_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:unit_create", args=[unit_a.property_id]),
                           {"label": unit_a.label, "capacity": 3})
    assert response.status_code == 200 and "label" in response.context["form"].errors
    assert Unit.objects.count() == 1


def test_add_unit_with_zero_capacity_names_the_capacity(client, staff_a, property_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:unit_create", args=[property_a.pk]), {"label": "1室", "capacity": 0})
    assert response.status_code == 200
    assert response.context["form"].errors["capacity"] == ["Capacity: at least 1."]
    assert not Unit.objects.exists()


def test_edit_unit_capacity(client, staff_a, unit_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:unit_edit", args=[unit_a.pk]),
                           {"label": unit_a.label, "capacity": 6, "version": unit_a.version})
    assert response.status_code == 302
    unit_a.refresh_from_db()
    assert (unit_a.capacity, unit_a.version) == (6, 2)


def test_edit_unit_keeping_its_own_label_is_not_a_duplicate(client, staff_a, unit_a):
    UnitFactory(property=unit_a.property, label="102室")
    client.force_login(staff_a)
    response = client.post(reverse("housing:unit_edit", args=[unit_a.pk]),
                           {"label": "102室", "capacity": 2, "version": unit_a.version})
    assert "label" in response.context["form"].errors
    response = client.post(reverse("housing:unit_edit", args=[unit_a.pk]),
                           {"label": unit_a.label, "capacity": 2, "version": unit_a.version})
    assert response.status_code == 302


def test_edit_unit_from_a_stale_page_is_refused(client, staff_a, unit_a):
    client.force_login(staff_a)
    url = reverse("housing:unit_edit", args=[unit_a.pk])
    assert client.post(url, {"label": unit_a.label, "capacity": 3, "version": 1}).status_code == 302
    response = client.post(url, {"label": unit_a.label, "capacity": 9, "version": 1})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    unit_a.refresh_from_db()
    assert (unit_a.capacity, unit_a.version) == (3, 2)


# ---- filtersets shared with the API -------------------------------------------------------------------


def test_property_filterset_without_a_request_offers_no_scoped_choices(property_a):
    filterset = PropertyFilterSet({"community": property_a.community_id}, queryset=Property.objects.all())
    assert not filterset.is_valid() and "community" in filterset.errors


def test_unit_filterset_filters_by_property_and_label_within_the_users_scope(rf, staff_a, unit_a, unit_b):
    UnitFactory(property=unit_a.property, label="202室")
    request = rf.get("/")
    request.user = staff_a
    mine = UnitFilterSet({"property": unit_a.property_id, "label": "101"}, queryset=Unit.objects.all(),
                         request=request)
    assert list(mine.qs) == [unit_a]
    theirs = UnitFilterSet({"property": unit_b.property_id}, queryset=Unit.objects.all(), request=request)
    assert "property" in theirs.errors
