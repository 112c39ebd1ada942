"""Forms of the online hall: search, progress lookup and registration."""

from django import forms
from django.contrib.auth import password_validation
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from smartapproval.accounts.models import ApplicantKind, User
from smartapproval.catalogue.models import ItemType
from smartapproval.core import codes

MOBILE_VALIDATOR = RegexValidator(
    r"^1[3-9]\d{9}$",
    message=_("Enter an 11-digit mobile phone number."),
    code="invalid_phone",
)


class HallForm(forms.Form):
    """A form whose labels end without a colon: the page marks them instead."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ItemSearchForm(HallForm):
    q = forms.CharField(
        label=_("Service name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("For example: 营业执照")}
        ),
    )
    item_type = forms.ChoiceField(
        label=_("Item type"),
        choices=[("", _("All types")), *ItemType.choices],
        required=False,
    )


class UnechoedTextInput(forms.TextInput):
    """A text box that never sends its value back in the page.

    For ID numbers typed at a kiosk: the answer page must not show the
    whole number to the next person at the screen.
    """

    def format_value(self, value):
        return None


class ProgressForm(HallForm):
    number = forms.CharField(
        label=_("Case number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    applicant_code = forms.CharField(
        label=_("Applicant's ID number or unified social credit code"),
        max_length=18,
        widget=UnechoedTextInput(attrs={"autocomplete": "off"}),
    )

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().upper()

    def clean_applicant_code(self) -> str:
        return self.cleaned_data["applicant_code"].strip().upper()


class RegistrationForm(HallForm):
    """Parse an applicant's sign-up; the codes are checked by the service."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[User.username_validator],
        help_text=_("Letters, digits and @/./+/-/_ only."),
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        help_text=_("Your real name; for an enterprise, the contact person."),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=11,
        validators=[MOBILE_VALIDATOR],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    applicant_kind = forms.ChoiceField(
        label=_("I apply as"),
        choices=ApplicantKind.choices,
        initial=ApplicantKind.PERSON,
        widget=forms.RadioSelect,
    )
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        required=False,
        help_text=_("Required for a natural person."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    enterprise_name = forms.CharField(
        label=_("Enterprise name"), max_length=200, required=False
    )
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        help_text=_("Required for a legal person: 18 characters."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    legal_representative = forms.CharField(
        label=_("Legal representative"), max_length=60, required=False
    )
    uscc_confirmed = forms.BooleanField(
        label=_("I have checked the code against the business licence"),
        required=False,
    )

    # Fields each kind of applicant must fill in besides the common ones.
    KIND_FIELDS = {
        ApplicantKind.PERSON: ("id_number",),
        ApplicantKind.ENTERPRISE: ("enterprise_name", "uscc", "legal_representative"),
    }
    # The code each kind of applicant gives, and its check.
    KIND_CODES = {
        ApplicantKind.PERSON: ("id_number", codes.check_resident_id),
        ApplicantKind.ENTERPRISE: ("uscc", codes.check_uscc),
    }

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(
                _("This username is taken."), code="username_taken"
            )
        return username

    def clean(self) -> dict:
        cleaned = super().clean()

        kind = cleaned.get("applicant_kind")
        for field in self.KIND_FIELDS.get(kind, ()):
            if not (cleaned.get(field) or "").strip():
                self.add_error(field, _("This field is required."))
        self._check_code(kind, cleaned)

        password1 = cleaned.get("password1")
        password2 = cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords do not match."))
        elif password1:
            user = User(username=cleaned.get("username", ""), name=cleaned.get("name"))
            try:
                password_validation.validate_password(password1, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)

        return cleaned

    def _check_code(self, kind: str | None, cleaned: dict) -> None:
        """Refuse a wrong code with the check's reason and its warnings.

        The service checks the code again; here the warnings, such as "this
        looks like a resident ID number" for a credit code, reach the field
        together with the error, as the code-check API gives them.
        """
        if kind not in self.KIND_CODES:
            return
        field, check = self.KIND_CODES[kind]
        value = (cleaned.get(field) or "").strip()
        if not value:
            return
        result = check(value)
        if not result.valid:
            self.add_error(field, [result.message, *result.warnings])
