"""What counts as storable text, and the check of a request's query string and headers.

Text columns hold Unicode characters: PostgreSQL refuses NUL in text, and a lone UTF-16
surrogate is not a character at all (it cannot be encoded to UTF-8, so SQLite stores it
and every later read that renders it fails). Everything a request brings is checked once
at the edge against this one rule, so nothing past the edge has to think about it: JSON
bodies by imgwire_site/api/parsers.py; query strings, headers and the form bodies of
the dashboard, accounts and admin pages and of the authorization server (with its Basic
client credentials) by ``RequestTextMiddleware`` (imgwire_site/api/middleware.py).
"""

import base64
import binascii
import re
from urllib.parse import unquote_plus, unquote_to_bytes

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_LOC_LIMIT = 100
_SUSPECT_PERCENT = re.compile(rb"%(?:00|[89a-fA-F])")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, as the end of a sentence; None when it can."""
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "contains a NUL character (\\u0000), which text cannot hold"
    return (
        f"contains a lone UTF-16 surrogate (\\u{ord(match.group()):04x}), which is not a "
        "character; send a surrogate pair or the character itself"
    )


def printable(text: str) -> str:
    """``text`` safe to echo in an error (encodable, bounded): unstorable characters escaped."""
    shown = _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return shown if len(shown) <= _LOC_LIMIT else shown[:_LOC_LIMIT] + "…"


def _decoded(raw: bytes) -> tuple[str, str | None]:
    """A percent-encoded query part as text, and why it is not text (None when it is)."""
    data = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Django would silently turn these bytes into U+FFFD; refuse instead of guessing.
        shown = data.decode("utf-8", "backslashreplace")
        return shown, f"is not valid UTF-8 once percent-decoded (byte {error.start})"
    return text, text_problem(text)


def query_problems(query_string: bytes) -> list[dict]:
    """Every query parameter whose name or value is not storable text, as 422 entries."""
    if query_string.isascii() and not _SUSPECT_PERCENT.search(query_string):
        return []  # no NUL and nothing but ASCII, even once percent-decoded
    problems = []
    for part in query_string.split(b"&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition(b"=")
        name, name_problem = _decoded(raw_name)
        _, value_problem = _decoded(raw_value)
        if name_problem is not None:
            msg = f"This parameter name {name_problem}."
        elif value_problem is not None:
            msg = f"This value {value_problem}."
        else:
            continue
        problems.append({"loc": ["query", printable(name)], "msg": msg, "type": "string_unicode"})
    return problems


def form_problems(form) -> list[dict]:
    """Every field of a form body (a QueryDict) whose name or value is not storable text.

    Django decodes form bodies with errors="replace", so only NUL can arrive here.
    """
    problems = []
    for name, values in form.lists():
        for value in values:
            problem = text_problem(name) or text_problem(value)
            if problem is not None:
                problems.append(
                    {
                        "loc": ["body", printable(name)],
                        "msg": f"This field {problem}.",
                        "type": "string_unicode",
                    }
                )
                break
    return problems


def header_problems(meta: dict) -> list[dict]:
    """Every header holding a NUL, as 422 entries (WSGI hands headers over as latin-1 text).

    None of our headers are stored, but several are looked up (Authorization, Cookie's
    session id, Origin) and PostgreSQL refuses NUL even in a WHERE clause.
    """
    problems = []
    for key, value in meta.items():
        if not isinstance(value, str) or "\x00" not in value:
            continue
        if key.startswith("HTTP_"):
            name = key.removeprefix("HTTP_")
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        header = "-".join(word.capitalize() for word in name.split("_"))
        problems.append(
            {
                "loc": ["header", header],
                "msg": f"This header {text_problem(value)}.",
                "type": "string_unicode",
            }
        )
    return problems


def problem_sentence(problem: dict) -> str:
    """One ``{loc, msg}`` entry as a sentence for error shapes without a list of them
    (OAuth's ``error_description``, an MCP tool error): ``body.client_name: This value…``."""
    return f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}"


def basic_credentials_problems(meta: dict) -> list[dict]:
    """The client id and secret of ``Authorization: Basic`` when not storable text, as
    problem entries. The header is ASCII, but the token endpoint looks up what it encodes, decoded
    and percent-decoded (RFC 6749 §2.3.1), and PostgreSQL refuses NUL even there."""
    scheme, _, encoded = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return []
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return []  # not credentials at all: the endpoint refuses them in its own words
    for name, value in zip(("client_id", "client_secret"), decoded.split(":", 1), strict=False):
        problem = text_problem(unquote_plus(value))
        if problem is not None:
            return [
                {
                    "loc": ["header", "Authorization", name],
                    "msg": f"This value {problem}.",
                    "type": "string_unicode",
                }
            ]
    return []
