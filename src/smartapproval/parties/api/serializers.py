"""Library entries as the API shows them: numbers always masked.

Every role gets masked ID and phone numbers from the library, the window
clerk included; a full number is only given by the audited reveal.
"""

from rest_framework import serializers

from smartapproval.core.masking import mask_id_number, mask_phone
from smartapproval.parties.models import Enterprise, Person


class MaskedPartySerializer(serializers.ModelSerializer):
    """Mask the fields in ``masked_fields`` for every viewer."""

    masked_fields: dict = {}

    pii_masked = serializers.SerializerMethodField()

    def get_pii_masked(self, instance) -> bool:
        return True

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name, mask in self.masked_fields.items():
            data[name] = mask(data[name])
        return data


class PersonSerializer(MaskedPartySerializer):
    masked_fields = {"id_number": mask_id_number, "phone": mask_phone}

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "id_number",
            "phone",
            "address",
            "has_violation",
            "created_at",
            "updated_at",
            "pii_masked",
        ]
        read_only_fields = fields


class EnterpriseSerializer(MaskedPartySerializer):
    masked_fields = {
        "legal_representative_id_number": mask_id_number,
        "phone": mask_phone,
    }

    class Meta:
        model = Enterprise
        fields = [
            "id",
            "name",
            "uscc",
            "legal_representative",
            "legal_representative_id_number",
            "address",
            "phone",
            "has_violation",
            "created_at",
            "updated_at",
            "pii_masked",
        ]
        read_only_fields = fields


class RevealSerializer(serializers.Serializer):
    field = serializers.CharField()


class RevealedSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class PrefillSerializer(serializers.Serializer):
    applicant_kind = serializers.CharField()
    applicant_name = serializers.CharField()
    applicant_code = serializers.CharField()
    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()
    legal_representative = serializers.CharField()
    address = serializers.CharField()
