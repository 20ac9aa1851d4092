from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from persons.choices import DocumentTypeChoices
from persons.models import Employer, Employment, Person
from persons.validators import normalize_document_number, normalize_phone
from registry.api.serializers import ModelCleanSerializer, limit_choices_to_scope
from registry.models import Station
from registry.scoping import scope_for


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
            instance.registered_station_id = scope_for(request.user).single_station_id


class UnmaskRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("Why the full number is needed; it is audited."))


class ReplaceDocumentSerializer(serializers.Serializer):
    """A new identity document for the same person; checked by ``person_replace_document`` as at registration."""

    document_type = serializers.ChoiceField(choices=DocumentTypeChoices.choices)
    document_country = serializers.CharField(required=False, allow_blank=True, max_length=3, help_text=_(
        "Passports only: the three-letter code of the issuing country."))
    document_number = serializers.CharField(max_length=32, help_text=_("The new document's number; in the body, "
                                                                       "never in a URL."))
    reason = serializers.CharField(max_length=500, help_text=_("Why the document is replaced; it is audited."))
    version = serializers.IntegerField(required=False, help_text=_(
        "The version you read, if you do not send If-Match."))


class UnmaskedSerializer(serializers.Serializer):
    document_number = serializers.CharField()


class PersonLookupSerializer(serializers.Serializer):
    """A lookup by a whole document number or a whole phone number, in the body: never in a URL, where proxies,
    access logs and browser histories would keep it (docs/api.md)."""

    document_number = serializers.CharField(required=False, max_length=40, help_text=_(
        "A whole identity-document number (any type); spaces and dashes are ignored."))
    phone = serializers.CharField(required=False, max_length=24, help_text=_(
        "A whole phone number: a mobile number, or a landline with its area code."))

    def validate_document_number(self, value):
        return normalize_document_number(value)

    def validate_phone(self, value):
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate(self, attrs):
        given = [name for name in ("document_number", "phone") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(_("Give either document_number or phone, not both and not neither."))
        return attrs


class PersonLookupResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text=_("How many persons in your scope match."))
    results = PersonSerializer(many=True, help_text=_("The first 100 of them, by name."))


class EmployerSerializer(ModelCleanSerializer):
    class Meta:
        model = Employer
        fields = ["id", "name", "uscc", "address", "contact_name", "contact_phone", "station", "version",
                  "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]

    def get_fields(self):
        return limit_choices_to_scope(self, super().get_fields(), station=Station)


class EmploymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Employment
        fields = ["id", "person", "employer", "job_title", "start_date", "end_date", "created_at"]
        read_only_fields = fields
