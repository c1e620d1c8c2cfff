"""Object storage access for images, through Django's STORAGES (local folder or S3)."""

import contextlib
import hashlib
import os
import shutil
import tempfile
from typing import BinaryIO

from botocore.exceptions import ClientError
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

CHUNK_SIZE = 1024 * 1024


class StreamTooLong(Exception):
    pass


class StreamTooShort(Exception):
    pass


class CountingReader:
    """Wraps a request stream: hashes and counts as storage pulls, and refuses to read past
    ``limit`` so a body longer than promised never reaches storage whole."""

    closed = False

    def __init__(self, stream: BinaryIO, limit: int):
        self.stream = stream
        self.limit = limit
        self.count = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """File semantics: ``size`` bytes unless the stream ends first (boto3 takes a short
        read for end of file), everything left when ``size`` is negative."""
        wanted = self.limit - self.count + 1 if size is None or size < 0 else size
        parts = []
        while wanted > 0:
            chunk = self.stream.read(min(wanted, CHUNK_SIZE, self.limit - self.count + 1))
            if not chunk:
                break
            self.count += len(chunk)
            if self.count > self.limit:
                raise StreamTooLong
            self.sha256.update(chunk)
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(parts)


class ReaderFile(File):
    """A django File over a CountingReader, streamed chunk by chunk (never fully buffered)."""

    def __init__(self, reader: CountingReader, size: int):
        super().__init__(reader, name="upload")
        self._declared = size

    @property
    def size(self):
        return self._declared

    def chunks(self, chunk_size=None):
        while True:
            data = self.file.read(chunk_size or CHUNK_SIZE)
            if not data:
                return
            yield data

    def multiple_chunks(self, chunk_size=None):
        return True

    def seekable(self):
        # A request body can only be read forward; saying so makes boto3 use its
        # non-seekable multipart path (bounded buffers) instead of rewinding.
        return False


def save_stream(key: str, reader: CountingReader, size: int) -> None:
    default_storage.save(key, ReaderFile(reader, size))


def save_file(key: str, fileobj: BinaryIO) -> None:
    default_storage.save(key, File(fileobj, name=key.rsplit("/", 1)[-1]))


def replace_file(key: str, fileobj: BinaryIO) -> None:
    """Store ``fileobj`` under ``key``, replacing any object there, so that the object
    appears whole: on local storage it is written beside its name and renamed into place
    (FileSystemStorage.save writes in place, and a request that finds a variant file while
    its render is still being written would send half of it); S3 objects appear whole."""
    storage = default_storage
    if not isinstance(storage, FileSystemStorage):
        save_file(key, fileobj)
        return
    path = storage.path(key)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".writing-")
    try:
        with os.fdopen(descriptor, "wb") as target:
            shutil.copyfileobj(fileobj, target, CHUNK_SIZE)
        os.chmod(temporary, storage.file_permissions_mode or 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def open_stream(key: str, storage: Storage = default_storage) -> tuple[BinaryIO, int | None]:
    """An object opened for chunked reading, and its size when the backend knows it.

    Raises FileNotFoundError for a missing object, whatever the backend.
    """
    if not isinstance(storage, S3Storage):
        source = storage.open(key, "rb")
        try:
            return source, source.size
        except (AttributeError, OSError):
            return source, None
    # django-storages' S3File downloads the whole object before the first read() (into a
    # SpooledTemporaryFile that, with AWS_S3_MAX_MEMORY_SIZE's default 0, never spills to
    # disk), so a 100 MiB image would sit in memory; the GetObject body streams instead.
    # Key and parameters (SSE-C, requester pays) are resolved as S3Storage._open does.
    name = clean_name(key)
    parameters = storage.get_object_parameters(name)
    try:
        response = storage.bucket.Object(storage._normalize_name(name)).get(
            **{k: v for k, v in parameters.items() if k in ALLOWED_DOWNLOAD_ARGS}
        )
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            raise FileNotFoundError(key) from None
        raise
    return response["Body"], response.get("ContentLength")


def open_object(key: str) -> tuple[BinaryIO, int] | None:
    """An object opened for reading with its size, or None when it does not exist: one
    call where exists() + size() + open() would be three (three requests on S3)."""
    path = local_path(key)
    if path is not None:
        try:
            source = open(path, "rb")  # noqa: SIM115 - the caller closes
        except FileNotFoundError:
            return None
        return source, os.fstat(source.fileno()).st_size
    try:
        source, size = open_stream(key)
    except FileNotFoundError:
        return None
    if size is None:  # a backend that cannot tell without asking again
        size = default_storage.size(key)
    return source, size


def local_path(key: str) -> str | None:
    """The object's own file when storage is a local folder (None on remote storage), so a
    reader in another process can open it instead of a temporary copy."""
    if isinstance(default_storage, FileSystemStorage):
        return default_storage.path(key)
    return None


def delete_object(key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        default_storage.delete(key)


def object_exists(key: str) -> bool:
    return default_storage.exists(key)


def delete_prefix(prefix: str) -> None:
    """Delete every object under ``prefix`` (a folder on local storage)."""
    try:
        directories, files = default_storage.listdir(prefix.rstrip("/"))
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        delete_object(f"{prefix}{name}")
    for directory in directories:
        delete_prefix(f"{prefix}{directory}/")
