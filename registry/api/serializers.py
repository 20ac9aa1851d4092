from rest_framework import serializers

from registry.models import ApiToken, ChangeLog


class ChangeSerializer(serializers.ModelSerializer):
    cursor = serializers.IntegerField(source="seq")
    type = serializers.CharField(source="object_type")
    id = serializers.CharField(source="object_id")

    class Meta:
        model = ChangeLog
        fields = ["cursor", "at", "action", "type", "id", "version"]


class ChangePageSerializer(serializers.Serializer):
    results = ChangeSerializer(many=True)
    next_cursor = serializers.IntegerField(help_text="Pass as ?after= to continue; equals the request's `after` "
                                                     "when nothing new has been committed.")
    has_more = serializers.BooleanField()


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
