import datetime
import random

import factory
from faker import Faker

from persons.factories import PersonFactory
from persons.identity import make_resident_id
from registry.factories import CommunityFactory, StationFactory

from .models import Landlord, Property, PropertyTypeChoices, Residence, ResidenceSourceChoices, Unit

fake = Faker("zh_CN")
_rng = random.Random(11643)


class LandlordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Landlord

    name = factory.LazyFunction(fake.name)
    # A birth date of its own for each landlord: with one date for all, two landlords of a test could draw the
    # same region and sequence (it happened once in CI: the unique document constraint refused the second).
    document_number = factory.Sequence(
        lambda n: make_resident_id(birth_date=datetime.date(1950, 1, 1) + datetime.timedelta(days=n % 18000),
                                   sex="M", rng=_rng)
    )
    phone = factory.LazyFunction(lambda: "138" + "".join(_rng.choices("0123456789", k=8)))
    address = factory.LazyFunction(fake.street_address)
    station = factory.SubFactory(StationFactory)


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    address = factory.LazyFunction(lambda: fake.street_address())
    property_type = PropertyTypeChoices.RESIDENTIAL_FLAT
    community = factory.SubFactory(CommunityFactory)
    landlord = factory.SubFactory(LandlordFactory, station=factory.SelfAttribute("..community.station"))


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    property = factory.SubFactory(PropertyFactory)
    label = factory.Sequence(lambda n: f"{n % 30 + 1}0{n % 9 + 1}室")
    capacity = 4


class ResidenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Residence

    unit = factory.SubFactory(UnitFactory)
    person = factory.SubFactory(PersonFactory, registered_station=factory.SelfAttribute("..unit.property.station"))
    start_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=_rng.randrange(1, 700)))
    reason = "work"
    source = ResidenceSourceChoices.DESK
    status = "active"
    next_verification_due = factory.LazyAttribute(lambda o: o.start_date + datetime.timedelta(days=90))
