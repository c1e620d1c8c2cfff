"""The decoding sandbox: what it accepts, what it refuses, and that refusals stay contained."""

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import ExifTags, Image, TiffImagePlugin

from images.processing import exif, headers
from images.processing.formats import (
    ACCEPTED_MIME_TYPES,
    ACCEPTED_PIL_FORMATS,
    DIRECTLY_DELIVERABLE,
    MIME_TO_EXTENSION,
    PIL_FORMAT_TO_MIME,
    mime_from_filename,
)
from images.processing.sandbox import Inspection, SandboxError, inspect_image
from tests import imagegen
from tests.corpus import CORPUS, FILES

CORPUS_FILES = [CORPUS / name for name in FILES if mime_from_filename(name)]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inspect(tmp_path):
    counter = iter(range(1_000_000))

    def run(data: bytes, declared: str, **limits) -> Inspection:
        path = tmp_path / f"upload-{next(counter)}"
        path.write_bytes(data)
        return inspect_image(str(path), declared, **limits)

    return run


def refused(result: Inspection) -> str:
    assert not result.ok, result
    assert result.reason
    return result.reason


# --- Accepted images --------------------------------------------------------------------


@pytest.mark.parametrize("mime", ACCEPTED_MIME_TYPES)
def test_it_reads_dimensions_of_every_accepted_format(inspect, mime):
    factory, width, height = imagegen.ALL_FORMATS[mime]
    result = inspect(factory(), mime)
    assert result.ok, result.reason
    assert (result.mime_type, result.width, result.height) == (mime, width, height)
    assert result.orientation == 1
    json.dumps(result.exif)


def test_it_reports_the_frames_of_an_animated_gif(inspect):
    result = inspect(imagegen.gif_animated(frames=4), "image/gif")
    assert (result.ok, result.frames, result.is_animated) == (True, 4, True)


def test_it_reports_alpha_only_when_the_image_has_it(inspect):
    assert inspect(imagegen.png_rgba(), "image/png").has_alpha
    assert not inspect(imagegen.jpeg(), "image/jpeg").has_alpha


@pytest.mark.parametrize("pillow_format", ["JPEG", "TIFF", "WEBP", "AVIF", "PNG"])
def test_it_reports_stored_dimensions_with_the_exif_orientation(inspect, pillow_format):
    data = imagegen.photo(pillow_format, orientation=6)
    result = inspect(data, PIL_FORMAT_TO_MIME[pillow_format])
    assert (result.width, result.height, result.orientation) == (64, 48, 6)


def test_heic_comes_out_already_turned_upright(inspect):
    # libheif applies the container's rotation while decoding, so nothing is left to apply.
    result = inspect(imagegen.photo("HEIF", orientation=6), "image/heic")
    assert (result.width, result.height, result.orientation) == (48, 64, 1)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_corpus_files_are_accepted(inspect, path):
    mime = mime_from_filename(path.name)
    result = inspect(path.read_bytes(), mime)
    assert result.ok, result.reason
    assert result.mime_type == mime
    assert result.width > 0 and result.height > 0
    if path.name.startswith("exif-orientation-"):
        assert result.orientation == int(path.stem.rsplit("-", 1)[1])
    if path.name in {"cogs.gif", "dispose-background.gif"}:
        assert result.is_animated and result.frames > 1
    if path.name in {"rgba.png", "trans-x.gif", "favicon.ico"}:
        assert result.has_alpha


# --- EXIF -------------------------------------------------------------------------------


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP", "AVIF", "HEIF", "JXL", "TIFF"])
def test_it_excludes_gps_from_exif(inspect, pillow_format):
    data = imagegen.photo(pillow_format, exif_gps=True)
    with Image.open(io.BytesIO(data)) as original:
        gps = original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert tuple(gps[ExifTags.GPS.GPSLatitude]) == imagegen.GPS_LATITUDE
    result = inspect(data, PIL_FORMAT_TO_MIME[pillow_format])
    assert result.ok, result.reason
    assert not [key for key in result.exif if "GPS" in key]
    assert "52.0" not in json.dumps(result.exif)
    assert result.exif["Make"] == "Imgwire Camera Co."
    assert result.exif["DateTimeOriginal"] == "2024:05:06 07:08:09"
    assert result.exif["ExposureTime"] == pytest.approx(1 / 250)
    assert result.exif["FNumber"] == pytest.approx(2.8)
    assert "MakerNote" not in result.exif


def test_exif_values_are_made_json_safe():
    value = exif._json_value
    assert value(TiffImagePlugin.IFDRational(1, 0)) is None
    assert value(TiffImagePlugin.IFDRational(3, 2)) == 1.5
    assert value(b"Canon\x00\x00") == "Canon"
    assert value(b"ASCII\x00\x00\x00a comment") == "a comment"
    assert value(b"\xff\xfe\x00\x01") is None
    assert value("x" * 5000) == "x" * exif.MAX_EXIF_STRING
    assert value((1, TiffImagePlugin.IFDRational(1, 4))) == [1, 0.25]
    assert value(tuple(range(1000))) is None
    assert value({"nested": 1}) is None


# --- Refusals ---------------------------------------------------------------------------


def test_it_refuses_tiff_bytes_declared_as_png(inspect):
    reason = refused(inspect(imagegen.tiff(), "image/png"))
    assert reason == "the bytes are image/tiff but the upload declared image/png"


def test_it_refuses_jpeg_xl_bytes_declared_as_jpeg(inspect):
    reason = refused(inspect(imagegen.jxl(), "image/jpeg"))
    assert reason == "the bytes are image/jxl but the upload declared image/jpeg"


def test_it_refuses_a_30000_by_30000_header_without_decoding(inspect):
    # 256 MiB could not hold 30000x30000 pixels (3.4 GB), so this passes only if the header
    # alone decides.
    result = inspect(imagegen.png_huge_header(30000, 30000), "image/png", memory_bytes=256 << 20)
    assert "900,000,000 pixels, over the limit of 250,000,000" in refused(result)


def test_it_refuses_a_jpeg_xl_header_claiming_30000_by_30000(inspect):
    result = inspect(imagegen.jxl_huge_header(30000, 30000), "image/jxl", memory_bytes=256 << 20)
    assert "30000x30000 = 900,000,000 pixels" in refused(result)


def test_it_refuses_a_many_frame_gif_bomb(inspect):
    data = imagegen.gif_bomb(5000, 5000, frames=100)
    assert len(data) < 4096
    assert "frames of 5000x5000" in refused(inspect(data, "image/gif", memory_bytes=256 << 20))


def test_it_refuses_three_frames_on_a_10000_by_10000_gif_canvas(inspect):
    result = inspect(imagegen.gif_bomb(10000, 10000, frames=3), "image/gif")
    assert "3 frames of 10000x10000 = 300,000,000 pixels" in refused(result)


def test_it_refuses_a_gif_with_a_hundred_thousand_tiny_frames(inspect):
    result = inspect(imagegen.gif_many_tiny_frames(100_000), "image/gif", timeout_seconds=10)
    assert "more than 10,000 frames" in refused(result)


@pytest.mark.parametrize(
    ("factory", "mime"),
    [
        (imagegen.truncated_jpeg, "image/jpeg"),
        (imagegen.truncated_png, "image/png"),
        (imagegen.truncated_gif, "image/gif"),
    ],
    ids=["jpeg", "png", "gif"],
)
def test_it_refuses_truncated_files(inspect, factory, mime):
    assert refused(inspect(factory(), mime)).startswith("the file is truncated")


@pytest.mark.parametrize("data", [b"", b"hello, not an image" * 10, b"GIF89a not really"])
def test_it_refuses_bytes_that_are_not_an_image(inspect, data):
    assert refused(inspect(data, "image/gif"))


def test_a_decoder_over_its_memory_budget_is_reported_not_fatal(inspect):
    # A complete 6000x6000 PNG: 137 MiB of pixels in Pillow, against a 160 MiB address space.
    data = imagegen.png_solid(6000, 6000)
    reason = refused(inspect(data, "image/png", memory_bytes=160 << 20))
    assert reason.startswith("the decoder ran out of its memory budget")
    assert inspect(data, "image/png").ok


def test_a_decoder_past_its_deadline_is_reported(inspect):
    # 36 MP take far longer than 10 ms to inflate (a tiny JPEG verifies within it).
    result = inspect(imagegen.png_solid(6000, 6000), "image/png", timeout_seconds=0.01)
    assert refused(result) == "decoding took longer than 0.01 seconds"


# --- Plumbing ---------------------------------------------------------------------------


def test_it_works_from_any_working_directory(inspect, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    assert inspect(imagegen.png_rgba(), "image/png").ok


def test_it_can_be_called_from_several_threads_at_once(tmp_path):
    cases = [(imagegen.png_rgba(), "image/png", True), (imagegen.tiff(), "image/png", False)] * 3
    paths = []
    for index, (data, _, _) in enumerate(cases):
        paths.append(tmp_path / f"{index}.bin")
        paths[-1].write_bytes(data)
    results: dict[int, Inspection] = {}

    def work(index: int) -> None:
        results[index] = inspect_image(str(paths[index]), cases[index][1])

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(cases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[index].ok for index in range(len(cases))] == [ok for _, _, ok in cases]


def test_a_missing_file_is_a_sandbox_error_not_a_refusal(tmp_path):
    with pytest.raises(SandboxError, match="does not exist"):
        inspect_image(str(tmp_path / "nowhere.png"), "image/png")


def test_the_child_prints_one_json_object_even_for_a_malformed_request():
    completed = subprocess.run(
        [sys.executable, "-m", "images.processing.sandbox_child", "{not json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert json.loads(completed.stdout) == {
        "ok": False, "fault": True, "reason": "malformed sandbox request: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    }  # fmt: skip


def test_the_sandbox_modules_do_not_import_django():
    code = (
        "import sys, images.processing.sandbox, images.processing.sandbox_child, "
        "images.processing.formats; print(sorted(m for m in sys.modules if 'django' in m))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


@pytest.mark.parametrize("size", [(8, 8), (40, 24), (64, 48), (1920, 1080), (37, 91), (600, 600)])
@pytest.mark.parametrize("container", [False, True], ids=["codestream", "container"])
def test_jxl_header_sizes_match_the_decoder(size, container):
    data = imagegen._encode(imagegen._picture(*size), "JXL", effort=1, use_container=container)
    assert headers.jxl_dimensions(data) == size


# --- Format tables ----------------------------------------------------------------------


def test_every_accepted_type_has_an_extension_a_pillow_format_and_a_sample():
    assert set(MIME_TO_EXTENSION) == set(ACCEPTED_MIME_TYPES) == set(imagegen.ALL_FORMATS)
    assert set(PIL_FORMAT_TO_MIME.values()) == set(ACCEPTED_MIME_TYPES)
    assert set(ACCEPTED_PIL_FORMATS) <= set(PIL_FORMAT_TO_MIME)
    assert set(ACCEPTED_MIME_TYPES) >= DIRECTLY_DELIVERABLE
    for mime, extension in MIME_TO_EXTENSION.items():
        assert mime_from_filename(f"photo.{extension}") == mime


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("IMG_0001.JPG", "image/jpeg"),
        ("scan.tif", "image/tiff"),
        ("photo.heif", "image/heic"),
        ("favicon.ico", "image/vnd.microsoft.icon"),
        ("archive.tar.gz", None),
        ("no-extension", None),
        ("", None),
    ],
)
def test_mime_from_filename_reads_the_extension(name, mime):
    assert mime_from_filename(name) == mime
