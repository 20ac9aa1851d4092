"""What a user would otherwise have: stock Django and DRF, without this project's tuning.

Mounted only by ``bench.urls`` (bench settings), never by the product's URLs:

* a stock admin site whose ``PersonAdmin`` has ``search_fields`` (no scope, default changelist with its
  counts). The document number is encrypted, so no stock admin can search it; the baseline is given the
  keyed digest instead, which ``=document_hash`` matches exactly, and ORs it with the other fields as the
  admin always does;
* registration through one plain ``ModelForm`` view (person + residence, saved in one transaction);
* naive DRF ``ModelViewSet`` lists (``fields = "__all__"``-style serializers, page-number pagination
  with its ``COUNT(*)``, ``filterset_fields``, no ``select_related``, no scope);
* a naive dashboard: one ``count()`` per figure per station;
* ``ping``: a view that touches nothing, the HTTP stack's floor.
"""

import datetime

from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, pagination, permissions, serializers, viewsets

from housing.models import CURRENT_RESIDENCE_STATUSES, Property, Residence
from patrol.models import PropertyRating, ResidencePermit, VerificationRequest
from persons.models import Person
from portal.models import Submission
from registry.models import ChangeLog, Station
from registry.scoping import scope_for

SEARCH_FIELDS = ["name", "name_pinyin", "name_initials", "phone", "=document_hash"]

# --- the stock admin --------------------------------------------------------------------------------

site = admin.AdminSite(name="bench_admin")


class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "sex", "birth_date", "phone", "registered_station"]
    search_fields = SEARCH_FIELDS
    exclude = ["document_number"]


site.register(Person, PersonAdmin)


# --- registration through a plain ModelForm ---------------------------------------------------------

class PersonForm(forms.ModelForm):
    document_number = forms.CharField(max_length=32)

    class Meta:
        model = Person
        fields = ["document_type", "document_number", "name", "sex", "birth_date", "phone"]


class ResidenceForm(forms.ModelForm):
    class Meta:
        model = Residence
        fields = ["unit", "start_date", "reason"]


@login_required
def register(request):
    """POST: save the person and the residence; the ModelForms' own validation only."""
    person_form = PersonForm(request.POST or None)
    residence_form = ResidenceForm(request.POST or None)
    if request.method == "POST" and person_form.is_valid() and residence_form.is_valid():
        with transaction.atomic():
            person = person_form.save()
            residence = residence_form.save(commit=False)
            residence.person, residence.source, residence.created_by = person, "desk", request.user
            residence.save()
        return redirect(f"/persons/{person.pk}/")
    if request.method == "POST":
        return JsonResponse({"errors": {**person_form.errors, **residence_form.errors}}, status=400)
    return HttpResponse("POST person and residence fields here.")


# --- naive DRF lists ---------------------------------------------------------------------------------

class NaivePage(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        exclude = ["document_number"]


class ResidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Residence
        fields = "__all__"


class ChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeLog
        fields = "__all__"


class NaiveViewSet(viewsets.ModelViewSet):
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = NaivePage
    filter_backends = [DjangoFilterBackend, filters.SearchFilter]
    http_method_names = ["get"]


class PersonViewSet(NaiveViewSet):
    queryset = Person.objects.order_by("-id")
    serializer_class = PersonSerializer
    filterset_fields = ["sex", "document_type", "registered_station"]
    search_fields = SEARCH_FIELDS


class ResidenceViewSet(NaiveViewSet):
    queryset = Residence.objects.order_by("-id")
    serializer_class = ResidenceSerializer
    filterset_fields = {"status": ["exact"], "station": ["exact"], "next_verification_due": ["lte"]}


class ChangeViewSet(NaiveViewSet):
    queryset = ChangeLog.objects.order_by("seq")
    serializer_class = ChangeSerializer
    filterset_fields = {"station_id": ["exact"], "seq": ["gt"]}


# --- a naive dashboard ---------------------------------------------------------------------------------

@login_required
def dashboard(request):
    """The station figures, one count() per figure per station: 9 queries a station."""
    scope = scope_for(request.user)
    stations = Station.objects.all() if scope.is_global else Station.objects.filter(pk__in=scope.station_ids or ())
    today = timezone.localdate()
    rows = []
    for station in stations:
        current = Residence.objects.filter(station=station, status__in=CURRENT_RESIDENCE_STATUSES)
        rows.append({
            "station": station.name,
            "residents": current.count(),
            "unconfirmed": current.filter(status="unconfirmed").count(),
            "overdue": current.filter(next_verification_due__lt=today).count(),
            "due_soon": current.filter(next_verification_due__gte=today,
                                       next_verification_due__lte=today + datetime.timedelta(days=7)).count(),
            "properties": Property.objects.filter(station=station).count(),
            "waiting": Submission.objects.filter(station=station, status="waiting").count(),
            "late_year": Submission.objects.filter(station=station, is_late=True,
                                                   reported_on__gte=today - datetime.timedelta(days=365)).count(),
            "permits_expiring": ResidencePermit.objects.filter(
                station=station, expires_on__gte=today, expires_on__lte=today + datetime.timedelta(days=30)).count(),
            "escalated": VerificationRequest.objects.filter(property__station=station, closed_on__isnull=True,
                                                            escalated_on__isnull=False).count(),
            "five_stars": PropertyRating.objects.filter(property__station=station, is_current=True,
                                                        stars=5).count(),
        })
    return render(request, "bench/dashboard.html", {"rows": rows})


def ping(request):
    return HttpResponse("ok")

