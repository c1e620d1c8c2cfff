from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from domains.cors import MAX_PATTERN_LENGTH
from domains.hostnames import MAX_TYPED_LENGTH
from domains.models import (
    CorsOrigin,
    CustomDomain,
    CustomDomainCertificateStatus,
    CustomDomainStatus,
)
from imgwire_site.api.fields import StrictCharField


@extend_schema_serializer(component_name="CorsOriginSchema")
class CorsOriginSerializer(serializers.ModelSerializer):
    environment_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = CorsOrigin
        fields = ["id", "environment_id", "pattern", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="CorsOriginCreateSchema")
class CorsOriginCreateSerializer(serializers.Serializer):
    # Surrounding blanks (a sloppy paste) are trimmed; blanks inside are refused by the parser.
    pattern = StrictCharField(min_length=1, max_length=MAX_PATTERN_LENGTH)


@extend_schema_serializer(component_name="CorsOriginUpdateSchema")
class CorsOriginUpdateSerializer(serializers.Serializer):
    """The PATCH body of the reference: ``pattern`` is required, so this is never partial.

    drf-spectacular marks every PATCH body partial (and renames it "Patched…"); the
    property below keeps the documented schema, and validation, complete.
    """

    pattern = StrictCharField(min_length=1, max_length=MAX_PATTERN_LENGTH)

    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value) -> None:
        pass


# Named components, as in the reference (drf-spectacular would otherwise name them after
# the field and deduplicate by hashing).
@extend_schema_field(
    {
        "type": "string",
        "enum": CustomDomainStatus.values,
        "description": "Represents connection status for custom domains.",
    },
    component_name="CustomDomainStatus",
)
class CustomDomainStatusField(serializers.CharField):
    pass


@extend_schema_field(
    {
        "type": "string",
        "enum": CustomDomainCertificateStatus.values,
        "description": "Represents SSL certificate status for custom domains.",
    },
    component_name="CustomDomainCertificateStatus",
)
class CustomDomainCertificateStatusField(serializers.CharField):
    pass


@extend_schema_serializer(component_name="CustomDomainSchema")
class CustomDomainSerializer(serializers.ModelSerializer):
    environment_id = serializers.UUIDField(read_only=True)
    cname_record = serializers.CharField(read_only=True)
    cname_value = serializers.CharField(read_only=True)
    dcv_cname_record = serializers.CharField(read_only=True)
    dcv_cname_value = serializers.CharField(read_only=True)
    # Not read_only: the schema would wrap the reference's plain $ref in allOf. This
    # serializer only ever renders output.
    certificate_status = CustomDomainCertificateStatusField()
    status = CustomDomainStatusField()
    # Additive: why the status is what it is, and what to do next.
    status_reason = serializers.CharField(read_only=True)

    class Meta:
        model = CustomDomain
        fields = [
            "id",
            "environment_id",
            "hostname",
            "cname_record",
            "cname_value",
            "dcv_cname_record",
            "dcv_cname_value",
            "certificate_status",
            "status",
            "status_reason",
            "last_verified_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="CustomDomainCreateSchema")
class CustomDomainCreateSerializer(serializers.Serializer):
    # Checked and normalised by domains.hostnames (422 saying why); this bounds the input.
    hostname = StrictCharField(min_length=1, max_length=MAX_TYPED_LENGTH)
