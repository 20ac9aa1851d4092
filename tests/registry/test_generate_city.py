import io

from django.core.management import call_command
from django.db.models import Count

from housing.models import Landlord, Property, Residence, Unit
from persons.models import Person


def test_generate_city_builds_the_documented_shape_with_valid_people(db):
    call_command("generate_city", "--persons", "1000", "--stations", "5", "--communities", "20", stdout=io.StringIO())
    assert Person.objects.count() == 1000
    assert Property.objects.count() == 200
    assert Unit.objects.count() == 600
    assert 1100 <= Residence.objects.count() <= 1300
    # One current residence per person at most, and every generated record passes the model rules.
    assert not Residence.objects.filter(status__in=["active", "unconfirmed"]).values("person").annotate(
        n=Count("id")).filter(n__gt=1).exists()
    for person in Person.objects.order_by("?")[:50]:
        person.full_clean()
    for landlord in Landlord.objects.order_by("?")[:20]:
        landlord.full_clean()
    dormitory_share = Residence.objects.filter(status="active", unit__property__property_type="dormitory").count() / \
        Residence.objects.filter(status="active").count()
    assert 0.15 < dormitory_share < 0.35
