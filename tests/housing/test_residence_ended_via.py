"""Departures an owner reported or a visit found are recorded as such (``ended_via``) and said in the reader's
language, not written into the note in the language of whoever approved or visited (issue 17, point 4)."""

import datetime
from importlib import import_module

from django.apps import apps
from django.template.loader import render_to_string
from django.utils import translation

from housing.factories import ResidenceFactory
from housing.models import Residence
from patrol.services import visit_record
from portal.models import Submission
from portal.services import submission_approve

TODAY = datetime.date.today()


def test_an_approved_departure_report_and_a_visit_say_how_the_residence_ended_in_the_readers_language(
        community_a, staff_a, officer_a, rental_a, landlord_a):
    reported = ResidenceFactory(unit__property=rental_a, start_date=TODAY - datetime.timedelta(days=90))
    found = ResidenceFactory(unit__property=rental_a, start_date=TODAY - datetime.timedelta(days=90))
    report = Submission.objects.create(kind="departure", property=rental_a, unit=reported.unit, residence=reported,
                                       date=TODAY - datetime.timedelta(days=2), reported_on=TODAY,
                                       submitted_by=landlord_a.user)
    submission_approve(submission=report, actor=staff_a)
    visit_record(prop=rental_a, visited_on=TODAY, actor=officer_a, note="",
                 outcomes={found.pk: ("moved_out", TODAY - datetime.timedelta(days=1))})
    reported.refresh_from_db()
    found.refresh_from_db()
    assert (reported.ended_via, reported.note) == ("owner", "")
    assert (found.ended_via, found.note) == ("visit", "")
    with translation.override("en"):
        assert "reported by the owner on" in render_to_string("residences/_end_reason.html", {"residence": reported})
        assert "found on a visit" in render_to_string("residences/_end_reason.html", {"residence": found})
    with translation.override("zh-hans"):
        assert "产权方" in render_to_string("residences/_end_reason.html", {"residence": reported})
        assert "走访" in render_to_string("residences/_end_reason.html", {"residence": found})


def test_the_old_sentences_in_either_language_become_ended_via(community_a):
    """Migration 0014: the owner's and the visit's sentences leave the note; other lines stay."""
    migration = import_module("housing.migrations.0014_residence_ended_via")
    ago = datetime.timedelta
    rows = [ResidenceFactory(unit__property__community=community_a, status="ended", start_date=TODAY - ago(days=90),
                             end_date=TODAY - ago(days=3)) for _ in range(5)]
    notes = ["退租\n已搬离：产权方于 2026-11-02 申报", "Moved out: reported by the owner on 2026-11-02",
             "已搬离（走访发现）", "Moved out (found on a visit)", "搬走了"]
    for residence, note in zip(rows, notes, strict=True):
        Residence.objects.filter(pk=residence.pk).update(note=note)
    migration.notes_to_ended_via(apps, None)
    after = {r.pk: (r.note, r.ended_via) for r in Residence.objects.filter(pk__in=[r.pk for r in rows])}
    assert [after[r.pk] for r in rows] == [("退租", "owner"), ("", "owner"), ("", "visit"), ("", "visit"),
                                           ("搬走了", "")]
