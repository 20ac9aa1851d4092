from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from housing.models import Property, Residence, ResidenceReasonChoices, Unit
from persons.choices import DocumentTypeChoices, SexChoices
from persons.validators import validate_document
from registry.api.serializers import limit_choices_to_scope

from ..models import RatingAppeal, RatingComponentChoices, Submission


class SubmissionSerializer(serializers.ModelSerializer):
    """A report as the reviewer and the sender see it; the document number is always masked."""

    document_masked = serializers.CharField(read_only=True)
    person_name = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["id", "kind", "property", "unit", "station", "document_type", "document_country",
                  "document_masked", "name", "person_name", "phone", "birth_date", "sex", "reason", "date",
                  "reported_on", "is_late", "status", "rejection_reason", "residence", "decided_at", "created_at",
                  "version"]
        read_only_fields = fields

    def get_person_name(self, obj) -> str:
        """The arrival's reported name, or the name of whoever the departure concerns."""
        if obj.kind == "departure" and obj.residence_id:
            return obj.residence.person.name
        return obj.name


class _OwnPropertyMixin:
    def get_fields(self):
        return limit_choices_to_scope(self, super().get_fields(), property=Property, unit=Unit, residence=Residence)


class ArrivalReportSerializer(_OwnPropertyMixin, serializers.Serializer):
    property = serializers.PrimaryKeyRelatedField(queryset=Property.objects.none())
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    document_type = serializers.ChoiceField(choices=DocumentTypeChoices.choices)
    document_number = serializers.CharField(max_length=32)
    document_country = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    birth_date = serializers.DateField(required=False, allow_null=True, default=None,
                                       help_text=_("Passports only."))
    sex = serializers.ChoiceField(choices=SexChoices.choices, required=False, allow_blank=True, default="",
                                  help_text=_("Passports only."))
    date = serializers.DateField(help_text=_("Moved in on."))
    reason = serializers.ChoiceField(choices=ResidenceReasonChoices.choices)

    def validate_document_number(self, value):
        """Checked beside the other fields, so that one answer lists every problem."""
        document_type = self.initial_data.get("document_type") if hasattr(self.initial_data, "get") else None
        if document_type not in DocumentTypeChoices.values:
            return value
        try:
            return validate_document(document_type, value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class DepartureReportSerializer(_OwnPropertyMixin, serializers.Serializer):
    property = serializers.PrimaryKeyRelatedField(queryset=Property.objects.none())
    residence = serializers.PrimaryKeyRelatedField(queryset=Residence.objects.none())
    date = serializers.DateField(help_text=_("Moved out on."))


class RejectSerializer(serializers.Serializer):
    rejection_reason = serializers.CharField(max_length=1000)
    version = serializers.IntegerField(required=False, help_text=_("Or send the ETag in If-Match."))


class DecideSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, help_text=_("Or send the ETag in If-Match."))


class RatingAppealSerializer(serializers.ModelSerializer):
    class Meta:
        model = RatingAppeal
        fields = ["id", "property", "rating", "component", "comment", "status", "answer", "answered_at",
                  "created_at", "version"]
        read_only_fields = fields


class AppealCreateSerializer(_OwnPropertyMixin, serializers.Serializer):
    property = serializers.PrimaryKeyRelatedField(queryset=Property.objects.none())
    component = serializers.ChoiceField(choices=RatingComponentChoices.choices)
    comment = serializers.CharField(max_length=2000)
