"""Ending a residence asks why (issue 17, point 4): required on the page and in the API, stored, shown in the
reader's language; a move records where the person went, not a sentence in the writer's language."""

import datetime

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory, UnitFactory
from housing.models import Residence
from housing.services import residence_move

TODAY = datetime.date.today()


def test_the_page_requires_a_reason_and_stores_it(client, staff_a, community_a):
    residence = ResidenceFactory(unit__property__community=community_a, start_date=TODAY - datetime.timedelta(days=9))
    client.force_login(staff_a)
    url = reverse("residences:end", args=[residence.pk])
    assert 'name="end_reason"' in client.get(url).content.decode()
    missing = client.post(url, {"end_date": TODAY.isoformat(), "version": residence.version})
    assert missing.status_code == 200 and "end_reason" in missing.context["form"].errors
    residence.refresh_from_db()
    assert residence.status == "active"
    client.post(url, {"end_date": TODAY.isoformat(), "end_reason": "deceased", "version": residence.version})
    residence.refresh_from_db()
    assert (residence.status, residence.end_reason) == ("ended", "deceased")


def test_the_api_end_action_requires_a_reason(staff_a, community_a):
    residence = ResidenceFactory(unit__property__community=community_a, start_date=TODAY - datetime.timedelta(days=9))
    api = APIClient()
    api.force_authenticate(staff_a)
    url = f"/api/v1/residences/{residence.pk}/end/"
    missing = api.post(url, {"end_date": TODAY.isoformat(), "version": residence.version}, format="json")
    assert missing.status_code == 400 and "end_reason" in missing.json()["fields"]
    wrong = api.post(url, {"end_date": TODAY.isoformat(), "end_reason": "vanished", "version": residence.version},
                     format="json")
    assert wrong.status_code == 400
    done = api.post(url, {"end_date": TODAY.isoformat(), "end_reason": "left_district",
                          "version": residence.version}, format="json")
    assert done.status_code == 200 and done.json()["end_reason"] == "left_district"


def test_a_move_records_the_unit_and_the_page_says_it_in_the_readers_language(client, staff_a, community_a,
                                                                             community_b):
    old = ResidenceFactory(unit__property__community=community_a, start_date=TODAY - datetime.timedelta(days=90))
    target = UnitFactory(property__community=community_b, property__address="乙二路8号", label="305")
    with translation.override("zh-hans"):
        residence_move(person=old.person, unit=target, start_date=TODAY, reason="work")
    old.refresh_from_db()
    assert (old.end_reason, old.moved_to_id, old.note) == ("moved_within", target.pk, "")
    for language, words in (("en", ["Moved out: Moved within the district", "Moved to 乙二路8号 305"]),
                            ("zh-hans", ["迁出原因：辖区内迁移", "已迁至 乙二路8号 305"])):
        with translation.override(language):
            html = render_to_string("residences/_end_reason.html", {"residence": old})
        assert all(word in html for word in words), (language, html)
    client.force_login(staff_a)
    person_page = client.get(reverse("persons:person_detail", args=[old.person_id]))
    assert person_page.status_code == 200


def test_the_old_move_notes_become_the_unit_moved_to(community_a):
    """Migration 0013: a "Moved to" line in either language becomes ``moved_to``; other lines stay."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("housing.migrations.0013_residence_move_note_to_moved_to")
    old = ResidenceFactory(unit__property__community=community_a, start_date=TODAY - datetime.timedelta(days=90),
                           status="ended", end_date=TODAY - datetime.timedelta(days=5))
    new = ResidenceFactory(person=old.person, unit__property__community=community_a,
                           start_date=TODAY - datetime.timedelta(days=5))
    english = ResidenceFactory(unit__property__community=community_a, status="ended",
                               start_date=TODAY - datetime.timedelta(days=90),
                               end_date=TODAY - datetime.timedelta(days=4))
    english_next = ResidenceFactory(person=english.person, unit__property__community=community_a,
                                    start_date=TODAY - datetime.timedelta(days=4))
    orphan = ResidenceFactory(unit__property__community=community_a, status="ended",
                              start_date=TODAY - datetime.timedelta(days=90),
                              end_date=TODAY - datetime.timedelta(days=3))
    Residence.objects.filter(pk=old.pk).update(note=f"退租\n已迁至 {new.unit}")
    Residence.objects.filter(pk=english.pk).update(note=f"Moved to {english_next.unit}")
    Residence.objects.filter(pk=orphan.pk).update(note="已迁至 某处")
    migration.notes_to_moved_to(apps, None)
    rows = {r.pk: r for r in Residence.objects.filter(pk__in=[old.pk, english.pk, orphan.pk])}
    assert (rows[old.pk].note, rows[old.pk].moved_to_id, rows[old.pk].end_reason) == ("退租", new.unit_id,
                                                                                      "moved_within")
    assert (rows[english.pk].note, rows[english.pk].moved_to_id) == ("", english_next.unit_id)
    assert (rows[orphan.pk].note, rows[orphan.pk].moved_to_id) == ("已迁至 某处", None)
