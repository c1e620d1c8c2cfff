"""Resource API views for images: thin, each validating input and calling one service."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.enforcement import client_origin_check
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
from images.services.remote import image_create_from_url
from images.services.uploads import UploadRequest, image_create_standard_upload, upload_url_for
from imgwire_site.api.errors import ResourceNotFoundError
from imgwire_site.api.pagination import paginate
from imgwire_site.api.views import (
    ENVIRONMENT_HEADER,
    PAGINATION_PARAMETERS,
    STRING_MAP,
    environment_of,
    path_uuid,
    validated,
)
from keys.permissions import AnyKeyOrMember, ServerKeyOrMember
from keys.services import upload_token_create


class ImageListView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="list_images_api_v1_images__get",
        parameters=[*PAGINATION_PARAMETERS, ENVIRONMENT_HEADER],
        responses={200: ImageSerializer(many=True)},
        tags=["Images"],
    )
    def get(self, request):
        queryset = (
            Image.objects.for_environment(environment_of(request)).with_environment().newest_first()
        )
        items, headers = paginate(request, queryset)
        return Response(ImageSerializer(items, many=True).data, headers=headers)


class StandardUploadView(APIView):
    permission_classes = [AnyKeyOrMember]

    @extend_schema(
        operation_id="create_standard_upload_api_v1_images_standard_upload_post",
        parameters=[
            OpenApiParameter("upload_token", OpenApiTypes.STR, OpenApiParameter.QUERY),
            ENVIRONMENT_HEADER,
        ],
        request=StandardUploadCreateSerializer,
        responses={200: StandardUploadResponseSerializer},
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
        parameters=[ENVIRONMENT_HEADER],
        request=UploadViaUrlCreateSerializer,
        responses={200: ImageSerializer},
        tags=["Images"],
    )
    def post(self, request):
        data = validated(UploadViaUrlCreateSerializer, request.data)
        image = image_create_from_url(access=request.auth, **data)
        return Response(ImageSerializer(image).data)


class UploadTokenView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="create_upload_token_api_v1_images_token_post",
        parameters=[ENVIRONMENT_HEADER],
        request=None,
        responses={200: UploadTokenCreateResponseSerializer},
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
        parameters=[ENVIRONMENT_HEADER],
        responses={200: ImageSerializer},
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
        parameters=[ENVIRONMENT_HEADER],
        responses={200: OpenApiResponse(response=STRING_MAP)},
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
        parameters=[ENVIRONMENT_HEADER],
        request=BulkDeleteImagesSerializer,
        responses={200: OpenApiResponse(response=STRING_MAP)},
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
        parameters=[ENVIRONMENT_HEADER],
        request=ImageDownloadJobCreateSerializer,
        responses={200: ImageDownloadJobSerializer},
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
        parameters=[ENVIRONMENT_HEADER],
        responses={200: ImageDownloadJobSerializer},
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
