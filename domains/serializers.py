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

# The shapes domains.cors and domains.hostnames accept, as patterns the OpenAPI document
# can carry. They are necessary, not sufficient (IDNA, lengths after punycode, reserved
# names are checked by the parsers, which say why): tests/test_openapi_constraints.py
# checks that every value the parsers accept matches.
# Escapes, not characters: the same text is a Python and an ECMA-262 regular expression.
_SEPARATOR = r"[.\u3002\uff0e\uff61]"  # the dots IDNA splits labels on
# Neither separators (so a name splits into labels one way only: no backtracking blow-up
# in a client's validator), nor blanks and C1 controls (both parsers refuse them).
_NON_ASCII = r"[^\u0000-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u3002\uff0e\uff61]"


def _label(ascii_chars: str) -> str:
    """An ASCII label (no hyphen at either end, 1-63 characters), or any label with a
    non-ASCII character (its length and hyphens are judged on the punycode form)."""
    ascii_label = f"[{ascii_chars}](?:[{ascii_chars}-]{{0,61}}[{ascii_chars}])?"
    return f"(?:{ascii_label}|{_non_ascii_label(ascii_chars)})"


def _non_ascii_label(ascii_chars: str) -> str:
    return f"[{ascii_chars}-]*{_NON_ASCII}(?:[{ascii_chars}-]|{_NON_ASCII})*"


_HOST_LABEL = _label("A-Za-z0-9")
# The last label of a host name is not all digits (that would be an IPv4 address).
_TOP_LABEL = (
    "(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9-]*-[A-Za-z0-9-]*[A-Za-z0-9]"
    f"|{_non_ascii_label('A-Za-z0-9')})"
)
HOSTNAME_PATTERN = (
    f"^{_HOST_LABEL}(?:{_SEPARATOR}{_HOST_LABEL})+{_SEPARATOR}{_TOP_LABEL}{_SEPARATOR}?$"
)
_CORS_LABEL = _label("A-Za-z0-9_")
_CORS_HOST = f"{_CORS_LABEL}(?:{_SEPARATOR}{_CORS_LABEL})*{_SEPARATOR}?"
# A wildcard needs two labels after "*."; an IPv6 address is bracketed (a zone may follow).
_CORS_WILDCARD = rf"\*\.{_CORS_LABEL}(?:{_SEPARATOR}{_CORS_LABEL})+{_SEPARATOR}?"
_IPV6 = r"\[[0-9A-Fa-f:.]+(?:%[^\[\]/?#@\s]+)?\]"
CORS_PATTERN_PATTERN = (
    f"^(?:[Hh][Tt][Tt][Pp][Ss]?://)?(?:{_CORS_WILDCARD}|{_IPV6}|{_CORS_HOST})(?::[0-9]{{1,5}})?$"
)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_PATTERN_LENGTH,
        "pattern": CORS_PATTERN_PATTERN,
        "description": "A host, optionally with http:// or https://, a leading *. wildcard "
        "label and a :port; never a path, query, fragment or credentials "
        "(app.example.com, https://*.example.com, localhost:3000).",
    }
)
class CorsPatternField(StrictCharField):
    pass


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_TYPED_LENGTH,
        "pattern": HOSTNAME_PATTERN,
        "description": "A host name of at least three labels (a subdomain, which can hold a "
        "CNAME), such as img.example.com; Unicode labels are stored as punycode. No "
        "scheme, port, path, wildcard or IP address.",
    }
)
class HostnameField(StrictCharField):
    pass


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
    pattern = CorsPatternField(min_length=1, max_length=MAX_PATTERN_LENGTH)


@extend_schema_serializer(component_name="CorsOriginUpdateSchema")
class CorsOriginUpdateSerializer(serializers.Serializer):
    """The PATCH body of the reference: ``pattern`` is required, so this is never partial.

    drf-spectacular marks every PATCH body partial (and renames it "Patched…"); the
    property below keeps the documented schema, and validation, complete.
    """

    pattern = CorsPatternField(min_length=1, max_length=MAX_PATTERN_LENGTH)

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
    hostname = HostnameField(min_length=1, max_length=MAX_TYPED_LENGTH)
