"""Reading ImageKit's upload fields (multipart form fields, booleans as true/false, JSON as
strings) into one checked request; what Imgwire cannot honour is refused with a sentence."""

from dataclasses import dataclass, field

from images.compat.imagekit.errors import bad_request
from images.services.library import coordinates_parse, file_name_sanitize, folder_normalize
from images.services.library import tags_parse as library_tags_parse
from images.transform.imagekit_syntax import post_transformations, to_query
from imgwire_site.api.errors import RequestValidationError
from imgwire_site.api.fields import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_STRING_LENGTH,
)
from imgwire_site.api.parsers import loads_strictly
from imgwire_site.domain import Refusal

# What responseFields may ask for (the SDKs' list); "metadata" is the legacy format.
RESPONSE_FIELDS = frozenset(
    {
        "tags",
        "customCoordinates",
        "isPrivateFile",
        "embeddedMetadata",
        "isPublished",
        "customMetadata",
        "metadata",
        "selectedFieldsSchema",
    }
)
# Fields an SDK sends that Imgwire cannot honour: refused, never silently dropped.
UNSUPPORTED = {
    "extensions": "extensions (background removal, auto-tagging…) are not available in Imgwire; "
    "upload without them.",
    "webhookUrl": "webhookUrl is not supported: Imgwire runs no upload extensions, so there is "
    "nothing to report later; the answer to this request is final.",
    "checks": "checks (upload API checks) are not supported by Imgwire; the key's own upload "
    "policy (types, sizes) applies instead.",
    "description": "description is not stored by Imgwire; put it in customMetadata.",
}


@dataclass
class ImageKitUpload:
    file_name: str  # sanitised, before any unique suffix
    folder: str
    tags: list[str] | None
    use_unique_file_name: bool
    is_private: bool
    custom_coordinates: str | None
    custom_metadata: dict | None
    response_fields: frozenset
    overwrite_file: bool
    overwrite_tags: bool
    overwrite_custom_metadata: bool
    overwrite_ai_tags: bool
    pre: str | None = None
    post: list[str] = field(default_factory=list)


def _refused(refusal: Refusal, name: str):
    return bad_request(f"{name}: {refusal.message}")


def boolean(data, name: str, default: bool) -> bool:
    raw = data.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise bad_request(f"{name} must be true or false, not {raw[:40]!r}.")


def _json(data, name: str):
    raw = data.get(name)
    if raw is None or raw == "":
        return None
    try:
        # Strict and bounded, as the Resource API's bodies (imgwire_site/api/parsers.py):
        # json.loads raised RecursionError (a 500) for a value nested ~1 000 levels deep.
        return loads_strictly(raw.encode("utf-8", "surrogatepass"), root=name, subject=name)
    except RequestValidationError as error:
        raise bad_request(
            f"{name} must be a JSON string (stringified JSON): {error.errors[0]['msg']}"
        ) from None


def custom_metadata_parse(data) -> dict | None:
    value = _json(data, "customMetadata")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request('customMetadata must be a JSON object, like {"brand": "Nike"}.')
    if len(value) > MAX_METADATA_KEYS:
        raise bad_request(f"customMetadata may have at most {MAX_METADATA_KEYS} keys.")
    for key, item in value.items():
        if not key or len(key) > MAX_METADATA_KEY_LENGTH:
            raise bad_request(
                f"customMetadata keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters long."
            )
        if isinstance(item, str):
            if len(item) > MAX_METADATA_STRING_LENGTH:
                raise bad_request(
                    f"customMetadata {key[:40]!r}: text values may be at most "
                    f"{MAX_METADATA_STRING_LENGTH} characters."
                )
        elif not isinstance(item, bool | int | float) or item != item:  # NaN is not JSON
            raise bad_request(
                f"customMetadata {key[:40]!r}: values must be text, numbers or true/false."
            )
    return value


def response_fields_parse(data) -> frozenset:
    raw = data.get("responseFields") or ""
    asked = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = sorted(asked - RESPONSE_FIELDS)
    if unknown:
        raise bad_request(
            f"responseFields has unknown fields ({', '.join(n[:40] for n in unknown[:5])}); "
            f"accepted: {', '.join(sorted(RESPONSE_FIELDS))}."
        )
    return frozenset(asked)


def transformation_parse(data) -> tuple[str | None, list[str]]:
    """``{"pre": "…", "post": [{"type": "transformation", "value": "…"}]}``, each string
    checked by the ImageKit-syntax translator (unknown parameters are named)."""
    value = _json(data, "transformation")
    if value is None:
        return None, []
    if not isinstance(value, dict) or not ({"pre", "post"} & set(value)):
        raise bad_request("transformation must be a JSON object with pre and/or post.")
    extra = sorted(set(value) - {"pre", "post"})
    if extra:
        raise bad_request(f"transformation has unknown keys: {', '.join(extra[:5])}.")
    pre = value.get("pre")
    if pre is not None and (not isinstance(pre, str) or not pre.strip()):
        raise bad_request("transformation.pre must be a transformation string, like w-300,h-200.")
    try:
        if pre:
            to_query(pre.strip())
        post = post_transformations(value.get("post", []))
    except Refusal as refusal:
        raise bad_request(f"transformation: {refusal.message}.") from None
    return (pre.strip() if pre else None), post


def upload_parse(data) -> ImageKitUpload:
    for name, sentence in UNSUPPORTED.items():
        if data.get(name) not in (None, "", "[]"):
            raise bad_request(sentence)
    if not boolean(data, "isPublished", True):
        raise bad_request(
            "isPublished=false (draft files) is not supported: Imgwire publishes every upload."
        )
    raw_name = data.get("fileName")
    if not raw_name or not raw_name.strip():
        raise bad_request("Missing fileName parameter for upload.")
    try:
        folder = folder_normalize(data.get("folder"))
        tags = library_tags_parse(data.get("tags")) if data.get("tags") is not None else None
        coordinates = data.get("customCoordinates")
        coordinates = coordinates_parse(coordinates) if coordinates else None
    except Refusal as refusal:
        name = refusal.field or "request"
        mapped = {"custom_coordinates": "customCoordinates"}.get(name, name)
        raise _refused(refusal, mapped) from None
    pre, post = transformation_parse(data)
    return ImageKitUpload(
        file_name=file_name_sanitize(raw_name.strip()),
        folder=folder,
        tags=tags,
        use_unique_file_name=boolean(data, "useUniqueFileName", True),
        is_private=boolean(data, "isPrivateFile", False),
        custom_coordinates=coordinates,
        custom_metadata=custom_metadata_parse(data),
        response_fields=response_fields_parse(data),
        overwrite_file=boolean(data, "overwriteFile", True),
        overwrite_tags=boolean(data, "overwriteTags", True),
        overwrite_custom_metadata=boolean(data, "overwriteCustomMetadata", True),
        overwrite_ai_tags=boolean(data, "overwriteAITags", True),
        pre=pre,
        post=post,
    )
