from rest_framework import serializers

from persons.models import Person


class PersonSerializer(serializers.ModelSerializer):
    """A person as the API shows them: the document number masked, never in full."""

    document_number = serializers.CharField(source="document_masked", read_only=True)

    class Meta:
        model = Person
        fields = ["id", "name", "sex", "birth_date", "document_type", "document_country", "document_number",
                  "phone", "hukou_address", "occupation", "registered_station", "version", "created_at",
                  "updated_at"]
        read_only_fields = fields
