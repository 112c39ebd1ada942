"""The working-day calendar: one row per day of every year it covers."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LimitUnit(models.TextChoices):
    """Units of a time limit; deadlines.compute_due counts in each."""

    WORKING_DAYS = "working_days", _("working days")
    NATURAL_DAYS = "natural_days", _("natural days")
    MONTHS = "months", _("months")


class DayKind(models.TextChoices):
    WORKDAY = "workday", _("Working day")
    WEEKEND = "weekend", _("Weekend")
    HOLIDAY = "holiday", _("Statutory holiday")
    ADJUSTED_WORKDAY = "adjusted_workday", _("Adjusted working day")


class CalendarSource(models.TextChoices):
    CHINESECALENDAR = "chinesecalendar", _("chinesecalendar package")
    OFFICIAL = "official", _("Official schedule import")
    ADMIN = "admin", _("Edited by an administrator")


class CalendarYear(models.Model):
    """A year whose official schedule the calendar holds.

    A year without a row here is not covered: dates in it are computed from
    the statutory holiday rules and weekends and marked provisional.
    """

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(
        _("source"), max_length=20, choices=CalendarSource.choices
    )
    loaded_at = models.DateTimeField(_("loaded at"), auto_now=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """One day of a covered year: whether offices work, and why."""

    date = models.DateField(_("date"), primary_key=True)
    kind = models.CharField(_("kind"), max_length=20, choices=DayKind.choices)
    is_workday = models.BooleanField(_("working day"))
    holiday_name = models.CharField(_("holiday"), max_length=40, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=CalendarSource.choices
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.get_kind_display()}"


class CalendarRevision(models.Model):
    """The calendar's change token: a new value on every committed change.

    There is one row. Every process keeps the calendar it has read in memory
    under this token and reads it again when the token differs, so an import
    or an edit takes effect everywhere without a restart. Writers lock this
    row first, which also makes calendar writes run one at a time.
    """

    token = models.CharField(_("token"), max_length=32)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar revision")
        verbose_name_plural = _("calendar revisions")

    def __str__(self) -> str:
        return self.token
