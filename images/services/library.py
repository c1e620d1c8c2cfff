"""The library around the images: tags, folders and file names (docs/library.md).

Every door (the Resource API, the ImageKit and Uploadcare protocols, the dashboard) parses
these through the same functions, so one rule holds: a tag accepted by one is accepted by all.
"""

import re
import secrets
import string
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from environments.webhooks.events import IMAGE_UPDATED, image_event_emit
from images.models import Folder, Image, ImageStatus, ImageTag
from imgwire_site import domain
from imgwire_site.domain import Refusal

MAX_TAG_LENGTH = 100
MAX_TAGS_LENGTH = 500  # all tags together, commas included (ImageKit's limit)
MAX_TAGS = 50
MAX_FOLDER_DEPTH = 50
MAX_FOLDER_LENGTH = 1024
# A folder level: what ImageKit and Cloudinary accept in a folder name, minus what makes a
# path ambiguous or unsafe in a URL (quotes, control characters, separators, "%" escapes).
FOLDER_LEVEL = re.compile(r"[A-Za-z0-9_\-. ()\[\]@+=~!$&]{1,255}")
UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")
SUFFIX_ALPHABET = string.ascii_letters + string.digits


def tags_parse(value, *, field: str = "tags") -> list[str]:
    """Tags from ``"a,b"`` or a list: trimmed, de-duplicated, in the order given."""
    if value is None:
        return []
    if isinstance(value, str):
        if len(value) > MAX_TAGS_LENGTH:
            raise Refusal(
                domain.INVALID_VALUE,
                f"{field} may be at most {MAX_TAGS_LENGTH} characters in all.",
                field=field,
                limit=MAX_TAGS_LENGTH,
            )
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise Refusal(
            domain.INVALID_VALUE, f"{field} must be a list of strings or 'a,b'.", field=field
        )
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise Refusal(domain.INVALID_VALUE, f"Every item of {field} must be text.", field=field)
        tag = item.strip()
        if not tag:
            if isinstance(value, str) and not value.strip():
                continue
            raise Refusal(domain.INVALID_VALUE, f"{field} has an empty tag.", field=field)
        if "%" in tag or "," in tag or any(ord(c) < 32 for c in tag):
            raise Refusal(
                domain.INVALID_VALUE,
                f"The tag {tag[:40]!r} has a character tags cannot hold (%, a comma or a "
                "control character).",
                field=field,
            )
        if len(tag) > MAX_TAG_LENGTH:
            raise Refusal(
                domain.INVALID_VALUE,
                f"A tag may be at most {MAX_TAG_LENGTH} characters; {tag[:40]!r}… is longer.",
                field=field,
                limit=MAX_TAG_LENGTH,
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS or len(",".join(tags)) > MAX_TAGS_LENGTH:
        raise Refusal(
            domain.INVALID_VALUE,
            f"An image may have at most {MAX_TAGS} tags, {MAX_TAGS_LENGTH} characters in all.",
            field=field,
            limit=MAX_TAGS,
        )
    return tags


def folder_normalize(value, *, field: str = "folder") -> str:
    """``"a/b/"``, ``"/a//b"`` → ``"/a/b"``; ``None``, ``""`` and ``"/"`` → ``"/"``."""
    if value is None:
        return "/"
    if not isinstance(value, str):
        raise Refusal(domain.INVALID_VALUE, f"{field} must be a path like /a/b.", field=field)
    if len(value) > MAX_FOLDER_LENGTH:
        raise Refusal(
            domain.INVALID_VALUE,
            f"{field} may be at most {MAX_FOLDER_LENGTH} characters.",
            field=field,
            limit=MAX_FOLDER_LENGTH,
        )
    levels = [level.strip() for level in value.replace("\\", "/").split("/") if level.strip()]
    if len(levels) > MAX_FOLDER_DEPTH:
        raise Refusal(
            domain.INVALID_VALUE,
            f"{field} may be at most {MAX_FOLDER_DEPTH} levels deep.",
            field=field,
            limit=MAX_FOLDER_DEPTH,
        )
    for level in levels:
        if level in (".", "..") or not FOLDER_LEVEL.fullmatch(level):
            raise Refusal(
                domain.INVALID_VALUE,
                f"The folder name {level[:40]!r} is not allowed: use letters, digits, spaces "
                "and - _ . ( ) [ ] @ + = ~ ! $ &, not . or .. alone.",
                field=field,
            )
    return "/" + "/".join(levels)


def file_name_sanitize(name: str) -> str:
    """ImageKit's rule: any character but A-Z a-z 0-9 . _ - becomes ``_``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return UNSAFE_NAME_CHARACTERS.sub("_", base)[:200] or "file"


def unique_file_name(name: str) -> str:
    """``photo.jpg`` → ``photo_Ab3dE9xYz.jpg``: a suffix before the extension."""
    stem, dot, extension = name.rpartition(".")
    suffix = "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(9))
    if not dot or not stem:
        return f"{name}_{suffix}"
    return f"{stem}_{suffix}.{extension}"


def folder_ensure(*, environment, path: str) -> None:
    """The folder and its parents exist afterwards (idempotent, safe under concurrency)."""
    if path == "/":
        return
    levels = path.strip("/").split("/")
    wanted = ["/" + "/".join(levels[: depth + 1]) for depth in range(len(levels))]
    existing = set(
        Folder.objects.filter(environment=environment, path__in=wanted).values_list(
            "path", flat=True
        )
    )
    missing = [Folder(environment=environment, path=p) for p in wanted if p not in existing]
    if missing:
        # A concurrent upload into the same new folder may insert it first: that is fine.
        Folder.objects.bulk_create(missing, ignore_conflicts=True)


def image_tags_write(image: Image, tags: list[str]) -> None:
    """Store ``tags`` as the image's tags, list and index rows together (inside the
    caller's transaction)."""
    image.tags = tags
    Image.objects.filter(id=image.id).update(tags=tags)
    ImageTag.objects.filter(image=image).exclude(name__in=tags).delete()
    ImageTag.objects.bulk_create(
        [
            ImageTag(
                environment_id=image.environment_id,
                image=image,
                name=tag,
                image_created_at=image.created_at,
            )
            for tag in tags
        ],
        ignore_conflicts=True,
    )


def image_tags_update(
    *, environment, image_id, add=(), remove=(), replace: list | None = None
) -> Image:
    """Add and remove tags of a live image (or replace them all); NOT_FOUND otherwise."""
    with transaction.atomic():
        image = (
            Image.objects.for_environment(environment)
            .select_for_update()
            .filter(id=image_id)
            .first()
        )
        if image is None:
            raise Refusal(domain.NOT_FOUND, "Image not found")
        tags = list(replace) if replace is not None else list(image.tags)
        tags += [tag for tag in add if tag not in tags]
        tags = [tag for tag in tags if tag not in set(remove)]
        tags = tags_parse(tags)  # the same limits as at upload
        changed = tags != list(image.tags)
        try:
            image_tags_write(image, tags)
            if changed:
                image_event_emit(image, IMAGE_UPDATED)
        except IntegrityError:  # pragma: no cover - the row lock makes this unreachable
            raise Refusal(domain.CONFLICT, "The tags changed meanwhile; retry.") from None
    return image


def folders_of(environment, parent: str = "/") -> list[str]:
    """The folders directly inside ``parent``."""
    prefix = "/" if parent == "/" else parent + "/"
    paths = Folder.objects.filter(environment=environment, path__startswith=prefix).values_list(
        "path", flat=True
    )
    return sorted(p for p in paths if "/" not in p[len(prefix) :] and p != parent)


def coordinates_parse(value, *, field: str = "custom_coordinates") -> str:
    """``"x,y,w,h"`` in the original's pixels (w, h ≥ 1), normalised; ``""`` for none."""
    if value is None or value == "":
        return ""
    parts = value.split(",") if isinstance(value, str) else None
    try:
        numbers = [int(part.strip()) for part in parts] if parts else []
    except ValueError:
        numbers = []
    if len(numbers) != 4 or min(numbers) < 0 or numbers[2] < 1 or numbers[3] < 1:
        raise Refusal(
            domain.INVALID_VALUE,
            f"{field} must be four whole numbers x,y,width,height (like 10,10,100,100), "
            "width and height at least 1.",
            field=field,
        )
    if max(numbers) > 1_000_000:
        raise Refusal(domain.INVALID_VALUE, f"{field} is outside any image.", field=field)
    return ",".join(str(n) for n in numbers)


@dataclass(frozen=True)
class LibraryRequest:
    """Where an upload goes in the library, as any door asks (all optional)."""

    tags: list[str] | None = None
    folder: str | None = None
    name: str | None = None  # the file name inside the folder; the upload's basename if None
    is_private: bool = False
    custom_coordinates: str | None = None
    # Make this upload the next version of that READY image once it is READY.
    replaces_id: str | None = None
    overwrite_tags: bool = True
    overwrite_custom_metadata: bool = True
    # The file holds its path alone (ImageKit's files do): a second upload to the same
    # path is refused, or becomes a version, never a second file.
    claims_path: bool = False


@dataclass(frozen=True)
class Placement:
    tags: list
    folder: str
    name: str
    is_private: bool
    coordinates: str
    replaces: Image | None
    overwrite: dict
    claims_path: bool = False


def library_place(access, request: LibraryRequest | None, file_name: str) -> Placement:
    """The request's library fields checked, before anything is written."""
    request = request or LibraryRequest()
    tags = tags_parse(request.tags)
    folder = folder_normalize(request.folder)
    name = request.name or file_name.replace("\\", "/").rsplit("/", 1)[-1]
    coordinates = coordinates_parse(request.custom_coordinates)
    replaces = None
    if request.replaces_id is not None:
        replaces = (
            Image.objects.for_environment(access.environment)
            .filter(id=request.replaces_id, replaces__isnull=True)
            .first()
        )
        if replaces is None:
            raise Refusal(domain.NOT_FOUND, "The file to overwrite does not exist.")
        if replaces.status != ImageStatus.READY:
            raise Refusal(
                domain.CONFLICT,
                f"The file at {replaces.file_path} is still being processed; overwrite it once "
                "it is ready.",
            )
    overwrite = (
        {"tags": request.overwrite_tags, "custom_metadata": request.overwrite_custom_metadata}
        if replaces
        else {}
    )
    return Placement(
        tags,
        folder,
        name,
        bool(request.is_private),
        coordinates,
        replaces,
        overwrite,
        claims_path=request.claims_path and replaces is None,
    )


def placement_fields(placement: Placement) -> dict:
    """The Image fields of a placement, for ``Image.objects.create``."""
    return {
        "folder": placement.folder,
        "file_name": placement.name,
        "is_private": placement.is_private,
        "custom_coordinates": placement.coordinates,
        "replaces": placement.replaces,
        "overwrite": placement.overwrite,
        "claims_path": placement.claims_path,
    }


def library_file(image: Image, placement: Placement) -> None:
    """Inside the creating transaction: the folder exists, the tags are indexed."""
    folder_ensure(environment=image.environment, path=placement.folder)
    if placement.tags:
        image_tags_write(image, placement.tags)


def tags_of_deleted_forget(limit: int = 5000) -> int:
    """The reconciler's step: tag rows of images deleted by paths that do not go through
    images.services.deletion (abandoned uploads expiring, unstored Uploadcare files)."""
    ids = list(
        ImageTag.objects.filter(image__deleted_at__isnull=False).values_list("id", flat=True)[
            :limit
        ]
    )
    return ImageTag.objects.filter(id__in=ids).delete()[0] if ids else 0


def path_taken(placement: Placement) -> Refusal:
    """A concurrent upload claimed the same path first (the unique constraint said so)."""
    return Refusal(
        domain.CONFLICT,
        f"Another upload to {placement.folder.rstrip('/')}/{placement.name} was created at the "
        "same moment; retry to overwrite it, or use a unique file name.",
    )
