"""Search and filter values kept in the session behind ?k=<key>, never in a URL (registry/sealed_query.py;
issue 15, point 1)."""

import re

from django.urls import reverse

from persons.factories import PersonFactory
from registry.sealed_query import SESSION_KEY

SEARCH = "/search/"
PERSONS = "/persons/"


def seal(client, path, **fields):
    return client.post(path, {**fields, "_seal": "1"})


def key_of(response) -> str:
    """The key of a sealed answer: where a redirect goes, or the address a page puts in the address bar."""
    where = response["Location"] if response.status_code == 303 else address_of(response)
    return re.search(r"\?k=([\w-]+)", where).group(1)


def address_of(page) -> str:
    return re.search(r'data-sealed-address="([^"]+)"', page.content.decode()).group(1)


def test_a_search_posts_and_its_results_live_at_an_opaque_address(client, staff_a, station_a):
    person = PersonFactory(registered_station=station_a)
    client.force_login(staff_a)
    posted = seal(client, SEARCH, q=person.document_number)
    # Answered at once (one request), with the address to put in the bar in place of the POST.
    assert posted.status_code == 200 and f"/persons/{person.pk}/" in posted.content.decode()
    address = address_of(posted)
    assert person.document_number not in address and address.startswith("/search/?k=")
    # Reloading the address, or coming back to it, finds the same.
    assert f"/persons/{person.pk}/" in client.get(address).content.decode()
    # A page reached without a search carries no address to replace.
    assert "data-sealed-address" not in client.get(SEARCH).content.decode()


def test_pages_sort_headers_and_the_export_button_link_by_key_never_by_value(client, staff_a, station_a):
    for _ in range(30):
        PersonFactory(registered_station=station_a, name="王小明")
    client.force_login(staff_a)
    posted = seal(client, PERSONS, q="王小明")
    key = key_of(posted)
    page = client.get(address_of(posted)).content.decode()
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert f"?k={key}&amp;page=2" in page  # the next page
    assert any(f"k={key}" in href and "ordering=" in href for href in hrefs)  # a sort header
    assert any(href.startswith(reverse("exports:export", args=["persons"])) and f"k={key}" in href for href in hrefs)
    assert not [href for href in hrefs if "王" in href or "%E7%8E%8B" in href]
    second = client.get(PERSONS, {"k": key, "page": 2})
    assert second.context["page_obj"].number == 2 and second.context["paginator"].count == 30


def test_an_htmx_filter_is_answered_at_once_with_the_address_to_show(client, staff_a, station_a):
    person = PersonFactory(registered_station=station_a, name="李秀英")
    client.force_login(staff_a)
    answer = client.post(PERSONS, {"q": "李秀英", "_seal": "1"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and f"/persons/{person.pk}/" in answer.content.decode()
    assert re.fullmatch(r"/persons/\?k=[\w-]+", answer["HX-Push-Url"])
    assert "<html" not in answer.content.decode()  # the results' rows only, as the GET would give htmx


def test_an_old_bookmark_with_a_value_is_sealed_and_redirected(client, staff_a):
    client.force_login(staff_a)
    answer = client.get(PERSONS, {"q": "13912345678", "page": "2", "sex": "F"})
    assert answer.status_code == 303
    assert "13912345678" not in answer["Location"] and "page=2" in answer["Location"]
    assert client.get(answer["Location"]).wsgi_request.GET["q"] == "13912345678"  # what the view reads


def test_another_sessions_key_finds_nothing_and_says_so(client, staff_a, staff_b, station_a, django_user_model):
    PersonFactory(registered_station=station_a, name="张三丰")
    client.force_login(staff_a)
    key = key_of(seal(client, SEARCH, q="张三丰"))
    client.logout()
    client.force_login(staff_a)  # a new session, the same user: the key is gone with the old one
    page = client.get(SEARCH, {"k": key})
    assert "这次查询已不再保留" in page.content.decode()  # "This search is no longer kept"
    assert "张三丰" not in page.content.decode()


def test_the_same_fields_keep_one_key_and_a_search_writes_nothing_to_the_session(client, staff_a):
    client.force_login(staff_a)
    first = key_of(seal(client, SEARCH, q="a1"))
    secret = client.session[SESSION_KEY]
    assert key_of(seal(client, SEARCH, q="a1")) == first
    assert key_of(seal(client, SEARCH, q="a2")) != first
    assert client.session[SESSION_KEY] == secret  # one secret per session, written once


def test_a_search_made_before_signing_in_survives_the_sign_in(client, staff_a, station_a):
    person = PersonFactory(registered_station=station_a, name="欧阳修")
    bookmark = client.get(PERSONS, {"q": "欧阳修"})  # not signed in: sealed first, then the sign-in
    assert bookmark.status_code == 303
    client.force_login(staff_a)  # a new session key, the same session data
    assert f"/persons/{person.pk}/" in client.get(bookmark["Location"]).content.decode()


def test_the_api_and_the_admin_read_their_own_query_strings(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/registry/station/", {"q": "王"}).status_code == 200  # not sealed: its own links
    assert client.get("/api/v1/persons/", {"q": "王"}).status_code == 200
