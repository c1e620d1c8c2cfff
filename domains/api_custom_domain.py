"""Resource API views for the environment's custom domain: thin, each calling one service.

Server keys and OWNER/ADMIN members manage it; DEVELOPER members may read it (they "read
settings"); Client keys may do neither.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.custom_domains import (
    custom_domain_create,
    custom_domain_delete,
    custom_domain_get,
    custom_domain_test_connection,
)
from domains.serializers import CustomDomainCreateSerializer, CustomDomainSerializer
from imgwire_site.api.schema import answers, sdk
from imgwire_site.api.views import ENVIRONMENT_HEADER, STRING_MAP, environment_of, validated
from keys.permissions import ManagerOnly, ServerKeyOrMember

TAGS = ["Custom Domain"]
NONE_YET = "This environment has no custom domain."


class CustomDomainView(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [ServerKeyOrMember()]
        return [ManagerOnly()]

    @extend_schema(
        operation_id="get_custom_domain_api_v1_custom_domain__get",
        extensions=sdk("customDomain", "retrieve"),
        parameters=[ENVIRONMENT_HEADER],
        responses=answers(CustomDomainSerializer, 404, when={404: NONE_YET}),
        tags=TAGS,
    )
    def get(self, request):
        return Response(CustomDomainSerializer(custom_domain_get(environment_of(request))).data)

    @extend_schema(
        operation_id="create_custom_domain_api_v1_custom_domain__post",
        extensions=sdk("customDomain", "create"),
        parameters=[ENVIRONMENT_HEADER],
        request=CustomDomainCreateSerializer,
        examples=[
            OpenApiExample("A subdomain", value={"hostname": "img.example.com"}, request_only=True)
        ],
        responses=answers(
            CustomDomainSerializer,
            402,
            409,
            413,
            when={
                402: "The plan does not include custom domains.",
                409: "This environment already has a custom domain, or another environment "
                "has this host name.",
            },
        ),
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
        extensions=sdk("customDomain", "delete"),
        parameters=[ENVIRONMENT_HEADER],
        responses=answers(STRING_MAP, 404, when={404: NONE_YET}),
        tags=TAGS,
    )
    def delete(self, request):
        domain_id = custom_domain_delete(environment=environment_of(request))
        return Response({"id": str(domain_id), "status": "deleted"})


class CustomDomainTestConnectionView(APIView):
    permission_classes = [ManagerOnly]

    @extend_schema(
        operation_id="test_custom_domain_connection_api_v1_custom_domain_test_connection_post",
        extensions=sdk("customDomain", "testConnection"),
        parameters=[ENVIRONMENT_HEADER],
        request=None,
        responses=answers(CustomDomainSerializer, 404, when={404: NONE_YET}),
        tags=TAGS,
    )
    def post(self, request):
        domain = custom_domain_test_connection(environment=environment_of(request))
        return Response(CustomDomainSerializer(domain).data)
