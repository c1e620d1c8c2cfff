from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from domains.cors import MAX_PATTERN_LENGTH
from domains.models import CorsOrigin
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
