"""JSON bodies, decoded strictly and checked once, before any view or serializer sees them.

Python's json module accepts what a database cannot store: ``"\\ud800"`` becomes a lone
UTF-16 surrogate (SQLite stores it, then every page that renders the row fails to encode
it; PostgreSQL refuses it) and ``"\\u0000"`` a NUL (PostgreSQL refuses it in text). So the
parsed value is walked once here and any such string, key or value, is refused with a
422 naming its JSON path; serializers can then treat every string as storable text.

The walk is iterative and the nesting depth is bounded, because serializers, the renderer
and error flattening recurse: ``json.loads`` itself recurses in C and raises
RecursionError near Python's limit (~1000 levels), which is caught here too.
"""

import codecs
import json
import math
import re
from typing import NamedTuple

from django.http.multipartparser import parse_header_parameters
from rest_framework.parsers import JSONParser

from imgwire_site.api.errors import DomainError, RequestValidationError
from imgwire_site.api.text import printable, text_problem

# No Resource API body nests more than two levels (custom_metadata inside the body); the
# margin is for future fields, the bound is for everything that recurses afterwards.
MAX_JSON_DEPTH = 32
# A body with thousands of bad strings gets the first ones named, not a huge answer.
MAX_REPORTED_PROBLEMS = 20

_UTF8 = codecs.lookup("utf-8").name
# \u0000 and \ud800-\udfff (a pair's high half matches too; the walk tells pairs apart).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class _NumberOutOfRange(ValueError):
    pass


def _finite_float(text: str) -> float:
    # json reads 1e999 as inf, which no JSON column can store (and no renderer can write).
    number = float(text)
    if not math.isfinite(number):
        raise _NumberOutOfRange(f"The number {text[:40]} is too large to be a JSON number here.")
    return number


def _rejected(loc: list, msg: str, type_: str = "json_invalid") -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": type_}])


def declared_charset_problem(media_type: str | None) -> str | None:
    """JSON is UTF-8 (RFC 8259 §8.1): a Content-Type declaring another charset is refused."""
    _, params = parse_header_parameters(media_type or "")
    charset = params.get("charset")
    if charset is None:
        return None
    try:
        if codecs.lookup(charset).name == _UTF8:
            return None
    except LookupError:
        pass
    return f"JSON bodies are UTF-8; this request declares charset={printable(charset)}."


def loads_strictly(raw: bytes, root: str = "body", subject: str = "The body"):
    """Decode ``raw`` as one JSON text, or raise RequestValidationError naming the problem.
    ``root``: the first element of each error's loc; ``subject``: how its messages name
    the text (a form field holding JSON is not the body)."""
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or raw[:3] == codecs.BOM_UTF8:
        raise _rejected(
            [root], f"{subject} starts with a byte order mark; send UTF-8 JSON without one."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _rejected(
            [root], f"{subject} is not valid UTF-8 (byte {error.start}).", "string_unicode"
        ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise _rejected([root], _too_deep(subject)) from None
    except _NumberOutOfRange as error:
        raise _rejected([root], str(error), "finite_number") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, integers over 4300 digits
        raise _rejected([root], f"{subject} is not valid JSON: {error}") from None
    # Only an escape can put a NUL or a lone surrogate into a string (json refuses raw
    # control characters, and strict UTF-8 decoding refuses encoded surrogates), so the
    # walk that names them runs only when such an escape appears; depth is always checked.
    if _SUSPECT_ESCAPE.search(text) or _nested_deeper_than(value, MAX_JSON_DEPTH):
        problems = json_text_problems(value, [root], subject)
        if problems:
            raise RequestValidationError(problems)
    return value


def _nested_deeper_than(value, limit: int) -> bool:
    """Level by level over containers only: cheap for wide bodies, bounded for deep ones."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return bool(level)


def _too_deep(subject: str = "The body") -> str:
    return f"{subject} nests objects or arrays more than {MAX_JSON_DEPTH} levels deep."


def json_text_problems(value, root: list, subject: str = "The body") -> list[dict]:
    """Every string (object keys included) that is not storable text, and over-deep nesting.

    Iterative, so a deep value cannot exhaust the stack while being checked.
    """
    problems: list[dict] = []
    # Children are pushed in reverse so that problems come out in document order.
    stack: list[tuple] = [(value, root, 0)]
    while stack and len(problems) < MAX_REPORTED_PROBLEMS:
        item, loc, depth = stack.pop()
        if isinstance(item, _Entry):
            if (problem := text_problem(item.key)) is not None:
                problems.append(
                    {
                        "loc": [*loc, printable(item.key)],
                        "msg": f"This key {problem}.",
                        "type": "string_unicode",
                    }
                )
            else:
                stack.append((item.value, [*loc, item.key], depth))
            continue
        if isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                problems.append(
                    {"loc": loc, "msg": f"This value {problem}.", "type": "string_unicode"}
                )
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            return [{"loc": root, "msg": _too_deep(subject), "type": "json_invalid"}]
        if isinstance(item, list):
            children = [(child, [*loc, index], depth + 1) for index, child in enumerate(item)]
        else:
            children = [(_Entry(key, child), loc, depth + 1) for key, child in item.items()]
        stack.extend(reversed(children))
    return problems


class _Entry(NamedTuple):
    key: str
    value: object


class StrictJSONParser(JSONParser):
    """The Resource API's only parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

    def parse(self, stream, media_type=None, parser_context=None):
        if (problem := declared_charset_problem(media_type)) is not None:
            raise _rejected(["header", "Content-Type"], problem, "unsupported_media_type")
        # DRF hands JSON parsers a BytesIO of request.body, so Django has already applied
        # DATA_UPLOAD_MAX_MEMORY_SIZE (RequestDataTooBig, answered 413 by errors.py).
        raw = stream.read()
        request = (parser_context or {}).get("request")
        declared = _declared_length(request.META if request is not None else {})
        if declared is not None and len(raw) < declared:
            # The client stopped (or was cut off) early: what came may still parse, as
            # '{"a": 1}' of a longer body would, but it is not what was sent.
            raise DomainError(
                f"Received {len(raw)} bytes but Content-Length said {declared}; send the "
                "whole body again."
            )
        return loads_strictly(raw)


def _declared_length(meta) -> int | None:
    try:
        return int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
