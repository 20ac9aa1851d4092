"""Unusual access by staff, flagged for a supervisor's review (issue 16, point 3).

A flag is about a staff user's access on one day under one rule, never about a resident, and nothing happens
to the user because of it: a supervisor reads the events behind it and marks it justified or not, with a note.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models import Station
from registry.scoping import scope_for


class RuleChoices(models.TextChoices):
    MANY_PERSONS = "many_persons", _("Many more persons viewed than usual")
    NO_WORK_LINK = "no_work_link", _("Persons with no work link")
    UNMASKINGS = "unmaskings", _("Many unmaskings")
    AFTER_HOURS = "after_hours", _("Access outside working hours")
    LARGE_EXPORT = "large_export", _("Large export")


class FlagStatusChoices(models.TextChoices):
    OPEN = "open", _("Waiting for review")
    JUSTIFIED = "justified", _("Justified")
    NOT_JUSTIFIED = "not_justified", _("Not justified")


class AccessFlagQuerySet(models.QuerySet):
    def visible_to(self, user):
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.station_ids and user.has_perm("oversight.view_accessflag"):
            return self.filter(station_id__in=scope.station_ids)
        return self.none()


class AccessFlag(models.Model):
    # The user, as the audit trail names them (plain columns: a flag outlives an account's changes).
    actor_id = models.BigIntegerField(_("user id"))
    actor_username = models.CharField(_("user"), max_length=150)
    station = models.ForeignKey(Station, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("station"))
    rule = models.CharField(_("rule"), max_length=20, choices=RuleChoices.choices)
    day = models.DateField(_("day"))
    figures = models.JSONField(_("figures"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=FlagStatusChoices.choices,
                              default=FlagStatusChoices.OPEN)
    review_note = models.TextField(_("note"), blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AccessFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("access flag")
        verbose_name_plural = _("access flags")
        constraints = [models.UniqueConstraint(fields=["actor_id", "rule", "day"], name="accessflag_once_a_day")]
        indexes = [models.Index(fields=["station", "status", "-day"], name="accessflag_station_idx")]

    def __str__(self):
        return f"{self.day} {self.actor_username} {self.rule}"

    def describe(self) -> str:
        """The figures that made the rule fire, in words (oversight/rules.py writes them)."""
        figures = self.figures
        texts = {
            RuleChoices.MANY_PERSONS: _("%(persons)s persons viewed; usually %(median)s a day (the flag is above "
                                        "%(factor)s times that and above %(floor)s)."),
            RuleChoices.NO_WORK_LINK: _("%(persons)s persons read with no work link to the user in the last "
                                        "%(days)s days."),
            RuleChoices.UNMASKINGS: _("%(unmaskings)s unmaskings (the flag is above %(limit)s)."),
            RuleChoices.AFTER_HOURS: _("%(events)s reads, unmaskings or exports outside working hours "
                                       "(%(working_hours)s)."),
            RuleChoices.LARGE_EXPORT: _("%(exports)s exports, the largest %(largest)s rows (the flag is above "
                                        "%(limit)s)."),
        }
        try:
            return texts[self.rule] % figures
        except (KeyError, TypeError, ValueError):
            return ", ".join(f"{name}: {value}" for name, value in figures.items())
