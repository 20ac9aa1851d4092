from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from housing.models import Landlord, Property, Residence, ResidenceEndReasonChoices, ResidenceReasonChoices, Unit
from persons.choices import DocumentTypeChoices
from persons.models import Employer, Person
from persons.validators import validate_document
from registry.api.serializers import ModelCleanSerializer, ScopedRelatedField, limit_choices_to_scope
from registry.models import Community, Station


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
        return limit_choices_to_scope(self, super().get_fields(), station=Station)


class ScopedLandlordField(ScopedRelatedField):
    choices = Landlord


class ScopedEmployerField(ScopedRelatedField):
    choices = Employer


class ScopedCommunityField(ScopedRelatedField):
    choices = Community.objects.order_by("name")


class ScopedPropertyField(ScopedRelatedField):
    choices = Property


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
        fields = ["id", "person", "person_name", "unit", "station", "start_date", "end_date", "end_reason", "moved_to",
                  "ended_via",
                  "reason", "source", "status", "next_verification_due", "reported_on", "note", "version",
                  "created_at", "updated_at"]
        read_only_fields = fields


class ResidenceEndSerializer(serializers.Serializer):
    end_date = serializers.DateField()
    end_reason = serializers.ChoiceField(choices=ResidenceEndReasonChoices.choices,
                                         help_text=_("Why the person left; counted on the dashboards."))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    version = serializers.IntegerField(required=False, help_text=_("Or send the ETag in If-Match."))


class ResidenceMoveSerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    start_date = serializers.DateField()
    reason = serializers.ChoiceField(choices=ResidenceReasonChoices.choices)

    def get_fields(self):
        return limit_choices_to_scope(self, super().get_fields(), unit=Unit)


class ResidenceCorrectSerializer(serializers.Serializer):
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    reason = serializers.ChoiceField(choices=ResidenceReasonChoices.choices, required=False)
    reason_for_change = serializers.CharField(max_length=500)
    version = serializers.IntegerField(required=False, help_text=_("Or send the ETag in If-Match."))


class PlaceSerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    start_date = serializers.DateField()
    reason = serializers.ChoiceField(choices=ResidenceReasonChoices.choices)

    def get_fields(self):
        # Only units (and employers) the caller can see; anything else "does not exist".
        return limit_choices_to_scope(self, super().get_fields(), unit=Unit, employer=Employer)


class RegisterSerializer(PlaceSerializer):
    """Register a resident: the person by document (created if new, moved here if known) and the unit."""

    document_type = serializers.ChoiceField(choices=DocumentTypeChoices.choices,
                                            default=DocumentTypeChoices.RESIDENT_ID)
    document_country = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    document_number = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=100)
    sex = serializers.ChoiceField(choices=Person._meta.get_field("sex").choices)
    birth_date = serializers.DateField()
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    hukou_address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    occupation = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    employer = serializers.PrimaryKeyRelatedField(queryset=Employer.objects.none(), required=False, allow_null=True,
                                                  default=None)

    def validate_document_number(self, value):
        from django.core.exceptions import ValidationError as DjangoValidationError

        document_type = self.initial_data.get("document_type") or DocumentTypeChoices.RESIDENT_ID
        try:
            return validate_document(document_type, value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
