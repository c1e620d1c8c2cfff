"""Reading Uploadcare's form fields: metadata[...] and the request's own limits."""

import re

from images.compat.uploadcare.errors import UploadcareError

METADATA_FIELD = re.compile(r"^metadata\[(.*)\]$", re.S)
METADATA_KEY = re.compile(r"^[\w\-.:]+$", re.ASCII)
MAX_METADATA_KEYS = 50
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 512


def refuse_nul(data) -> None:
    for name, values in data.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise UploadcareError(
                "NullCharactersForbiddenError", "Null characters are not allowed."
            )


def metadata_from(data) -> dict:
    """``metadata[key]=value`` fields, checked as Uploadcare checks them."""
    metadata = {}
    for name, values in data.lists():
        match = METADATA_FIELD.match(name)
        if match is None:
            continue
        key = match.group(1)
        shown = key[:MAX_KEY_LENGTH]
        if not key:
            raise UploadcareError(
                "FileMetadataKeyEmptyError", "File's metadata key can not be empty."
            )
        if len(key) > MAX_KEY_LENGTH:
            raise UploadcareError(
                "FileMetadataKeyLengthTooBigError",
                f"Length of file metadata key `{shown}` can not be more than {MAX_KEY_LENGTH} "
                "symbols.",
            )
        if not METADATA_KEY.match(key):
            raise UploadcareError(
                "FileMetadataKeyForbiddenError",
                f"File's metadata key `{shown}` contains symbols not allowed by the metadata key "
                "format (letters, digits, _ - . :).",
            )
        if len(values) > 1:
            raise UploadcareError(
                "FileMetadataKeyDuplicatedError", f"File's metadata key `{shown}` has a duplicate."
            )
        value = values[0]
        if not value:
            raise UploadcareError(
                "FileMetadataValueEmptyError",
                f"Value of the file metadata key `{shown}` can not be empty.",
            )
        if len(value) > MAX_VALUE_LENGTH:
            raise UploadcareError(
                "FileMetadataValueLengthTooBigError",
                f"Value of file metadata's key `{shown}` can not be more than {MAX_VALUE_LENGTH} "
                "symbols in length.",
            )
        metadata[key] = value
    if len(metadata) > MAX_METADATA_KEYS:
        raise UploadcareError(
            "FileMetadataKeysNumberTooBigError",
            f"A file can not have more than {MAX_METADATA_KEYS} metadata keys.",
        )
    return metadata


def tags_from(data) -> list[str] | None:
    """Imgwire's additive ``tags`` field ("summer,beach", as ImageKit sends them): Uploadcare
    has no tags of its own, and its clients send unknown fields along untouched."""
    from images.services.library import tags_parse

    value = data.get("tags")
    return None if value is None else tags_parse(value)
