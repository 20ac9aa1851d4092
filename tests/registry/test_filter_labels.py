"""Filter labels follow each reader's language, whoever (or whatever) read them first."""

import re

from django.urls import reverse


def _labels(html: str) -> list[str]:
    return re.findall(r"<label[^>]*>([^<]*)<", html)


def test_labels_stay_chinese_after_an_english_reader_and_the_schema_generator(client, staff_a):
    client.force_login(staff_a)
    chinese = _labels(client.get(reverse("persons:person_list")).content.decode())
    assert "性别" in chinese
    client.get("/api/schema/")
    english = _labels(client.get(reverse("persons:person_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert _labels(client.get(reverse("persons:person_list")).content.decode()) == chinese
    assert "Sex" in english and "性别" not in english
