import datetime

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from housing.models import Property, Residence
from registry.api.serializers import limit_choices_to_scope

from ..filtersets import PermitStatusChoices
from ..models import (
    Inspection,
    PropertyRating,
    ResidencePermit,
    VerificationRequest,
    Visit,
    VisitOutcome,
    VisitOutcomeChoices,
)
from ..selectors import visit_residences
from ..services import permit_eligible_since


class _InScopeMixin:
    """``property`` and ``residence`` choices within the caller's scope: any other id "does not exist"."""

    def get_fields(self):
        return limit_choices_to_scope(self, super().get_fields(), property=Property, residence=Residence)


# ---- visits ---------------------------------------------------------------------------------------


class VisitOutcomeSerializer(serializers.ModelSerializer):
    """What the visit found for one residence: the residence id only, no personal data."""

    class Meta:
        model = VisitOutcome
        fields = ["residence", "outcome", "moved_out_on"]
        read_only_fields = fields


class VisitSerializer(serializers.ModelSerializer):
    outcomes = VisitOutcomeSerializer(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = ["id", "property", "visited_on", "visited_by", "note", "outcomes", "created_at"]
        read_only_fields = fields


class VisitOutcomeInputSerializer(serializers.Serializer):
    residence = serializers.IntegerField(min_value=1, max_value=2**63 - 1,
                                         help_text=_("A current residence of the visited property."))
    outcome = serializers.ChoiceField(choices=VisitOutcomeChoices.choices)
    moved_out_on = serializers.DateField(required=False, allow_null=True, default=None,
                                         help_text=_("Needed when the outcome is moved_out; ignored otherwise."))


class VisitCreateSerializer(_InScopeMixin, serializers.Serializer):
    """A visit: one answer for every current resident of the property in your scope."""

    property = serializers.PrimaryKeyRelatedField(queryset=Property.objects.none())
    visited_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    outcomes = VisitOutcomeInputSerializer(many=True, required=False, default=list)

    def validate_outcomes(self, value):
        residences = [item["residence"] for item in value]
        if len(residences) != len(set(residences)):
            raise serializers.ValidationError(_("Each residence may be answered only once."))
        # Outside the caller's scope a residence does not exist; whether it lives here is the service's check.
        visible = set(Residence.objects.visible_to(self.context["request"].user).filter(pk__in=residences)
                      .values_list("pk", flat=True))
        unknown = serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
        errors = [{} if pk in visible else {"residence": [unknown.format(pk_value=pk)]} for pk in residences]
        if any(errors):
            raise serializers.ValidationError(errors)
        return value

    def validate(self, attrs):
        """Like the visit page, an answer for each current resident in your scope (``visit_residences``)."""
        answered = {item["residence"] for item in attrs["outcomes"]}
        expected = visit_residences(self.context["request"].user, attrs["property"]).values_list("pk", flat=True)
        missing = sorted(set(expected) - answered)
        if missing:
            raise serializers.ValidationError({"outcomes": [
                _("Every current resident needs an answer (confirmed, moved out or not found); missing: "
                  "residences %(ids)s.") % {"ids": ", ".join(map(str, missing))}]})
        return attrs


# ---- inspections ----------------------------------------------------------------------------------


class InspectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Inspection
        fields = ["id", "property", "inspected_on", "inspector", *Inspection.CHECKLIST, "passed", "notes",
                  "created_at"]
        read_only_fields = fields


class InspectionCreateSerializer(_InScopeMixin, serializers.Serializer):
    """The safety checklist: true (pass) or false (fail) for every item."""

    property = serializers.PrimaryKeyRelatedField(queryset=Property.objects.none())
    inspected_on = serializers.DateField()
    fire_extinguishers = serializers.BooleanField()
    escape_routes = serializers.BooleanField()
    wiring = serializers.BooleanField()
    partitions = serializers.BooleanField()
    gas = serializers.BooleanField()
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


# ---- residence permits ----------------------------------------------------------------------------


class ResidencePermitSerializer(serializers.ModelSerializer):
    """A permit with its holder's id and name only: never the document number."""

    person_name = serializers.CharField(source="person.name", read_only=True)
    status = serializers.ChoiceField(source="expiry_state", choices=PermitStatusChoices.choices, read_only=True,
                                     help_text=_("As of today; expiring: within the reminder window."))

    class Meta:
        model = ResidencePermit
        fields = ["id", "number", "person", "person_name", "station", "issued_on", "expires_on", "last_endorsed_on",
                  "status", "created_at"]
        read_only_fields = fields


class PermitIssueSerializer(_InScopeMixin, serializers.Serializer):
    residence = serializers.PrimaryKeyRelatedField(queryset=Residence.objects.none(),
                                                   help_text=_("The holder's current residence in your scope."))
    number = serializers.CharField(max_length=32)
    issued_on = serializers.DateField()


class PermitEndorseSerializer(serializers.Serializer):
    expires_on = serializers.DateField(required=False, help_text=_(
        "The expiry date you last read; or send the permit's ETag in If-Match. A permit endorsed meanwhile is "
        "not endorsed twice (412)."))


class EligibleResidenceSerializer(serializers.ModelSerializer):
    """A current residence long enough for a residence permit, whose person holds no valid one."""

    person_name = serializers.CharField(source="person.name", read_only=True)
    unit_label = serializers.CharField(source="unit.label", read_only=True)
    property = serializers.IntegerField(source="unit.property_id", read_only=True)
    eligible_since = serializers.SerializerMethodField()

    class Meta:
        model = Residence
        fields = ["id", "person", "person_name", "unit", "unit_label", "property", "start_date", "eligible_since"]
        read_only_fields = fields

    def get_eligible_since(self, obj) -> datetime.date:
        return permit_eligible_since(obj)


# ---- ratings and verification requests --------------------------------------------------------------


class PropertyRatingSerializer(serializers.ModelSerializer):
    """A property's compliance rating: points per component (null: no data) and the evidence behind them."""

    class Meta:
        model = PropertyRating
        fields = ["id", "property", "computed_at", "is_current", "total", "stars",
                  "registration", "verification", "inspection", "occupancy", "agreement",
                  "arrivals", "arrivals_on_time", "departures", "departures_on_time", "current_residents",
                  "overdue_residents", "last_inspection_on", "last_inspection_passed", "units_over_capacity",
                  "agreement_signed_on", "requests_unanswered"]
        read_only_fields = fields


class VerificationRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = VerificationRequest
        fields = ["id", "property", "kind", "opened_on", "due_since", "closed_on", "escalated_on"]
        read_only_fields = fields
