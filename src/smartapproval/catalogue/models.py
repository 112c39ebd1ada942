"""Service items (事项) with the national implementation-list elements."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from smartapproval.accounts.models import Department
from smartapproval.core.models import LimitUnit


def limit_text(value: int, unit: str) -> str:
    """Write a time limit with its unit, as in "20 个工作日"."""
    formats = {
        LimitUnit.WORKING_DAYS: gettext("%(value)s working days"),
        LimitUnit.NATURAL_DAYS: gettext("%(value)s natural days"),
        LimitUnit.MONTHS: gettext("%(value)s months"),
    }
    return formats[LimitUnit(unit)] % {"value": value}


class ItemType(models.TextChoices):
    """National codes of item types (权力类型)."""

    LICENSING = "1", "行政许可"
    PENALTY = "2", "行政处罚"
    ENFORCEMENT = "3", "行政强制"
    LEVY = "4", "行政征收"
    BENEFIT = "5", "行政给付"
    INSPECTION = "6", "行政检查"
    CONFIRMATION = "7", "行政确认"
    REWARD = "8", "行政奖励"
    ADJUDICATION = "9", "行政裁决"
    OTHER_POWER = "10", "其他行政权力"
    PUBLIC_SERVICE = "20", "公共服务"


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ApplicantScope(models.TextChoices):
    PERSON = "person", _("Natural persons")
    ENTERPRISE = "enterprise", _("Legal persons")
    BOTH = "both", _("Natural and legal persons")


class ServiceItem(models.Model):
    """One service item of the implementation list, as an applicant finds it.

    An item is published only when it has its time limits; a 行政许可 item
    imported without one gets the statutory legal limit of 20 working days,
    shown as a default until an administrator confirms it.
    """

    implementation_code = models.CharField(
        _("implementation code"), max_length=80, unique=True
    )
    basic_code = models.CharField(_("basic code"), max_length=40, blank=True)
    implementing_body_code = models.CharField(
        _("implementing body code"),
        max_length=40,
        blank=True,
        help_text=_(
            "Code of the body that implements the item, as the implementation "
            "code carries it; may differ from the department's own code."
        ),
    )
    name = models.CharField(_("name"), max_length=200, db_index=True)
    group_name = models.CharField(_("parent item"), max_length=200, blank=True)
    item_type = models.CharField(_("item type"), max_length=2, choices=ItemType.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("implementing department"),
        on_delete=models.PROTECT,
        related_name="items",
    )
    region_code = models.CharField(_("region code"), max_length=12, blank=True)
    applicant_scope = models.CharField(
        _("who may apply"),
        max_length=20,
        choices=ApplicantScope.choices,
        default=ApplicantScope.BOTH,
    )

    legal_limit_value = models.PositiveIntegerField(
        _("legal time limit"), null=True, blank=True
    )
    legal_limit_unit = models.CharField(
        _("legal limit unit"),
        max_length=20,
        choices=LimitUnit.choices,
        default=LimitUnit.WORKING_DAYS,
    )
    legal_limit_confirmed = models.BooleanField(
        _("legal limit confirmed"),
        default=False,
        help_text=_("False while the limit is the statutory default."),
    )
    promised_limit_value = models.PositiveIntegerField(
        _("promised time limit"), null=True, blank=True
    )
    promised_limit_unit = models.CharField(
        _("promised limit unit"),
        max_length=20,
        choices=LimitUnit.choices,
        default=LimitUnit.WORKING_DAYS,
    )

    acceptance_conditions = models.TextField(_("acceptance conditions"), blank=True)
    on_site_visits = models.PositiveSmallIntegerField(_("on-site visits"), default=1)
    on_site_reason = models.CharField(
        _("reason for visits"), max_length=200, blank=True
    )
    handling_modes = models.JSONField(_("handling modes"), default=list, blank=True)
    online_depth = models.PositiveSmallIntegerField(_("online depth"), default=0)
    fee = models.TextField(_("fees"), blank=True)
    result_name = models.CharField(_("result"), max_length=200, blank=True)
    result_type = models.CharField(_("result type"), max_length=40, blank=True)
    legal_bases = models.JSONField(_("legal bases"), default=list, blank=True)
    faq = models.JSONField(_("FAQ"), default=list, blank=True)
    window = models.JSONField(_("window"), default=dict, blank=True)
    consultation_phone = models.CharField(
        _("consultation phone"), max_length=40, blank=True
    )
    complaint_phone = models.CharField(_("complaint phone"), max_length=40, blank=True)
    review_channels = models.JSONField(_("review rights"), default=dict, blank=True)
    special_procedures = models.JSONField(
        _("special procedures"), default=list, blank=True
    )
    lead_department_name = models.CharField(
        _("lead department"), max_length=100, blank=True
    )
    co_department_names = models.JSONField(
        _("co-departments"), default=list, blank=True
    )
    # 告知承诺制: the applicant may commit to meeting the conditions instead
    # of proving them; the materials marked ``commitment_replaces`` are then
    # not required, and the lead department verifies the commitment after
    # an approval.
    notify_commit_allowed = models.BooleanField(
        _("notify-and-commit allowed"),
        default=False,
        help_text=_(
            "The applicant may commit instead of proving (告知承诺制); the "
            "commitment replaces the materials marked for it."
        ),
    )
    commitment_statement = models.TextField(
        _("commitment statement"),
        blank=True,
        help_text=_(
            "The text the applicant agrees to. Leave empty for the standard "
            "text, which names the replaced materials."
        ),
    )
    verification_limit_value = models.PositiveSmallIntegerField(
        _("verification within (working days)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Working days after an approval within which the lead department "
            "verifies the commitment."
        ),
    )

    version = models.PositiveIntegerField(_("version"), default=1)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ItemStatus.choices, default=ItemStatus.DRAFT
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    source_hash = models.CharField(_("source fingerprint"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        ordering = ["department__sort_order", "name"]
        indexes = [models.Index(fields=["status", "department"])]
        constraints = [
            models.CheckConstraint(
                name="promised_not_above_legal",
                condition=models.Q(promised_limit_value__isnull=True)
                | models.Q(legal_limit_value__isnull=True)
                | ~models.Q(promised_limit_unit=models.F("legal_limit_unit"))
                | models.Q(promised_limit_value__lte=models.F("legal_limit_value")),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == ItemStatus.PUBLISHED

    @property
    def is_immediate(self) -> bool:
        """即办件: decided on the spot."""
        return self.promised_limit_value == 0

    @property
    def legal_limit_text(self) -> str:
        """The legal limit as a guide shows it, marking an unconfirmed default."""
        if self.legal_limit_value is None:
            return gettext("Not set")
        text = limit_text(self.legal_limit_value, self.legal_limit_unit)
        if not self.legal_limit_confirmed:
            return gettext("Statutory default %(limit)s (to be confirmed)") % {
                "limit": text
            }
        return text

    @property
    def promised_limit_text(self) -> str:
        if self.promised_limit_value is None:
            return gettext("Not set")
        if self.promised_limit_value == 0:
            return gettext("Decided on the spot")
        return limit_text(self.promised_limit_value, self.promised_limit_unit)


class MaterialRequirement(models.Model):
    """A material the applicant must or may submit for an item."""

    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("service item"),
        on_delete=models.CASCADE,
        related_name="materials",
    )
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=300)
    required = models.BooleanField(_("required"), default=True)
    deferrable = models.BooleanField(
        _("may be deferred"),
        default=False,
        help_text=_("May be supplied after conditional acceptance (容缺)."),
    )
    commitment_replaces = models.BooleanField(
        _("replaced by a commitment"),
        default=False,
        help_text=_(
            "Under notify-and-commit (告知承诺制) the applicant's commitment "
            "stands in for this material."
        ),
    )
    originals = models.PositiveSmallIntegerField(_("originals"), default=0)
    copies = models.PositiveSmallIntegerField(_("copies"), default=0)
    paper = models.CharField(_("paper"), max_length=20, blank=True)
    sign = models.CharField(_("signature or seal"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=60, blank=True)
    note = models.TextField(_("note"), blank=True)
    basis = models.CharField(_("basis"), max_length=300, blank=True)
    # The material is the result of another item (项目建议书批复, 选址意见书):
    # only a licence of one of these may stand in for it.
    accepts_results = models.JSONField(
        _("other items' results it accepts"),
        default=list,
        blank=True,
        help_text=_(
            'A list of result names or item codes, e.g. ["项目建议书批复"]: an '
            "e-licence issued as one of these may stand in for the material. "
            "Empty: a licence stands in when the material's name names its "
            "result."
        ),
    )

    class Meta:
        verbose_name = _("material requirement")
        verbose_name_plural = _("material requirements")
        ordering = ["item", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "order"], name="material_order_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class ServiceItemVersion(models.Model):
    """A frozen copy of an item as it stood at one version.

    The copy of version N is written when version N is superseded; the
    current version is the item itself.
    """

    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("service item"),
        on_delete=models.CASCADE,
        related_name="versions",
    )
    version = models.PositiveIntegerField(_("version"))
    snapshot = models.JSONField(_("snapshot"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("item version")
        verbose_name_plural = _("item versions")
        ordering = ["item", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "version"], name="item_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item} v{self.version}"


class ReviewProcess(models.Model):
    """One version of a review route (审查路线): a BPMN 2.0 process.

    A route belongs to an item, or is a shipped template named by ``key``
    when it has no item. Each import adds a version and makes it the active
    one; earlier versions stay, since a case keeps running on the version it
    started with.
    """

    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("service item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="review_processes",
    )
    key = models.SlugField(
        _("template key"),
        max_length=60,
        blank=True,
        help_text=_("Names a shipped route template, e.g. single-department."),
    )
    version = models.PositiveIntegerField(_("version"))
    process_id = models.CharField(_("BPMN process id"), max_length=255)
    name = models.CharField(_("name"), max_length=200)
    bpmn_xml = models.TextField(_("BPMN XML"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    user_tasks = models.JSONField(_("user tasks"), default=list, blank=True)
    warnings = models.JSONField(_("import warnings"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("review process")
        verbose_name_plural = _("review processes")
        ordering = ["item_id", "key", "-version"]
        constraints = [
            models.CheckConstraint(
                name="review_process_item_or_key",
                condition=models.Q(item__isnull=False) | ~models.Q(key=""),
            ),
            models.UniqueConstraint(
                fields=["item", "version"],
                condition=models.Q(item__isnull=False),
                name="review_process_item_version_unique",
            ),
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=models.Q(item__isnull=True),
                name="review_process_key_version_unique",
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(item__isnull=False, is_active=True),
                name="review_process_one_active_per_item",
            ),
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(item__isnull=True, is_active=True),
                name="review_process_one_active_per_key",
            ),
        ]

    def __str__(self) -> str:
        owner = self.item.name if self.item_id else self.key
        return f"{owner} {self.name} v{self.version}"
