"""Resource API views for images: thin, each validating input and calling one service."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.enforcement import client_origin_check
from images.api_library import (
    LIBRARY_FILTERS,
    LIBRARY_INPUT,
    library_filtered,
    tag_page_source,
)
from images.models import Image, ImageDownloadJob
from images.serializers import (
    BulkDeleteImagesSerializer,
    ImageDownloadJobCreateSerializer,
    ImageDownloadJobSerializer,
    ImageSerializer,
    StandardUploadCreateSerializer,
    StandardUploadResponseSerializer,
    UploadTokenCreateResponseSerializer,
    UploadViaUrlCreateSerializer,
)
from images.services.deletion import image_delete, images_bulk_delete
from images.services.downloads import download_job_create
from images.services.library import LibraryRequest
from images.services.remote import image_create_from_url
from images.services.uploads import UploadRequest, image_create_standard_upload, upload_url_for
from imgwire_site.api.errors import ResourceNotFoundError
from imgwire_site.api.pagination import PAGINATION_PARAMETERS, paginate
from imgwire_site.api.schema import RETRY_AFTER_HEADER, SERVER_OR_CLIENT_KEY, answers, path_id, sdk
from imgwire_site.api.views import (
    ENVIRONMENT_HEADER,
    STRING_MAP,
    environment_of,
    path_uuid,
    validated,
)
from keys.permissions import AnyKeyOrMember, ServerKeyOrMember
from keys.services import upload_token_create

IMAGE_ID = path_id("image_id", "image")
DOWNLOAD_JOB_ID = path_id("image_download_job_id", "download job")
UPLOAD_TOKEN = OpenApiParameter(
    "upload_token",
    {"type": "string", "pattern": "^ut_[A-Za-z0-9_-]{43}$"},
    OpenApiParameter.QUERY,
    description="A single-use token from POST /api/v1/images/token; required for Client "
    "Keys that do not allow unsigned uploads, ignored for Server keys.",
)
QUOTA = "Before the record is created: pending uploads, uploads per period, storage."
IDEMPOTENCY = "The idempotency_key was used before with other parameters."


class ImageListView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="list_images_api_v1_images__get",
        extensions=sdk("images", "list", paginated=True),
        parameters=[*PAGINATION_PARAMETERS, *LIBRARY_FILTERS, ENVIRONMENT_HEADER],
        responses=answers(ImageSerializer(many=True)),
        tags=["Images"],
    )
    def get(self, request):
        environment = environment_of(request)
        by_tag = tag_page_source(environment, request.query_params)
        if by_tag is not None:
            ids, headers = paginate(request, by_tag)
            found = Image.objects.for_environment(environment).with_environment().in_bulk(ids)
            items = [found[image_id] for image_id in ids if image_id in found]
            return Response(ImageSerializer(items, many=True).data, headers=headers)
        queryset = library_filtered(
            Image.objects.for_environment(environment), request.query_params
        ).with_environment()
        queryset = queryset.newest_first()
        items, headers = paginate(request, queryset)
        return Response(ImageSerializer(items, many=True).data, headers=headers)


class StandardUploadView(APIView):
    permission_classes = [AnyKeyOrMember]

    @extend_schema(
        operation_id="create_standard_upload_api_v1_images_standard_upload_post",
        extensions=sdk("images", "create", SERVER_OR_CLIENT_KEY),
        parameters=[UPLOAD_TOKEN, ENVIRONMENT_HEADER, RETRY_AFTER_HEADER],
        request=StandardUploadCreateSerializer,
        examples=[
            OpenApiExample(
                "A JPEG of known size and hash",
                value={
                    "file_name": "photo.jpg",
                    "content_length": 52731,
                    "hash_sha256": "9f86d081884c7d659a2feaa0c55ad015"
                    "a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "custom_metadata": {"album": "summer", "rating": 4},
                },
                request_only=True,
            )
        ],
        responses=answers(
            StandardUploadResponseSerializer,
            402,
            409,
            413,
            429,
            when={
                401: "Also a missing, used, expired or foreign upload_token.",
                402: QUOTA,
                409: IDEMPOTENCY,
                429: "This Client Key has maximum_pending_uploads records waiting for bytes.",
            },
        ),
        tags=["Images"],
    )
    def post(self, request):
        client_origin_check(request)
        data = validated(StandardUploadCreateSerializer, request.data)
        image, limit = image_create_standard_upload(
            access=request.auth,
            request=UploadRequest(**data),
            upload_token=request.query_params.get("upload_token"),
        )
        return Response(
            {"image": ImageSerializer(image).data, "upload_url": upload_url_for(image, limit)}
        )


class UploadViaUrlView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="upload_image_via_url_api_v1_images_upload_via_url_post",
        extensions=sdk("images", "uploadViaUrl"),
        parameters=[ENVIRONMENT_HEADER],
        request=UploadViaUrlCreateSerializer,
        examples=[
            OpenApiExample(
                "An image on a public server",
                value={"url": "https://images.example.com/photo.jpg", "purpose": "avatar"},
                request_only=True,
            )
        ],
        responses=answers(
            ImageSerializer,
            402,
            409,
            413,
            when={402: QUOTA, 409: IDEMPOTENCY},
            error_422="Or the source could not be fetched as an image, error_type one of "
            "BlockedAddressError, UnsupportedSchemeError, InvalidUrlError, "
            "UnresolvableHostError, SourceConnectionError, SourceHTTPError, "
            "TooManyRedirectsError, TooLargeError, TooSlowError, NotAnImageError.",
        ),
        tags=["Images"],
    )
    def post(self, request):
        data = validated(UploadViaUrlCreateSerializer, request.data)
        library = {name: data.pop(name) for name in LIBRARY_INPUT if name in data}
        image = image_create_from_url(
            access=request.auth, **data, library=LibraryRequest(**library) if library else None
        )
        return Response(ImageSerializer(image).data)


class UploadTokenView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="create_upload_token_api_v1_images_token_post",
        extensions=sdk("images", "createUploadToken"),
        parameters=[ENVIRONMENT_HEADER],
        request=None,
        responses=answers(UploadTokenCreateResponseSerializer),
        tags=["Images"],
    )
    def post(self, request):
        token, secret = upload_token_create(environment=environment_of(request))
        token.token = secret
        return Response(UploadTokenCreateResponseSerializer(token).data)


class ImageDetailView(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [AnyKeyOrMember()]
        return [ServerKeyOrMember()]

    @extend_schema(
        operation_id="get_image_by_id_api_v1_images__image_id__get",
        extensions=sdk("images", "retrieve", SERVER_OR_CLIENT_KEY),
        parameters=[IMAGE_ID, ENVIRONMENT_HEADER],
        responses=answers(ImageSerializer, 404),
        tags=["Images"],
    )
    def get(self, request, image_id: str):
        client_origin_check(request)
        image = (
            Image.objects.for_environment(environment_of(request))
            .with_environment()
            .filter(id=path_uuid(image_id, "image_id"))
            .first()
        )
        if image is None:
            raise ResourceNotFoundError(f"Image {image_id} was not found in this environment.")
        return Response(ImageSerializer(image).data)

    @extend_schema(
        operation_id="delete_image_by_id_api_v1_images__image_id__delete",
        extensions=sdk("images", "delete"),
        parameters=[IMAGE_ID, ENVIRONMENT_HEADER],
        responses=answers(
            STRING_MAP,
            404,
            when={404: "Repeating the delete of an image this environment deleted answers 200."},
        ),
        tags=["Images"],
    )
    def delete(self, request, image_id: str):
        image_uuid = path_uuid(image_id, "image_id")
        image_delete(environment=environment_of(request), image_id=image_uuid)
        return Response({"id": str(image_uuid), "status": "deleted"})


class BulkDeleteView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="bulk_delete_images_api_v1_images_bulk_delete_post",
        extensions=sdk("images", "bulkDelete"),
        parameters=[ENVIRONMENT_HEADER],
        request=BulkDeleteImagesSerializer,
        responses=answers(
            STRING_MAP,
            404,
            413,
            when={404: "One of image_ids is unknown to this environment: nothing is deleted."},
        ),
        tags=["Images"],
    )
    def post(self, request):
        data = validated(BulkDeleteImagesSerializer, request.data)
        count = images_bulk_delete(environment=environment_of(request), image_ids=data["image_ids"])
        return Response({"status": "deleted", "deleted_count": str(count)})


class DownloadJobCreateView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="create_bulk_image_download_job_api_v1_images_downloads_post",
        extensions=sdk("images", "createBulkDownloadJob"),
        parameters=[ENVIRONMENT_HEADER],
        request=ImageDownloadJobCreateSerializer,
        responses=answers(
            ImageDownloadJobSerializer,
            402,
            404,
            413,
            when={
                402: "The organization is blocked or its subscription is inactive.",
                404: "One of image_ids is unknown to this environment: no job is created.",
            },
        ),
        tags=["Images"],
    )
    def post(self, request):
        data = validated(ImageDownloadJobCreateSerializer, request.data)
        job = download_job_create(environment=environment_of(request), image_ids=data["image_ids"])
        return Response(ImageDownloadJobSerializer(job).data)


class DownloadJobDetailView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="get_bulk_image_download_job_api_v1_images_downloads__image_download_job_id__get",
        extensions=sdk("images", "retrieveBulkDownloadJob"),
        parameters=[DOWNLOAD_JOB_ID, ENVIRONMENT_HEADER],
        responses=answers(
            ImageDownloadJobSerializer,
            404,
            when={404: "Also once the archive has expired and the job was removed."},
        ),
        tags=["Images"],
    )
    def get(self, request, image_download_job_id: str):
        job = (
            ImageDownloadJob.objects.for_environment(environment_of(request))
            .filter(id=path_uuid(image_download_job_id, "image_download_job_id"))
            .first()
        )
        if job is None:
            raise ResourceNotFoundError(
                f"Download job {image_download_job_id} was not found in this environment "
                "(archives and their jobs are removed when they expire)."
            )
        return Response(ImageDownloadJobSerializer(job).data)
