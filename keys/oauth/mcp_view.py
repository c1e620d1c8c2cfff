"""/mcp: the MCP server (official SDK, Streamable HTTP, stateless JSON responses) inside
the WSGI app.

Django authenticates the Bearer token first (401 with the RFC 9728 resource_metadata hint
the MCP authorization spec asks for), then drives the SDK's ASGI handler for this one
request with ``async_to_sync``: the tools' ``sync_to_async`` bodies come back to this
thread, so they use its database connection like any other view. Stateless mode needs no
state across requests, so each request gets its own session manager."""

import json

from asgiref.sync import async_to_sync
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from keys.authentication import Access
from keys.oauth.mcp_tools import current_access, current_credential, server
from keys.oauth.services import agent_token_resolve

MAX_BODY_BYTES = 1024 * 1024


def _unauthorized(request, error: str, description: str) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    response = JsonResponse({"error": error, "error_description": description}, status=401)
    response["WWW-Authenticate"] = (
        f'Bearer error="{error}", error_description="{description}", '
        f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'
    )
    return response


def _resource(request) -> str:
    return f"{request.build_absolute_uri('/').rstrip('/')}/mcp"


@csrf_exempt
def mcp_endpoint(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized(request, "invalid_token", "Authorization required")
    credential = agent_token_resolve(token=token.strip(), resource=_resource(request))
    if credential is None:
        return _unauthorized(request, "invalid_token", "The access token is not valid")
    if request.method != "POST":
        # Stateless JSON mode: no server-initiated stream to GET, no session to DELETE; the
        # transport spec's answer for that is 405.
        response = JsonResponse({"error": "Send MCP messages with POST."}, status=405)
        response["Allow"] = "POST"
        return response
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return JsonResponse({"error": "request too large"}, status=413)
    access = Access(
        environment=credential.environment,
        membership=credential.membership,
        scopes=credential.scopes,
    )
    body = request.body
    # Reset after: the WSGI thread serves other requests next, and must not keep this one's.
    credential_token = current_credential.set(credential)
    access_token = current_access.set(access)
    try:
        status, headers, content = async_to_sync(_call_sdk)(request, body)
    finally:
        current_access.reset(access_token)
        current_credential.reset(credential_token)
    response = HttpResponse(content, status=status)
    for name, value in headers:
        if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
            response[name] = value
    return response


async def _call_sdk(request, body: bytes):
    """One ASGI HTTP exchange with the SDK's transport: (status, headers, body)."""
    host = request.get_host()
    manager = StreamableHTTPSessionManager(
        app=server._lowlevel_server,
        json_response=True,
        stateless=True,
        # Host/Origin checks already happened in Django (ALLOWED_HOSTS, the CORS layer).
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": "",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
            for name, value in request.headers.items()
        ],
        "server": (host.rsplit(":", 1)[0], int(request.get_port())),
        "client": (request.META.get("REMOTE_ADDR", ""), 0),
    }
    sent_body = False
    status, headers, chunks = 500, [], []

    async def receive():
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    content = b"".join(chunks)
    if status >= 500:
        # Never a 500 from a bad request: the SDK answers JSON-RPC errors itself; anything
        # else is ours and is reported as a JSON-RPC internal error with a 400 wrapper.
        content = json.dumps({"error": "the MCP request could not be handled"}).encode()
        status = 400
    return status, headers, content
