from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from images.models import DownloadStatus, Image, ImageDownloadJob, ImageStatus, SupportedMimeType
from images.services.downloads import download_url_for
from imgwire_site.api.fields import MetadataField, StrictCharField, StrictIntegerField
from keys.models import UploadToken

METADATA_VALUE_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}]
    },
}


@extend_schema_field(METADATA_VALUE_SCHEMA)
class CustomMetadataField(MetadataField):
    pass


@extend_schema_serializer(component_name="StandardUploadCreateSchema")
class StandardUploadCreateSerializer(serializers.Serializer):
    file_name = StrictCharField(min_length=1, max_length=255, trim_whitespace=False)
    mime_type = serializers.ChoiceField(
        choices=SupportedMimeType.choices, required=False, allow_null=True
    )
    content_length = StrictIntegerField(min_value=0, required=False, allow_null=True)
    hash_sha256 = StrictCharField(min_length=1, max_length=255, required=False, allow_null=True)
    idempotency_key = StrictCharField(
        min_length=1, max_length=255, required=False, allow_null=True, trim_whitespace=False
    )
    purpose = StrictCharField(min_length=1, max_length=255, required=False, allow_null=True)
    custom_metadata = CustomMetadataField(required=False)


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
        ]
        read_only_fields = fields
        extra_kwargs = {
            "hash_sha256": {"allow_null": True},
            "idempotency_key": {"allow_null": True},
            "purpose": {"allow_null": True},
        }

    def get_status_reason(self, image) -> str | None:
        return image.status_reason or None


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
class UploadViaUrlCreateSerializer(serializers.Serializer):
    url = StrictCharField(min_length=1, max_length=4096)
    file_name = StrictCharField(min_length=1, max_length=255, required=False, allow_null=True)
    mime_type = serializers.ChoiceField(
        choices=SupportedMimeType.choices, required=False, allow_null=True
    )
    idempotency_key = StrictCharField(
        min_length=1, max_length=255, required=False, allow_null=True, trim_whitespace=False
    )
    purpose = StrictCharField(min_length=1, max_length=255, required=False, allow_null=True)
    custom_metadata = CustomMetadataField(required=False)
