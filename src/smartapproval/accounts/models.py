"""Users, departments and roles: who may see and do what."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A government body that implements service items or reviews cases."""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Unified social credit code, or organisation code."),
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    region_code = models.CharField(_("region code"), max_length=12, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    CLERK = "clerk", _("Window clerk")
    REVIEWER = "reviewer", _("Reviewer")
    MANAGER = "manager", _("Centre manager")
    REGULATOR = "regulator", _("Regulator")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.MANAGER, Role.ADMIN})
# Roles whose work needs full ID and phone numbers of their department's
# applicants without a reveal step: the clerk checks the ID card at the window.
FULL_PII_ROLES = frozenset({Role.CLERK})


class ApplicantKind(models.TextChoices):
    PERSON = "person", _("Natural person")
    ENTERPRISE = "enterprise", _("Legal person")


class User(AbstractUser):
    """A person who signs in: an applicant, a member of staff or a regulator.

    Staff belong to one department and see only its cases and tasks; centre
    managers and administrators see every department.
    """

    name = models.CharField(_("name"), max_length=60, blank=True)
    role = models.CharField(
        _("role"), max_length=20, choices=Role.choices, default=Role.APPLICANT
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    applicant_kind = models.CharField(
        _("applicant kind"), max_length=20, choices=ApplicantKind.choices, blank=True
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.name or self.username

    @property
    def is_applicant(self) -> bool:
        return self.role == Role.APPLICANT

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def sees_all_departments(self) -> bool:
        return self.is_superuser or self.role in {Role.MANAGER, Role.ADMIN}
