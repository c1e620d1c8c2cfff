"""Resource API for the library (additive to the reference): tags, folders, versions, and
the list filters the image list accepts (docs/library.md)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from images.delivery.signing import delivery_url_sign
from images.models import Image, ImageTag
from images.serializers import ImageSerializer
from images.services.library import (
    MAX_TAG_LENGTH,
    MAX_TAGS,
    folder_normalize,
    folders_of,
    image_tags_update,
    tags_parse,
)
from images.services.versions import image_versions
from imgwire_site.api.errors import RequestValidationError, ResourceNotFoundError
from imgwire_site.api.fields import StrictCharField
from imgwire_site.api.schema import answers, path_id, sdk
from imgwire_site.api.views import ENVIRONMENT_HEADER, environment_of, path_uuid, validated
from imgwire_site.domain import Refusal
from keys.permissions import ServerKeyOrMember

IMAGE_ID = path_id("image_id", "image")
# The upload fields that place an image in the library (images.serializers LibraryFieldsMixin).
LIBRARY_INPUT = ("tags", "folder", "is_private", "custom_coordinates")
LIBRARY_FILTERS = [
    OpenApiParameter(
        "tag",
        {"type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH},
        OpenApiParameter.QUERY,
        description="Only images with this tag.",
    ),
    OpenApiParameter(
        "folder",
        {"type": "string", "minLength": 1, "maxLength": 1024},
        OpenApiParameter.QUERY,
        description="Only images in this folder (like /products/shoes).",
    ),
    OpenApiParameter(
        "recursive",
        {"type": "boolean", "default": False},
        OpenApiParameter.QUERY,
        description="With folder: also the images of its sub-folders.",
    ),
]


def _query_refusal(name: str, refusal: Refusal) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ["query", name], "msg": refusal.message, "type": "value_error"}]
    )


def _tag_of(params) -> str | None:
    tag = params.get("tag")
    if tag is None:
        return None
    try:
        return tags_parse([tag], field="tag")[0]
    except Refusal as refusal:
        raise _query_refusal("tag", refusal) from None


def tag_page_source(environment, params):
    """With only ``?tag=``: the page's image ids, read from the tag index alone (newest
    first), so a tag's page costs what the plain list costs; None otherwise."""
    if set(params) & {"folder", "recursive"}:
        return None
    tag = _tag_of(params)
    if tag is None:
        return None
    return ImageTag.objects.page_of(environment, tag).values_list("image_id", flat=True)


def library_filtered(queryset, params):
    """The image list narrowed by ``?tag=``, ``?folder=`` (``&recursive=true``)."""
    tag = _tag_of(params)
    if tag is not None:
        queryset = queryset.tagged(tag)
    folder = params.get("folder")
    recursive = params.get("recursive", "false").lower()
    if recursive not in ("true", "false", "1", "0"):
        raise RequestValidationError(
            [
                {
                    "loc": ["query", "recursive"],
                    "msg": "recursive must be true or false",
                    "type": "bool_parsing",
                }
            ]
        )
    if folder is not None:
        try:
            path = folder_normalize(folder)
        except Refusal as refusal:
            raise _query_refusal("folder", refusal) from None
        queryset = queryset.in_folder(path, recursive=recursive in ("true", "1"))
    return queryset


class TagsUpdateSerializer(serializers.Serializer):
    add = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=MAX_TAG_LENGTH),
        max_length=MAX_TAGS,
        required=False,
        default=list,
    )
    remove = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=MAX_TAG_LENGTH),
        max_length=MAX_TAGS,
        required=False,
        default=list,
    )


class ImageVersionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="version_id")
    name = serializers.CharField()
    number = serializers.IntegerField()
    mime_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    hash_sha256 = serializers.CharField(allow_null=True)
    is_current = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class FolderListSerializer(serializers.Serializer):
    parent = serializers.CharField()
    folders = serializers.ListField(child=serializers.CharField())


def _image_of(request, image_id: str) -> Image:
    image = (
        Image.objects.for_environment(environment_of(request))
        .with_environment()
        .filter(id=path_uuid(image_id, "image_id"))
        .first()
    )
    if image is None:
        raise ResourceNotFoundError(f"Image {image_id} was not found in this environment.")
    return image


class ImageTagsView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="update_image_tags_api_v1_images__image_id__tags_post",
        extensions=sdk("images", "update_tags"),
        parameters=[IMAGE_ID, ENVIRONMENT_HEADER],
        request=TagsUpdateSerializer,
        responses=answers(ImageSerializer, 404),
        tags=["Images"],
    )
    def post(self, request, image_id: str):
        data = validated(TagsUpdateSerializer, request.data)  # the body first, as everywhere
        image_uuid = path_uuid(image_id, "image_id")
        image_tags_update(
            environment=environment_of(request),
            image_id=image_uuid,
            add=tags_parse(data["add"], field="add"),
            remove=data["remove"],
        )
        return Response(ImageSerializer(_image_of(request, image_id)).data)


class ImageVersionsView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="list_image_versions_api_v1_images__image_id__versions_get",
        extensions=sdk("images", "list_versions"),
        parameters=[IMAGE_ID, ENVIRONMENT_HEADER],
        responses=answers(ImageVersionSerializer(many=True), 404),
        tags=["Images"],
    )
    def get(self, request, image_id: str):
        image = _image_of(request, image_id)
        current = {
            "version_id": image.version_id,
            "name": image.version_name,
            "number": image.version,
            "mime_type": image.mime_type,
            "size_bytes": image.size_bytes,
            "width": image.width,
            "height": image.height,
            "hash_sha256": image.hash_sha256,
            "is_current": True,
            "created_at": image.processed_metadata_at or image.created_at,
        }
        earlier = [
            {**_version_row(version), "is_current": False} for version in image_versions(image)
        ]
        return Response(ImageVersionSerializer([current, *earlier], many=True).data)


def _version_row(version) -> dict:
    return {
        "version_id": version.version_id,
        "name": version.name,
        "number": version.number,
        "mime_type": version.mime_type,
        "size_bytes": version.size_bytes,
        "width": version.width,
        "height": version.height,
        "hash_sha256": version.hash_sha256,
        "created_at": version.created_at,
    }


class FolderListView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="list_folders_api_v1_images_folders_get",
        extensions=sdk("images", "list_folders"),
        parameters=[
            OpenApiParameter(
                "parent",
                {"type": "string", "minLength": 1, "maxLength": 1024, "default": "/"},
                OpenApiParameter.QUERY,
                description="The folder whose sub-folders are listed.",
            ),
            ENVIRONMENT_HEADER,
        ],
        responses=answers(FolderListSerializer),
        tags=["Images"],
    )
    def get(self, request):
        try:
            parent = folder_normalize(request.query_params.get("parent", "/"), field="parent")
        except Refusal as refusal:
            raise _query_refusal("parent", refusal) from None
        folders = folders_of(environment_of(request), parent)
        return Response({"parent": parent, "folders": folders})


MAX_SIGNED_URL_SECONDS = 365 * 24 * 3600


class SignedUrlCreateSerializer(serializers.Serializer):
    expires_in = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SIGNED_URL_SECONDS,
        required=False,
        allow_null=True,
        help_text="Seconds the URL stays valid; 0 or absent: no expiry.",
    )
    transformation = StrictCharField(
        max_length=2048,
        required=False,
        default="",
        allow_blank=True,
        help_text="A preset (@thumbnail), Imgwire query (width=300&format=webp) or ImageKit "
        "syntax (w-300,h-200).",
    )


class SignedUrlSerializer(serializers.Serializer):
    url = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ImageSignedUrlView(APIView):
    """A signed delivery URL: how private images are shown (docs/delivery.md)."""

    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="create_signed_url_api_v1_images__image_id__signed_url_post",
        extensions=sdk("images", "create_signed_url"),
        parameters=[IMAGE_ID, ENVIRONMENT_HEADER],
        request=SignedUrlCreateSerializer,
        responses=answers(SignedUrlSerializer, 404),
        tags=["Images"],
    )
    def post(self, request, image_id: str):
        data = validated(SignedUrlCreateSerializer, request.data)  # the body first
        image = _image_of(request, image_id)
        expires_in = data.get("expires_in") or None
        url = delivery_url_sign(
            image, expires_in=expires_in, transformation=data.get("transformation", "")
        )
        expires_at = timezone.now() + timedelta(seconds=expires_in) if expires_in else None
        return Response({"url": url, "expires_at": expires_at})
