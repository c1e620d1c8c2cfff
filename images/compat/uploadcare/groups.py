"""``group/`` and ``group/info/``: immutable file groups of one environment."""

import re
import uuid

from images.compat.uploadcare.errors import UploadcareError
from images.compat.uploadcare.models import UploadcareFile, UploadcareGroup
from images.compat.uploadcare.wire import file_info
from images.models import Image
from keys.authentication import Access

MAX_GROUP_FILES = 1000
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_GROUP_ID = re.compile(r"^(?P<id>[0-9a-fA-F-]{36})~(?P<count>[0-9]{1,4})$")


def file_fields(data) -> list[str]:
    """``files[]`` repeated (upload-client) or ``files[0]``, ``files[1]``… (pyuploadcare),
    in their order."""
    values = list(data.getlist("files[]"))
    indexed = []
    for name in data:
        match = re.fullmatch(r"files\[([0-9]{1,6})\]", name)
        if match:
            indexed.append((int(match.group(1)), data[name]))
    return values + [value for _, value in sorted(indexed)]


def _member(text: str) -> tuple[list[uuid.UUID], str]:
    """The UUIDs a file reference names (a bare id, ``id/-/ops/``, or a CDN URL whose path
    also holds the organization's and environment's ids) and its ``-/…`` operations."""
    path = text.split("?", 1)[0]
    ids = [uuid.UUID(match) for match in _UUID.findall(path)]
    if not ids:
        raise UploadcareError(
            "GroupFileURLParsingFailedError", f"This is not valid file url: {text[:200]}."
        )
    operations = ""
    if "/-/" in path:
        operations = "-/" + path.split("/-/", 1)[1]
    return ids, operations


def uploadcare_group_create(*, access: Access, references: list[str]) -> UploadcareGroup:
    if not references:
        raise UploadcareError("GroupFilesInvalidError", "No files[N] parameters found.")
    if len(references) > MAX_GROUP_FILES:
        raise UploadcareError(
            "FilesNumberLimitExceededError",
            f"There are too many files: a group holds at most {MAX_GROUP_FILES}.",
        )
    members = [_member(text) for text in references]
    candidates = {image_id for ids, _ in members for image_id in ids}
    alive = set(
        Image.objects.for_environment(access.environment)
        .alive()
        .filter(id__in=candidates)
        .values_list("id", flat=True)
    )
    files = []
    for ids, operations in members:
        # The last id of the reference that is an image here: a CDN URL names its
        # organization and environment before the image.
        found = [image_id for image_id in ids if image_id in alive]
        if not found:
            raise UploadcareError(
                "GroupFilesNotFoundError",
                "Some files not found: every file of a group must be a file of this environment.",
            )
        files.append({"uuid": str(found[-1]), "ops": operations})
    return UploadcareGroup.objects.create(environment=access.environment, files=files)


def uploadcare_group_of(access: Access, public_id: str | None) -> UploadcareGroup:
    if not public_id:
        raise UploadcareError("GroupIdRequiredError", "group_id is required.")
    match = _GROUP_ID.match(public_id)
    group = None
    if match:
        try:
            group = UploadcareGroup.objects.filter(
                id=uuid.UUID(match.group("id")), environment=access.environment
            ).first()
        except ValueError:
            group = None
    if group is None or group.public_id != public_id.lower():
        raise UploadcareError("GroupNotFoundError", "group_id is invalid.")
    return group


def group_info(group: UploadcareGroup) -> dict:
    ids = [member["uuid"] for member in group.files]
    images = {
        str(image.id): image
        for image in Image.objects.with_environment().filter(id__in=ids, deleted_at__isnull=True)
    }
    stored = {
        str(row.image_id): row.is_stored for row in UploadcareFile.objects.filter(image_id__in=ids)
    }
    files = []
    for member in group.files:
        image = images.get(member["uuid"])
        if image is None:
            files.append(None)  # deleted since: Uploadcare shows a removed file as null
            continue
        info = file_info(image, is_stored=stored.get(member["uuid"], True))
        files.append({**info, "default_effects": member["ops"]})
    return {
        "id": group.public_id,
        "datetime_created": group.created_at.isoformat().replace("+00:00", "Z"),
        "datetime_stored": None,
        "files_count": len(group.files),
        "files": files,
    }
