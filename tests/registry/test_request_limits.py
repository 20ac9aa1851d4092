"""Request bodies over the caps are refused from their Content-Length, before anything reads them
(registry.uploads.RequestBodyLimitMiddleware)."""

import pytest
from django.urls import reverse

from housing.models import ImportJob

GB = 1024 ** 3


class Unreadable:
    """A request body that fails the test if anything reads it."""

    def __init__(self):
        self.reads = 0

    def read(self, *args, **kwargs):
        self.reads += 1
        raise AssertionError("the body was read")

    readline = read


def _post(client, path, length: int, **extra):
    body = Unreadable()
    response = client.generic("POST", path, **{"wsgi.input": body, "CONTENT_LENGTH": str(length),
                                               "CONTENT_TYPE": "multipart/form-data; boundary=x", **extra})
    assert body.reads == 0
    return response


def test_an_upload_over_the_cap_is_refused_from_its_content_length_without_being_read(client, staff_a):
    client.force_login(staff_a)
    response = _post(client, reverse("imports:upload"), GB, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    text = response.content.decode()
    assert "This upload is larger than 20 MB, the most the registry accepts; nothing was saved." in text
    assert 'href="/imports/"' in text  # back to the form
    assert ImportJob.objects.count() == 0


def test_the_refusal_is_in_the_users_language_and_follows_the_setting(client, staff_a, settings):
    settings.UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    client.force_login(staff_a)
    response = _post(client, reverse("imports:upload"), 7 * 1024 * 1024, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 413
    assert "5 MB" in response.content.decode() and "上传" in response.content.decode()


def test_a_body_just_over_the_file_cap_reaches_the_form_which_names_the_field(client, staff_a, settings):
    """The cap is on the file; the body may be a little larger (the form around it), so such a file gets the
    page's field error rather than the bare refusal."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.UPLOAD_MAX_BYTES = 1024
    client.force_login(staff_a)
    response = client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("a.csv", b"x" * 2000)},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "File: larger than 1 KB, the most a file may be; split it into smaller files."]
    assert ImportJob.objects.count() == 0


def test_an_api_call_over_the_cap_gets_the_apis_error_format(client, staff_a):
    client.force_login(staff_a)
    response = _post(client, "/api/v1/persons/", GB, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response.json()["error"] == "too_large" and "20 MB" in response.json()["detail"]


def test_an_anonymous_300_mb_post_to_the_login_page_is_refused_unread(client):
    response = _post(client, reverse("login"), 300 * 1024 * 1024, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/accounts/login/", "/portal/password-reset/", "/imports/"])
def test_before_sign_in_a_body_over_64_kb_is_refused_unread(client, db, path):
    response = _post(client, path, 65 * 1024, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert "Before you log in, a form may send at most 64 KB" in response.content.decode()


def test_an_authorization_header_outside_the_api_does_not_lift_the_anonymous_cap(client, db):
    response = _post(client, reverse("login"), 65 * 1024, HTTP_AUTHORIZATION="Token anything",
                     HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413


def test_the_login_form_itself_still_works(client, staff_a):
    staff_a.set_password("a long enough password 1")
    staff_a.save()
    response = client.post(reverse("login"), {"username": "staff_a", "password": "a long enough password 1"})
    assert response.status_code == 302


def test_an_api_token_call_over_the_anonymous_cap_is_authenticated_before_its_body_is_read(client, db):
    response = _post(client, "/api/v1/persons/", 200 * 1024, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401


def test_a_body_in_chunks_without_a_length_is_refused(client, staff_a):
    client.force_login(staff_a)
    body = Unreadable()
    response = client.generic("POST", reverse("imports:upload"), **{
        "wsgi.input": body, "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_TYPE": "multipart/form-data; boundary=x",
        "HTTP_ACCEPT_LANGUAGE": "en"})
    assert response.status_code == 411 and body.reads == 0
    assert "Content-Length" in response.content.decode()
