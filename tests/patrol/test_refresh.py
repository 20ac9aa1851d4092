"""A property is re-rated after its inputs change: once per transaction, after commit, never on rollback."""

import datetime
from unittest import mock

import pytest
from django.db import transaction

from housing.factories import ResidenceFactory
from housing.services import residence_end, residence_start
from patrol.models import PropertyRating
from patrol.refresh import rating_refresh_on_commit
from persons.factories import PersonFactory

TODAY = datetime.date.today()


def test_a_desk_registration_re_rates_the_property(rental_a, django_capture_on_commit_callbacks):
    unit = rental_a.units.first()
    with django_capture_on_commit_callbacks(execute=True):
        residence_start(person=PersonFactory(), unit=unit, start_date=TODAY, reason="work")
    rating = PropertyRating.objects.get(property=rental_a, is_current=True)
    assert rating.current_residents == 1 and rating.arrivals == 1


def test_many_changes_in_one_transaction_send_one_task(rental_a, rental_b, django_capture_on_commit_callbacks):
    unit_a, unit_b = rental_a.units.first(), rental_b.units.first()
    with mock.patch("patrol.tasks.properties_rate_task.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                for _ in range(3):
                    residence_start(person=PersonFactory(), unit=unit_a, start_date=TODAY, reason="work")
                departing = ResidenceFactory(unit=unit_b, start_date=TODAY - datetime.timedelta(days=9))
                residence_end(residence=departing, end_date=TODAY)
    delay.assert_called_once_with(sorted([rental_a.pk, rental_b.pk]))


def test_a_rolled_back_change_sends_nothing_and_leaves_no_stale_queue(rental_a, rental_b,
                                                                      django_capture_on_commit_callbacks):
    with mock.patch("patrol.tasks.properties_rate_task.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError), transaction.atomic():
                rating_refresh_on_commit(rental_a.pk)
                raise RuntimeError
            rating_refresh_on_commit(rental_b.pk)
    delay.assert_called_once_with([rental_b.pk])
