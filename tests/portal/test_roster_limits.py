"""Hostile files uploaded as a roster list: the form names the field and the limit, nothing is compared or
reported."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import Submission
from tests.registry import hostile_files as hostile


@pytest.fixture
def landlord_client(client, landlord_a):
    client.force_login(landlord_a.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_roster_page_states_the_cap_in_force(landlord_client, rental_a, settings):
    url = reverse("portal:roster", args=[rental_a.pk])
    assert "at most 20 MB" in landlord_client.get(url).content.decode()
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    assert "at most 3 MB" in landlord_client.get(url).content.decode()
    assert "最大 3 MB" in landlord_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


@pytest.mark.parametrize(("build", "message"), [
    (hostile.xlsx_compression_bomb, "compressed more than 100 times"),
    (hostile.csv_compression_bomb, "compressed more than 100 times"),
    (hostile.xlsx_million_columns, "Row 2 has more than 100 columns"),
    (hostile.csv_huge_field, "Row 2 has a cell longer than 32,767 characters"),
    (hostile.csv_million_rows, "The file has more than 2,000 rows"),
])
def test_a_hostile_roster_file_gets_a_field_error_and_nothing_is_reported(landlord_client, rental_a, tmp_path,
                                                                          build, message):
    suffix = ".xlsx" if "xlsx" in build.__name__ else ".csv"
    path = build(tmp_path / f"list{suffix}")
    response = landlord_client.post(reverse("portal:roster", args=[rental_a.pk]), {
        "action": "compare", "upload": SimpleUploadedFile(path.name, path.read_bytes())})
    assert response.status_code == 200
    assert response.templates[0].name == "portal/roster_form.html"
    assert any(message in error for error in response.context["form"].errors["upload"])
    assert Submission.objects.count() == 0


def test_a_roster_file_over_the_cap_names_the_field(landlord_client, rental_a, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    response = landlord_client.post(reverse("portal:roster", args=[rental_a.pk]), {
        "action": "compare", "upload": SimpleUploadedFile("list.csv", b"1" * 4096)})
    assert response.context["form"].errors["upload"] == [
        "File: larger than 1 KB, the most a file may be; split it into smaller files."]
