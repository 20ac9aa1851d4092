import factory
from django.contrib.auth import get_user_model

from .models import Community, District, Profile, Station
from .roles import RoleChoices


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}区")


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station
        django_get_or_create = ["code"]

    district = factory.SubFactory(DistrictFactory)
    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}派出所")


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community
        django_get_or_create = ["code"]

    station = factory.SubFactory(StationFactory)
    code = factory.Sequence(lambda n: f"C{n:04d}")
    name = factory.Sequence(lambda n: f"第{n}社区")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "demo-pass-2026")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """``UserFactory(role="staff", station=...)`` gives the user a profile."""
        if not create or not extracted:
            return
        Profile.objects.update_or_create(
            user=self, defaults={"role": extracted, "station": kwargs.get("station"),
                                 "district": kwargs.get("district")},
        )
        self.save()


def make_user(role: str, *, username: str | None = None, station=None, district=None,
              password: str = "demo-pass-2026"):  # noqa: S107  (demo and test users only)
    """A user with a role and its scope, saved; the one helper tests and the demo seed share."""
    user_model = get_user_model()
    username = username or f"{role}-{user_model.objects.count() + 1}"
    user, _ = user_model.objects.get_or_create(username=username)
    user.set_password(password)
    user.is_staff = role == RoleChoices.ADMIN
    user.is_superuser = role == RoleChoices.ADMIN
    user.save()
    if role in (RoleChoices.STAFF, RoleChoices.OFFICER):
        district = None
    Profile.objects.update_or_create(user=user, defaults={"role": role, "station": station, "district": district})
    return user
