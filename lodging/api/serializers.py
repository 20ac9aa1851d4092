from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from housing.models import LODGING_TYPES, Property
from persons.choices import DocumentTypeChoices

from ..models import Stay


class StaySerializer(serializers.ModelSerializer):
    document_masked = serializers.CharField(read_only=True)

    class Meta:
        model = Stay
        fields = ["id", "property", "station", "room", "name", "document_type", "document_country", "document_masked",
                  "nights", "arrived_at", "checked_in_at", "is_late", "checked_out_at", "version"]
        read_only_fields = fields


class StayCheckInSerializer(serializers.Serializer):
    """A guest checked in: the lodging must be one of the caller's (an operator's token)."""

    property = serializers.PrimaryKeyRelatedField(queryset=Property.objects.none())
    document_type = serializers.ChoiceField(choices=DocumentTypeChoices.choices)
    document_number = serializers.CharField(max_length=32)
    document_country = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=100)
    room = serializers.CharField(max_length=20)
    nights = serializers.IntegerField(min_value=1, max_value=365)
    arrived_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text=_("When the guest arrived; now if left out."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["property"].queryset = Property.objects.visible_to(request.user).filter(
                property_type__in=LODGING_TYPES)


class StayCheckOutSerializer(serializers.Serializer):
    checked_out_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                               help_text=_("When the guest left; now if left out."))
    version = serializers.IntegerField(required=False, min_value=1,
                                       help_text=_("The version read, if no If-Match header is sent."))
