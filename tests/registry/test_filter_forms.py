"""In the API a FilterSet's form holds only the filters the query names (``RegistryFilterSet.get_form_class``);
HTML pages and the browsable API get every filter. The answer and the field errors are the same either way."""

import django_filters
import pytest
from django.test import RequestFactory
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory, UnitFactory
from housing.filtersets import ResidenceFilterSet
from housing.models import Residence
from lodging.filtersets import StayFilterSet
from lodging.models import Stay
from persons.factories import PersonFactory
from persons.filtersets import PersonFilterSet
from persons.models import Person
from registry.filtersets import RegistryFilterSet


def _request(user, params, renderer=None):
    """A request as the filter backend sees it: DRF's, after content negotiation, or Django's (``renderer`` None)."""
    django_request = RequestFactory().get("/api/v1/persons/", params)
    django_request.user = user
    if renderer is None:
        return django_request
    request = Request(django_request)
    request.user = user
    request.accepted_renderer = renderer
    return request


def _filterset(cls, model, user, params, renderer=JSONRenderer()):
    request = _request(user, params, renderer)
    return cls(data=request.GET if renderer is None else request.query_params,
               queryset=model.objects.visible_to(user), request=request)


@pytest.fixture
def people(staff_a, community_a, community_b):
    unit = UnitFactory(property__community=community_a)
    lived = [ResidenceFactory(unit=unit, person__sex=sex).person for sex in ("F", "F", "M")]
    elsewhere = ResidenceFactory(unit=UnitFactory(property__community=community_b), person__sex="F").person
    return lived, elsewhere, unit


def test_the_api_form_holds_the_named_filters_only(staff_a, people):
    filterset = _filterset(PersonFilterSet, Person, staff_a, {"sex": "F", "ordering": "name", "page_size": "5"})
    assert set(filterset.form.fields) == {"sex", "ordering"}
    assert filterset.is_valid()


def test_html_pages_and_the_browsable_api_get_every_filter(staff_a, people):
    every = set(PersonFilterSet.base_filters)
    assert {"q", "community", "property", "permit"} <= every
    for renderer in (None, BrowsableAPIRenderer()):
        filterset = _filterset(PersonFilterSet, Person, staff_a, {"sex": "F"}, renderer)
        assert set(filterset.form.fields) == every


@pytest.mark.parametrize(("cls", "model", "params"), [
    (PersonFilterSet, Person, {}),
    (PersonFilterSet, Person, {"sex": "F"}),
    (PersonFilterSet, Person, {"sex": "F", "ordering": "-created"}),
    (PersonFilterSet, Person, {"residence_status": "active"}),
    (PersonFilterSet, Person, {"sex": "M", "residence_status": "active", "unknown": "x"}),
    (ResidenceFilterSet, Residence, {"status": "active"}),
    (ResidenceFilterSet, Residence, {"ordering": "start_date"}),
])
def test_the_same_rows_as_with_every_filter(monkeypatch, staff_a, people, cls, model, params):
    pruned = _filterset(cls, model, staff_a, params)
    assert pruned.is_valid(), pruned.errors
    found = list(pruned.qs.values_list("pk", flat=True))
    monkeypatch.setattr(RegistryFilterSet, "get_form_class", django_filters.FilterSet.get_form_class)
    full = _filterset(cls, model, staff_a, params)
    assert full.is_valid(), full.errors
    assert len(full.form.fields) > len(pruned.form.fields)
    assert found == list(full.qs.values_list("pk", flat=True))
    assert found  # the fixture's rows: a filter that matched nothing would prove nothing


def test_a_named_filter_is_still_checked_through_the_api(staff_a, people, community_b):
    lived, elsewhere, _unit = people
    api = APIClient()
    api.force_authenticate(staff_a)
    women = api.get("/api/v1/persons/", {"sex": "F"})
    assert women.status_code == 200
    assert {row["id"] for row in women.json()["results"]} == {p.pk for p in lived if p.sex == "F"}
    assert elsewhere.pk not in {row["id"] for row in women.json()["results"]}
    # Another station's community does not exist for this user: a field error, as before.
    foreign = api.get("/api/v1/persons/", {"community": community_b.pk})
    assert foreign.status_code == 400 and "community" in foreign.json()["fields"]
    bad = api.get("/api/v1/persons/", {"sex": "F", "residence_status": "gone"})
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"residence_status"}


def test_a_person_registered_elsewhere_stays_out_whatever_the_filters(staff_a, people):
    """The scope is the queryset's, not the form's: no filter named still means the user's persons only."""
    _lived, elsewhere, _unit = people
    stranger = PersonFactory()
    found = set(_filterset(PersonFilterSet, Person, staff_a, {}).qs.values_list("pk", flat=True))
    assert elsewhere.pk not in found and stranger.pk not in found


def test_a_side_query_says_checks_only_and_gets_the_named_filters(staff_a, people):
    """The search page reads stays through the ledger's FilterSet without showing its form."""
    request = _request(staff_a, {})
    side = StayFilterSet({"q": "张三"}, queryset=Stay.objects.visible_to(staff_a), request=request, checks_only=True)
    assert set(side.form.fields) == {"q"}
    shown = StayFilterSet({"q": "张三"}, queryset=Stay.objects.visible_to(staff_a), request=request)
    assert set(shown.form.fields) == set(StayFilterSet.base_filters)
