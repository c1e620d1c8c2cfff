"""Resource API views for the environment's custom domain: thin, each calling one service.

Server keys and OWNER/ADMIN members manage it; DEVELOPER members may read it (they "read
settings"); Client keys may do neither.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.custom_domains import (
    custom_domain_create,
    custom_domain_delete,
    custom_domain_get,
    custom_domain_test_connection,
)
from domains.serializers import CustomDomainCreateSerializer, CustomDomainSerializer
from imgwire_site.api.views import ENVIRONMENT_HEADER, STRING_MAP, environment_of, validated
from keys.permissions import ManagerOnly, ServerKeyOrMember

TAGS = ["Custom Domain"]


class CustomDomainView(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [ServerKeyOrMember()]
        return [ManagerOnly()]

    @extend_schema(
        operation_id="get_custom_domain_api_v1_custom_domain__get",
        parameters=[ENVIRONMENT_HEADER],
        responses={200: CustomDomainSerializer},
        tags=TAGS,
    )
    def get(self, request):
        return Response(CustomDomainSerializer(custom_domain_get(environment_of(request))).data)

    @extend_schema(
        operation_id="create_custom_domain_api_v1_custom_domain__post",
        parameters=[ENVIRONMENT_HEADER],
        request=CustomDomainCreateSerializer,
        responses={200: CustomDomainSerializer},
        tags=TAGS,
    )
    def post(self, request):
        data = validated(CustomDomainCreateSerializer, request.data)
        domain = custom_domain_create(
            environment=environment_of(request), hostname=data["hostname"]
        )
        return Response(CustomDomainSerializer(domain).data)

    @extend_schema(
        operation_id="delete_custom_domain_api_v1_custom_domain__delete",
        parameters=[ENVIRONMENT_HEADER],
        responses={200: OpenApiResponse(response=STRING_MAP)},
        tags=TAGS,
    )
    def delete(self, request):
        domain_id = custom_domain_delete(environment=environment_of(request))
        return Response({"id": str(domain_id), "status": "deleted"})


class CustomDomainTestConnectionView(APIView):
    permission_classes = [ManagerOnly]

    @extend_schema(
        operation_id="test_custom_domain_connection_api_v1_custom_domain_test_connection_post",
        parameters=[ENVIRONMENT_HEADER],
        request=None,
        responses={200: CustomDomainSerializer},
        tags=TAGS,
    )
    def post(self, request):
        domain = custom_domain_test_connection(environment=environment_of(request))
        return Response(CustomDomainSerializer(domain).data)
