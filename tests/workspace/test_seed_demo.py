import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from persons.models import Person


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_seed_demo_is_idempotent(demo):
    counts = Person.objects.count(), Person.objects.filter(registered_station__code="DEMO-S1").count()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (Person.objects.count(), Person.objects.filter(registered_station__code="DEMO-S1").count()) == counts
    assert counts[0] == 200


def test_every_demo_person_passes_validation(demo):
    for person in Person.objects.all():
        person.full_clean()


@pytest.mark.parametrize(("username", "own", "other"), [("staff_a", "DEMO-S1", "DEMO-S2"),
                                                         ("staff_b", "DEMO-S2", "DEMO-S1")])
def test_demo_login_lists_only_own_stations_residents(client, demo, settings, username, own, other):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}  # as bin/run's demo sets it
    client.post(reverse("login"), {"username": username, "password": "demo-pass-2026"})
    response = client.get(reverse("persons:person_list"))
    assert response.status_code == 200
    shown = {p.pk for p in response.context["page_obj"].paginator.object_list}
    assert shown == set(Person.objects.filter(registered_station__code=own).values_list("pk", flat=True))
    assert not shown & set(Person.objects.filter(registered_station__code=other).values_list("pk", flat=True))


def test_the_demo_has_lived_its_nights_and_keeps_a_guesthouse(client, demo, settings):
    """Issue 17, point 7: at first start the ratings have a history, verification requests are open, staff have
    notifications, and the demo landlord's guesthouse has guests in now and gone."""
    from lodging.models import Stay
    from patrol.models import PropertyRating, VerificationRequest
    from registry.models import Notification

    assert PropertyRating.objects.values("property").annotate(n=Count("pk")).filter(n__gte=3).exists()
    assert VerificationRequest.objects.filter(closed_on__isnull=True).exists()
    assert Notification.objects.filter(user__username__in=["staff_a", "officer_a", "staff_b"]).exists()
    stays = Stay.objects.all()
    assert stays.staying().exists() and stays.filter(checked_out_at__isnull=False).exists()
    assert stays.filter(is_late=True).exists() and stays.long().exists()
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    client.post(reverse("login"), {"username": "landlord", "password": "demo-pass-2026"})
    lodging = stays.first().property
    page = client.get(reverse("lodging_portal:register", args=[lodging.pk]))
    assert page.status_code == 200 and len(page.context["staying"]) == stays.staying().count()
