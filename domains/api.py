"""Resource API views for CORS origins: thin, each validating input and calling one service.

Server keys and OWNER/ADMIN members manage them; DEVELOPER members may read them (they
"read settings"); Client keys may do neither.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema
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
from imgwire_site.api.pagination import PAGINATION_PARAMETERS, paginate
from imgwire_site.api.schema import answers, path_id, sdk
from imgwire_site.api.views import (
    ENVIRONMENT_HEADER,
    STRING_MAP,
    environment_of,
    path_uuid,
    validated,
)
from keys.permissions import ManagerOnly, ServerKeyOrMember

TAGS = ["CORS Origins"]
CORS_ORIGIN_ID = path_id("cors_origin_id", "CORS origin")
DUPLICATE = "The environment already has this pattern (in its canonical form)."
EXAMPLES = [
    OpenApiExample("One host", value={"pattern": "https://app.example.com"}, request_only=True),
    OpenApiExample("Every subdomain", value={"pattern": "*.example.com"}, request_only=True),
]


class _ReadForMembersWriteForManagers(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [ServerKeyOrMember()]
        return [ManagerOnly()]


class CorsOriginListView(_ReadForMembersWriteForManagers):
    @extend_schema(
        operation_id="list_cors_origins_api_v1_cors_origins__get",
        extensions=sdk("corsOrigins", "list", paginated=True),
        parameters=[*PAGINATION_PARAMETERS, ENVIRONMENT_HEADER],
        responses=answers(CorsOriginSerializer(many=True)),
        tags=TAGS,
    )
    def get(self, request):
        queryset = CorsOrigin.objects.for_environment(environment_of(request)).newest_first()
        items, headers = paginate(request, queryset)
        return Response(CorsOriginSerializer(items, many=True).data, headers=headers)

    @extend_schema(
        operation_id="create_cors_origin_api_v1_cors_origins__post",
        extensions=sdk("corsOrigins", "create"),
        parameters=[ENVIRONMENT_HEADER],
        request=CorsOriginCreateSerializer,
        examples=EXAMPLES,
        responses=answers(
            CorsOriginSerializer,
            409,
            413,
            when={409: f"{DUPLICATE} Or it already has the most CORS origins allowed (100)."},
        ),
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
        extensions=sdk("corsOrigins", "retrieve"),
        parameters=[CORS_ORIGIN_ID, ENVIRONMENT_HEADER],
        responses=answers(CorsOriginSerializer, 404),
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
        extensions=sdk("corsOrigins", "update"),
        parameters=[CORS_ORIGIN_ID, ENVIRONMENT_HEADER],
        request=CorsOriginUpdateSerializer,
        examples=EXAMPLES,
        responses=answers(CorsOriginSerializer, 404, 409, 413, when={409: DUPLICATE}),
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
        extensions=sdk("corsOrigins", "delete"),
        parameters=[CORS_ORIGIN_ID, ENVIRONMENT_HEADER],
        responses=answers(STRING_MAP, 404),
        tags=TAGS,
    )
    def delete(self, request, cors_origin_id: str):
        cors_origin_uuid = path_uuid(cors_origin_id, "cors_origin_id")
        cors_origin_delete(environment=environment_of(request), cors_origin_id=cors_origin_uuid)
        return Response({"id": str(cors_origin_uuid), "status": "deleted"})
