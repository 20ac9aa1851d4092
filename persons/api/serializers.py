from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from housing.models import ResidenceReasonChoices, Unit
from persons.choices import DocumentTypeChoices
from persons.models import Employer, Employment, Person
from registry.api.serializers import ModelCleanSerializer


class PersonSerializer(ModelCleanSerializer):
    """A person. The document number is write-only; reads show it masked (first 6, last 4)."""

    document_number = serializers.CharField(write_only=True, max_length=32)
    document_masked = serializers.CharField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "name", "sex", "birth_date", "document_type", "document_country", "document_number",
                  "document_masked", "phone", "hukou_address", "occupation", "registered_station", "version",
                  "created_at", "updated_at"]
        read_only_fields = ["registered_station", "version", "created_at", "updated_at"]
        extra_kwargs = {"document_country": {"required": False}}

    def prepare_instance(self, instance):
        request = self.context["request"]
        if instance.pk is None and instance.registered_station_id is None:
            from registry.scoping import scope_for

            stations = scope_for(request.user).station_ids or ()
            instance.registered_station_id = next(iter(stations)) if len(stations) == 1 else None


class UnmaskRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("Why the full number is needed; it is audited."))


class UnmaskedSerializer(serializers.Serializer):
    document_number = serializers.CharField()


class PlaceSerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    start_date = serializers.DateField()
    reason = serializers.ChoiceField(choices=ResidenceReasonChoices.choices)

    def get_fields(self):
        # Only units (and employers) the caller can see; anything else "does not exist".
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["unit"].queryset = Unit.objects.visible_to(request.user)
            if "employer" in fields:
                fields["employer"].queryset = Employer.objects.visible_to(request.user)
        return fields


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

        from persons.validators import validate_document

        document_type = self.initial_data.get("document_type") or DocumentTypeChoices.RESIDENT_ID
        try:
            return validate_document(document_type, value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class EmployerSerializer(ModelCleanSerializer):
    class Meta:
        model = Employer
        fields = ["id", "name", "uscc", "address", "contact_name", "contact_phone", "station", "version",
                  "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and "station" in fields and not fields["station"].read_only:
            from registry.models import Station
            from registry.scoping import scope_for

            scope = scope_for(request.user)
            fields["station"].queryset = (Station.objects.all() if scope.is_global
                                          else Station.objects.filter(pk__in=scope.station_ids or ()))
        return fields


class EmploymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Employment
        fields = ["id", "person", "employer", "job_title", "start_date", "end_date", "created_at"]
        read_only_fields = fields
