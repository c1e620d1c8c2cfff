"""How the OpenAPI document describes our authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "keys.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A Server API Key (sk_…) or, where allowed, a Client Key (ck_…).",
        }


class DashboardSessionScheme(OpenApiAuthenticationExtension):
    target_class = "keys.authentication.DashboardSessionAuthentication"
    name = "DashboardSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A signed-in dashboard member's session; each request also names "
            "one of the member's environments in X-Environment-Id (403 otherwise).",
        }
