import datetime
import random

import factory
from faker import Faker

from registry.factories import StationFactory

from .choices import DocumentTypeChoices, SexChoices
from .identity import make_resident_id
from .models import Employer, Employment, Person

fake = Faker("zh_CN")
_rng = random.Random(2026)


def _uscc(seed: int) -> str:
    from stdnum.cn.uscc import calc_check_digit

    body = f"91110000{seed:09d}"
    return body + calc_check_digit(body)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    sex = factory.LazyFunction(lambda: _rng.choice([SexChoices.MALE, SexChoices.FEMALE]))
    birth_date = factory.LazyFunction(
        lambda: datetime.date(1960, 1, 1) + datetime.timedelta(days=_rng.randrange(0, 365 * 45))
    )
    name = factory.LazyAttribute(lambda o: fake.name_male() if o.sex == SexChoices.MALE else fake.name_female())
    document_type = DocumentTypeChoices.RESIDENT_ID
    document_number = factory.LazyAttribute(
        lambda o: make_resident_id(birth_date=o.birth_date, sex=o.sex, rng=_rng)
    )
    phone = factory.LazyFunction(lambda: "1" + _rng.choice("3456789") + "".join(_rng.choices("0123456789", k=9)))
    hukou_address = factory.LazyFunction(lambda: fake.province() + fake.city_name())
    occupation = factory.LazyFunction(lambda: _rng.choice(["厨师", "快递员", "工人", "店员", "教师", "程序员", "司机"]))
    registered_station = factory.SubFactory(StationFactory)


class EmployerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employer

    name = factory.LazyFunction(fake.company)
    uscc = factory.Sequence(_uscc)
    address = factory.LazyFunction(fake.street_address)
    contact_name = factory.LazyFunction(fake.name)
    contact_phone = factory.LazyFunction(lambda: "139" + "".join(_rng.choices("0123456789", k=8)))
    station = factory.SubFactory(StationFactory)


class EmploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employment

    person = factory.SubFactory(PersonFactory)
    employer = factory.SubFactory(EmployerFactory)
    job_title = "工人"
    start_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=200))
