"""Reads of the guest register."""

from django.db.models import Count, Q
from django.utils import timezone

from housing.models import LODGING_TYPES, Property
from persons.models import Person

from .models import Stay

PERSON_STAYS = 20


def person_stays(user, person: Person) -> dict:
    """The person page: stays under the person's document at lodgings in the user's scope, newest first."""
    if not person.document_hash or not user.has_perm("lodging.view_stay"):
        return {}
    stays = (Stay.objects.visible_to(user).filter(document_hash=person.document_hash,
                                                   document_type=person.document_type)
             .select_related("property").order_by("-arrived_at", "-id")[:PERSON_STAYS])
    return {"stays": stays}


def lodgings_with_guests(user):
    """The user's lodgings, each with its guests in now and those who arrived today."""
    today_start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return (Property.objects.visible_to(user).filter(property_type__in=LODGING_TYPES)
            .annotate(in_now=Count("stays", filter=Q(stays__checked_out_at__isnull=True)),
                      arrived_today=Count("stays", filter=Q(stays__arrived_at__gte=today_start)))
            .select_related("community").order_by("address", "id"))
