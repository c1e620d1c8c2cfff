from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from images.models import DownloadStatus, Image, ImageDownloadJob, ImageStatus, SupportedMimeType
from images.processing.formats import EXTENSION_TO_MIME
from images.services.downloads import download_url_for
from images.services.library import MAX_TAG_LENGTH, MAX_TAGS
from imgwire_site.api.fields import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_STRING_LENGTH,
    MetadataField,
    StrictCharField,
    StrictIntegerField,
)
from keys.models import UploadToken

# The bounds MetadataField enforces, in the reference's shape.
METADATA_VALUE_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            {"type": "string", "maxLength": MAX_METADATA_STRING_LENGTH},
            {"type": "integer"},
            {"type": "number"},
            {"type": "boolean"},
        ]
    },
    "propertyNames": {"minLength": 1, "maxLength": MAX_METADATA_KEY_LENGTH},
    "maxProperties": MAX_METADATA_KEYS,
}


@extend_schema_field(METADATA_VALUE_SCHEMA)
class CustomMetadataField(MetadataField):
    pass


# The rule images.services.uploads applies, as a pattern the document can carry: the last
# path segment has a dot after its leading dots and does not end with one. \A and \Z are
# written ^ and $ in the document (a Python $ would also match before a final newline).
FILE_NAME_WITH_EXTENSION = RegexValidator(
    r"\A(?:[^/\\]*[/\\])*\.*[^./\\][^/\\]*\.[^./\\]+\Z",
    "file_name must include a file extension, like photo.jpg",
    "string_pattern_mismatch",
)
# Either case, as sha256sum and certutil print it; stored lowercase like hexdigest().
SHA256_HEX = RegexValidator(
    r"\A[0-9a-fA-F]{64}\Z",
    "hash_sha256 must be the SHA-256 of the bytes as 64 hexadecimal characters",
    "string_pattern_mismatch",
)


COORDINATES = RegexValidator(
    r"\A\d{1,7},\d{1,7},\d{1,7},\d{1,7}\Z",
    "custom_coordinates must be x,y,width,height as whole numbers, like 10,10,100,100",
    "string_pattern_mismatch",
)


class Sha256Field(StrictCharField):
    def to_internal_value(self, data):
        return super().to_internal_value(data).lower()


@extend_schema_field({"type": "string", "format": "uri", "minLength": 1, "maxLength": 4096})
class RemoteUrlField(StrictCharField):
    """Checked by the fetcher (scheme, host, addresses), which says why it refuses one."""


class LibraryFieldsMixin(serializers.Serializer):
    """Where an upload goes in the library (additive to the reference; docs/library.md).
    The library service checks them again, for every door alike."""

    tags = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=MAX_TAG_LENGTH),
        max_length=MAX_TAGS,
        required=False,
        help_text="Tags for finding the image (no commas or %; 500 characters in all).",
    )
    folder = StrictCharField(
        min_length=1,
        max_length=1024,
        required=False,
        help_text="A folder path like /products/shoes (created on demand, 50 levels at most).",
    )
    is_private = serializers.BooleanField(
        required=False,
        help_text="Private images are delivered only through signed URLs (presets stay public).",
    )
    custom_coordinates = StrictCharField(
        min_length=7,
        max_length=64,
        required=False,
        validators=[COORDINATES],
        help_text="A focus area x,y,width,height in the original's pixels (gravity=custom).",
    )


@extend_schema_serializer(component_name="StandardUploadCreateSchema")
class StandardUploadCreateSerializer(LibraryFieldsMixin, serializers.Serializer):
    file_name = StrictCharField(
        min_length=1,
        max_length=255,
        trim_whitespace=False,
        validators=[FILE_NAME_WITH_EXTENSION],
        help_text="Must end in an extension; without mime_type, one of jpg jpeg jpe jfif png "
        "apng webp avif gif ico heic heif bmp dib tif tiff jxl (any case) names the type.",
    )
    mime_type = serializers.ChoiceField(
        choices=SupportedMimeType.choices, required=False, allow_null=True
    )
    content_length = StrictIntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="At most the credential's maximum_upload_bytes (104857600 for Server keys).",
    )
    hash_sha256 = Sha256Field(
        min_length=1,
        max_length=255,
        required=False,
        allow_null=True,
        trim_whitespace=False,
        validators=[SHA256_HEX],
        help_text="The SHA-256 of the bytes in hexadecimal, either case; the record shows it "
        "lowercase. Bytes that hash otherwise are refused by the upload URL.",
    )
    idempotency_key = StrictCharField(
        min_length=1, max_length=255, required=False, allow_null=True, trim_whitespace=False
    )
    purpose = StrictCharField(min_length=1, max_length=255, required=False, allow_null=True)
    custom_metadata = CustomMetadataField(required=False)


def _any_case(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in text)


# What the document can say about the one rule between two fields: without a mime_type the
# extension (any case) must name an accepted type.
KNOWN_EXTENSION_PATTERN = (
    r"\.(?:" + "|".join(_any_case(ext) for ext in sorted(EXTENSION_TO_MIME)) + ")$"
)


class StandardUploadCreateScheme(OpenApiSerializerExtension):
    target_class = StandardUploadCreateSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        mime_type = {"$ref": "#/components/schemas/SupportedMimeType"}
        schema["anyOf"] = [
            {"required": ["mime_type"], "properties": {"mime_type": mime_type}},
            {"properties": {"file_name": {"pattern": KNOWN_EXTENSION_PATTERN}}},
        ]
        return schema


@extend_schema_serializer(component_name="VersionInfoSchema")
class VersionInfoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="ImageSchema")
class ImageSerializer(serializers.ModelSerializer):
    environment_id = serializers.UUIDField(allow_null=True)
    upload_token_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=ImageStatus.choices)
    mime_type = serializers.ChoiceField(choices=SupportedMimeType.choices)
    cdn_url = serializers.CharField()
    can_upload = serializers.BooleanField()
    is_directly_deliverable = serializers.BooleanField()
    custom_metadata = CustomMetadataField()
    exif_data = serializers.DictField()
    status_reason = serializers.SerializerMethodField()
    tags = serializers.ListField(child=serializers.CharField())
    file_path = serializers.CharField()
    version_info = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id",
            "environment_id",
            "upload_token_id",
            "original_filename",
            "hash_sha256",
            "status",
            "cdn_url",
            "mime_type",
            "can_upload",
            "is_directly_deliverable",
            "idempotency_key",
            "purpose",
            "extension",
            "width",
            "height",
            "size_bytes",
            "custom_metadata",
            "exif_data",
            "created_at",
            "updated_at",
            "deleted_at",
            "processed_metadata_at",
            "status_reason",
            # The library (additive to the reference).
            "tags",
            "folder",
            "file_path",
            "is_private",
            "custom_coordinates",
            "version_info",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "hash_sha256": {"allow_null": True},
            "idempotency_key": {"allow_null": True},
            "purpose": {"allow_null": True},
        }

    def get_status_reason(self, image) -> str | None:
        return image.status_reason or None

    @extend_schema_field(VersionInfoSerializer)
    def get_version_info(self, image) -> dict:
        return {"id": str(image.version_id), "name": image.version_name}


@extend_schema_serializer(component_name="StandardUploadResponseSchema")
class StandardUploadResponseSerializer(serializers.Serializer):
    image = ImageSerializer()
    upload_url = serializers.CharField()


@extend_schema_serializer(component_name="UploadTokenCreateResponseSchema")
class UploadTokenCreateResponseSerializer(serializers.ModelSerializer):
    environment_id = serializers.UUIDField()
    token = serializers.CharField()

    class Meta:
        model = UploadToken
        fields = [
            "id",
            "environment_id",
            "used_at",
            "expires_at",
            "created_at",
            "updated_at",
            "token",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="BulkDeleteImagesSchema")
class BulkDeleteImagesSerializer(serializers.Serializer):
    image_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=1000, allow_empty=False
    )


@extend_schema_serializer(component_name="ImageDownloadJobCreateSchema")
class ImageDownloadJobCreateSerializer(serializers.Serializer):
    image_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=1000, allow_empty=False
    )


@extend_schema_serializer(component_name="ImageDownloadJobSchema")
class ImageDownloadJobSerializer(serializers.ModelSerializer):
    environment_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=DownloadStatus.choices)
    image_ids = serializers.ListField(child=serializers.UUIDField())
    download_url = serializers.SerializerMethodField()
    failure_reason = serializers.SerializerMethodField()

    class Meta:
        model = ImageDownloadJob
        fields = [
            "id",
            "environment_id",
            "status",
            "image_ids",
            "download_url",
            "created_at",
            "updated_at",
            "expires_at",
            "size_bytes",
            "failure_reason",
        ]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        return download_url_for(job)

    def get_failure_reason(self, job) -> str | None:
        return job.failure_reason or None


@extend_schema_serializer(component_name="UploadViaUrlCreateSchema")
class UploadViaUrlCreateSerializer(LibraryFieldsMixin, serializers.Serializer):
    url = RemoteUrlField(min_length=1, max_length=4096)
    file_name = StrictCharField(min_length=1, max_length=255, required=False, allow_null=True)
    mime_type = serializers.ChoiceField(
        choices=SupportedMimeType.choices, required=False, allow_null=True
    )
    idempotency_key = StrictCharField(
        min_length=1, max_length=255, required=False, allow_null=True, trim_whitespace=False
    )
    purpose = StrictCharField(min_length=1, max_length=255, required=False, allow_null=True)
    custom_metadata = CustomMetadataField(required=False)
