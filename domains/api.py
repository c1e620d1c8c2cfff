"""Resource API views for CORS origins: thin, each validating input and calling one service.

Server keys and OWNER/ADMIN members manage them; DEVELOPER members may read them (they
"read settings"); Client keys may do neither.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.models import CorsOrigin
from domains.serializers import (
    CorsOriginCreateSerializer,
    CorsOriginSerializer,
    CorsOriginUpdateSerializer,
)
from domains.services import cors_origin_create, cors_origin_delete, cors_origin_update
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
from keys.permissions import ManagerOnly, ServerKeyOrMember

TAGS = ["CORS Origins"]
PAGINATION_HEADERS = [
    OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], description=d)
    for name, d in (
        ("X-Total-Count", "Total number of items matching the request."),
        ("X-Page", "Current page number."),
        ("X-Limit", "Maximum number of items returned per page."),
        ("X-Prev-Page", "Previous page number, or null when there is no previous page."),
        ("X-Next-Page", "Next page number, or null when there is no next page."),
    )
]


class _ReadForMembersWriteForManagers(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [ServerKeyOrMember()]
        return [ManagerOnly()]


class CorsOriginListView(_ReadForMembersWriteForManagers):
    @extend_schema(
        operation_id="list_cors_origins_api_v1_cors_origins__get",
        parameters=[*PAGINATION_PARAMETERS, ENVIRONMENT_HEADER, *PAGINATION_HEADERS],
        responses={200: CorsOriginSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request):
        queryset = CorsOrigin.objects.for_environment(environment_of(request)).newest_first()
        items, headers = paginate(request, queryset)
        return Response(CorsOriginSerializer(items, many=True).data, headers=headers)

    @extend_schema(
        operation_id="create_cors_origin_api_v1_cors_origins__post",
        parameters=[ENVIRONMENT_HEADER],
        request=CorsOriginCreateSerializer,
        responses={200: CorsOriginSerializer},
        tags=TAGS,
    )
    def post(self, request):
        data = validated(CorsOriginCreateSerializer, request.data)
        cors_origin = cors_origin_create(
            environment=environment_of(request), pattern=data["pattern"]
        )
        return Response(CorsOriginSerializer(cors_origin).data)


class CorsOriginDetailView(_ReadForMembersWriteForManagers):
    @extend_schema(
        operation_id="get_cors_origin_by_id_api_v1_cors_origins__cors_origin_id__get",
        parameters=[ENVIRONMENT_HEADER],
        responses={200: CorsOriginSerializer},
        tags=TAGS,
    )
    def get(self, request, cors_origin_id: str):
        cors_origin = (
            CorsOrigin.objects.for_environment(environment_of(request))
            .filter(id=path_uuid(cors_origin_id, "cors_origin_id"))
            .first()
        )
        if cors_origin is None:
            raise ResourceNotFoundError(
                f"CORS origin {cors_origin_id} was not found in this environment."
            )
        return Response(CorsOriginSerializer(cors_origin).data)

    @extend_schema(
        operation_id="update_cors_origin_by_id_api_v1_cors_origins__cors_origin_id__patch",
        parameters=[ENVIRONMENT_HEADER],
        request=CorsOriginUpdateSerializer,
        responses={200: CorsOriginSerializer},
        tags=TAGS,
    )
    def patch(self, request, cors_origin_id: str):
        data = validated(CorsOriginUpdateSerializer, request.data)
        cors_origin = cors_origin_update(
            environment=environment_of(request),
            cors_origin_id=path_uuid(cors_origin_id, "cors_origin_id"),
            pattern=data["pattern"],
        )
        return Response(CorsOriginSerializer(cors_origin).data)

    @extend_schema(
        operation_id="delete_cors_origin_by_id_api_v1_cors_origins__cors_origin_id__delete",
        parameters=[ENVIRONMENT_HEADER],
        responses={200: OpenApiResponse(response=STRING_MAP)},
        tags=TAGS,
    )
    def delete(self, request, cors_origin_id: str):
        cors_origin_uuid = path_uuid(cors_origin_id, "cors_origin_id")
        cors_origin_delete(environment=environment_of(request), cors_origin_id=cors_origin_uuid)
        return Response({"id": str(cors_origin_uuid), "status": "deleted"})
