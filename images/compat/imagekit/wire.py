"""ImageKit's upload answer, from an Imgwire image (camelCase, as the seed lists it).

Always: fileId, name, url, thumbnailUrl, height, width, size, filePath, tags, AITags,
versionInfo, isPrivateFile, customCoordinates, fileType. On request (``responseFields``):
customMetadata, embeddedMetadata, metadata (the legacy shape), isPublished.
"""

from images.models import Image, ImageStatus

# The @thumbnail preset (150 x 150, cropped to what matters): presets stay public even for
# private files, as ImageKit's named transformations do, so this URL works for any file.
THUMBNAIL_PRESET = "thumbnail"
ON_REQUEST = ("customMetadata", "embeddedMetadata", "metadata", "isPublished")


def embedded_metadata(image: Image) -> dict:
    """EXIF as the verifier read it (GPS tags are never kept: images/processing drops them)."""
    return {
        name: value for name, value in (image.exif_data or {}).items() if not name.startswith("GPS")
    }


def _legacy_metadata(image: Image) -> dict:
    return {
        "height": image.height,
        "width": image.width,
        "size": image.size_bytes,
        "format": image.mime_type.split("/", 1)[1].replace("jpeg", "jpg"),
        "hasTransparency": image.has_alpha,
        "hasColorProfile": None,
        "exif": embedded_metadata(image),
    }


def upload_response(image: Image, response_fields: frozenset) -> dict:
    ready = image.status == ImageStatus.READY
    answer = {
        "fileId": str(image.id),
        "name": image.file_name or image.original_filename,
        "url": image.cdn_url,
        "thumbnailUrl": f"{image.cdn_url}@{THUMBNAIL_PRESET}",
        # Unknown until verified (the answer came before READY: docs/compat-imagekit.md).
        "height": image.height if ready else None,
        "width": image.width if ready else None,
        "size": image.size_bytes,
        "filePath": image.file_path,
        "tags": list(image.tags) or None,
        "AITags": None,
        "versionInfo": {"id": str(image.version_id), "name": image.version_name},
        "isPrivateFile": image.is_private,
        "customCoordinates": image.custom_coordinates or None,
        "fileType": "image",
    }
    extra = {
        "customMetadata": dict(image.custom_metadata or {}),
        "embeddedMetadata": embedded_metadata(image),
        "metadata": _legacy_metadata(image),
        "isPublished": True,
    }
    answer.update({name: extra[name] for name in ON_REQUEST if name in response_fields})
    return answer
