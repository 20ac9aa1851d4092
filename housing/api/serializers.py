from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from housing.models import Landlord, Property, Residence, ResidenceReasonChoices, Unit
from persons.models import Employer
from registry.api.serializers import ModelCleanSerializer


class LandlordSerializer(ModelCleanSerializer):
    document_number = serializers.CharField(write_only=True, max_length=32)
    document_masked = serializers.CharField(read_only=True)

    class Meta:
        model = Landlord
        fields = ["id", "name", "document_type", "document_country", "document_number", "document_masked", "phone",
                  "address", "station", "version", "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]
        extra_kwargs = {"document_country": {"required": False}}

    def get_fields(self):
        fields = super().get_fields()
        _limit_station_choices(self, fields)
        return fields


def _limit_station_choices(serializer, fields):
    from registry.models import Station
    from registry.scoping import scope_for

    request = serializer.context.get("request")
    if request is None or "station" not in fields or fields["station"].read_only:
        return
    scope = scope_for(request.user)
    fields["station"].queryset = (Station.objects.all() if scope.is_global
                                  else Station.objects.filter(pk__in=scope.station_ids or ()))


class _ScopedRelated(serializers.PrimaryKeyRelatedField):
    model = None

    def get_queryset(self):
        return self.model.objects.visible_to(self.context["request"].user)


class ScopedLandlordField(_ScopedRelated):
    model = Landlord


class ScopedEmployerField(_ScopedRelated):
    model = Employer


class ScopedCommunityField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        from housing.filtersets import communities_in_scope

        return communities_in_scope(self.context["request"].user)


class ScopedPropertyField(_ScopedRelated):
    model = Property


class PropertySerializer(ModelCleanSerializer):
    landlord = ScopedLandlordField(required=False, allow_null=True)
    employer = ScopedEmployerField(required=False, allow_null=True)
    community = ScopedCommunityField()

    class Meta:
        model = Property
        fields = ["id", "registration_number", "address", "property_type", "community", "station", "landlord",
                  "employer", "agreement_signed_on", "version", "created_at", "updated_at"]
        read_only_fields = ["registration_number", "station", "version", "created_at", "updated_at"]


class UnitSerializer(ModelCleanSerializer):
    property = ScopedPropertyField()
    occupants = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Unit
        fields = ["id", "property", "label", "capacity", "occupants", "version", "created_at"]
        read_only_fields = ["version", "created_at"]


class ResidenceSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)

    class Meta:
        model = Residence
        fields = ["id", "person", "person_name", "unit", "station", "start_date", "end_date", "reason", "source",
                  "status", "next_verification_due", "reported_on", "note", "version", "created_at", "updated_at"]
        read_only_fields = fields


class ResidenceEndSerializer(serializers.Serializer):
    end_date = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    version = serializers.IntegerField(required=False, help_text=_("Or send the ETag in If-Match."))


class ResidenceMoveSerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    start_date = serializers.DateField()
    reason = serializers.ChoiceField(choices=ResidenceReasonChoices.choices)

    def get_fields(self):
        fields = super().get_fields()
        fields["unit"].queryset = Unit.objects.visible_to(self.context["request"].user)
        return fields


class ResidenceCorrectSerializer(serializers.Serializer):
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    reason = serializers.ChoiceField(choices=ResidenceReasonChoices.choices, required=False)
    reason_for_change = serializers.CharField(max_length=500)
    version = serializers.IntegerField(required=False, help_text=_("Or send the ETag in If-Match."))
