"""The transformation engine's output: formats and encoder options, metadata, colour
profiles, source formats, EXIF orientation and animation."""

import io

import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageOps, ImageStat, JpegImagePlugin

from images.transform import parse_transform
from images.transform.engine import SourceInfo, render
from tests import imagegen
from tests.corpus import CORPUS
from tests.images.test_transform_engine import RED, encode, halves, near, run

# --- output --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("jpeg", "image/jpeg", lambda d: d[:3] == b"\xff\xd8\xff"),
        ("jpg", "image/jpeg", lambda d: d[:3] == b"\xff\xd8\xff"),
        ("png", "image/png", lambda d: d[:8] == b"\x89PNG\r\n\x1a\n"),
        ("webp", "image/webp", lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP"),
        ("avif", "image/avif", lambda d: d[4:8] == b"ftyp" and d[8:12] in (b"avif", b"avis")),
        ("gif", "image/gif", lambda d: d[:6] in (b"GIF87a", b"GIF89a")),
        ("tiff", "image/tiff", lambda d: d[:4] in (b"II*\x00", b"MM\x00*")),
    ],
)
def test_each_output_format_has_its_magic_bytes(fmt, content_type, magic):
    rendered, image = run(halves(60, 30), ("format", fmt))
    assert rendered.content_type == content_type and not rendered.negotiated
    assert magic(rendered.data)
    assert image.size == (60, 30)


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_quality_changes_the_size(fmt):
    source = Image.effect_noise((96, 96), 60).convert("RGB")
    low, _ = run(source, ("format", fmt), ("quality", "20"))
    high, _ = run(source, ("format", fmt), ("quality", "95"))
    auto, _ = run(source, ("format", fmt), ("quality", "auto"))
    assert len(low.data) < len(auto.data) < len(high.data)


def _sof(data: bytes) -> set[int]:
    return {
        data[i + 1] for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2)
    }


@pytest.mark.parametrize(
    ("value", "marker"), [("true", 0xC2), ("false", 0xC0), ("auto", 0xC2), (None, 0xC0)]
)
def test_progressive_jpeg_has_a_sof2_marker(value, marker):
    pairs = [("format", "jpeg")] + ([("progressive", value)] if value else [])
    rendered, _ = run(halves(300, 300), *pairs)
    assert _sof(rendered.data) == {marker}


@pytest.mark.parametrize(
    ("pairs", "sampling"),
    [
        ([("chroma_subsampling", "4:4:4")], 0),
        ([("chroma_subsampling", "4:2:2")], 1),
        ([("chroma_subsampling", "auto")], 2),
        ([], 2),
        ([("quality", "95")], 0),
    ],
)
def test_chroma_subsampling_is_written_as_asked(pairs, sampling):
    _, image = run(halves(64, 64), ("format", "jpeg"), *pairs)
    assert JpegImagePlugin.get_sampling(image) == sampling


@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff"])
def test_dpi_is_written(fmt):
    _, image = run(halves(40, 20), ("format", fmt), ("dpi", "300"))
    assert [round(v) for v in image.info["dpi"]] == [300, 300]


def _camera_jpeg() -> bytes:
    exif = Image.Exif()
    exif.load(imagegen.camera_exif(exif_gps=True))
    exif[ExifTags.Base.Copyright] = "(c) Ada Lovelace"
    exif[ExifTags.Base.Artist] = "Ada"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><secret/></x:xmpmeta>'
    return encode(halves(64, 48), "JPEG", exif=exif.tobytes(), xmp=xmp, comment=b"secret")


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "tiff"])
def test_metadata_is_stripped_from_every_output(fmt):
    rendered, image = run(_camera_jpeg(), ("format", fmt), ("width", "32"))
    exif = image.getexif()
    assert ExifTags.Base.Make not in exif and ExifTags.Base.Copyright not in exif
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert b"secret" not in rendered.data and b"Testcam" not in rendered.data


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif"])
def test_keep_copyright_keeps_only_copyright_and_artist(fmt):
    rendered, image = run(_camera_jpeg(), ("format", fmt), ("keep_copyright", "true"))
    exif = image.getexif()
    assert exif[ExifTags.Base.Copyright] == "(c) Ada Lovelace"
    assert exif[ExifTags.Base.Artist] == "Ada"
    assert ExifTags.Base.Make not in exif and ExifTags.Base.Orientation not in exif
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Testcam" not in rendered.data


def test_colour_profiles_are_dropped_unless_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(halves(40, 20), "JPEG", icc_profile=profile)
    _, plain = run(data, ("format", "png"))
    _, kept = run(data, ("format", "png"), ("color_profile", "keep"))
    _, stripped = run(data, ("format", "png"), ("cp", "keep"), ("strip_color_profile", "true"))
    assert "icc_profile" not in plain.info and "icc_profile" not in stripped.info
    assert kept.info["icc_profile"] == profile


def test_an_empty_transform_re_encodes_in_the_negotiated_format():
    data = encode(halves(40, 20), "JPEG")
    rendered, image = run(data)
    assert rendered.content_type == "image/jpeg" and rendered.negotiated
    assert image.size == (40, 20)


def test_a_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    scales = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        scales.append(result[1] if result else None)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    rendered, _ = run(encode(halves(1600, 800), "JPEG"), ("width", "200"))
    assert (rendered.width, rendered.height) == (200, 100)
    assert scales and scales[0][2] == 1600 / 8  # decoded at 1/8 scale


# --- sources -------------------------------------------------------------------------------


@pytest.mark.parametrize("mime", sorted(imagegen.ALL_FORMATS))
def test_every_accepted_source_format_renders(mime):
    make, width, height = imagegen.ALL_FORMATS[mime]
    data = make()
    rendered = render(
        io.BytesIO(data), SourceInfo(mime, width, height), parse_transform([("width", "16")])
    )
    assert rendered.width == 16
    assert Image.open(io.BytesIO(rendered.data)).size == (rendered.width, rendered.height)


def test_a_cmyk_jpeg_comes_out_in_rgb_and_cmyk_output_is_available():
    data = encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG", quality=95)
    _, image = run(data, ("format", "png"))
    assert image.mode == "RGB" and near(image.getpixel((5, 5)), RED, 30)
    _, cmyk = run(data, ("format", "jpeg"), ("color_profile", "cmyk"))
    assert cmyk.mode == "CMYK"


def test_sixteen_bit_grey_is_scaled_not_clipped():
    data = encode(Image.new("I;16", (16, 16), 32768))
    _, image = run(data, ("format", "png"))
    assert abs(image.convert("L").getpixel((3, 3)) - 128) <= 1


def test_a_wide_gamut_profile_is_converted_to_srgb_unless_kept():
    data = (CORPUS / "sample.jpg").read_bytes()  # Adobe RGB (1998)
    source_icc = Image.open(io.BytesIO(data)).info["icc_profile"]
    _, converted = run(data, ("format", "png"))
    _, kept = run(data, ("format", "png"), ("color_profile", "keep"))
    assert "icc_profile" not in converted.info and kept.info["icc_profile"] == source_icc
    moved = ImageStat.Stat(ImageChops.difference(converted.convert("RGB"), kept.convert("RGB")))
    assert max(moved.mean) > 2


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize(
    "pairs",
    [
        [("rotate", "90"), ("flip", "horizontal"), ("crop", "100:80:northeast")],
        [("crop", "30:40:120:90"), ("width", "60")],
        [("rotate", "270"), ("width", "50"), ("height", "50"), ("gravity", "south")],
        [("rotate", "20:000000"), ("flip", "vertical"), ("width", "90")],
        [("flip", "both"), ("width", "64"), ("height", "64"), ("gravity", "entropy")],
    ],
)
def test_orientation_then_rotate_flip_and_crop_match_an_upright_copy(orientation, pairs):
    data = (CORPUS / f"exif-orientation-{orientation}.jpg").read_bytes()
    upright = encode(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    expected = run(upright, *pairs, ("format", "png"))[1].convert("L")
    got = run(data, *pairs, ("format", "png"))[1].convert("L")
    assert got.size == expected.size
    # The JPEG is drafted (DCT-scaled) and the PNG is not: resampling differs by a few levels;
    # a wrong orientation differs by 20 or more.
    assert ImageStat.Stat(ImageChops.difference(got, expected)).mean[0] < 6


# --- orientation ---------------------------------------------------------------------------


def test_every_exif_orientation_comes_out_upright_and_alike():
    outputs = []
    for n in range(1, 9):
        data = (CORPUS / f"exif-orientation-{n}.jpg").read_bytes()
        _, image = run(data, ("width", "120"), ("format", "png"))
        outputs.append(image.convert("L"))
    assert {image.size for image in outputs} == {(120, 160)}
    for image in outputs[1:]:
        assert ImageStat.Stat(ImageChops.difference(outputs[0], image)).mean[0] < 12


def test_width_of_a_portrait_phone_photo_is_portrait():
    data = imagegen.jpeg(64, 48, orientation=6)
    rendered, _ = run(data, ("width", "30"))
    assert (rendered.width, rendered.height) == (30, 40)


# --- animation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "frames"), [("gif", 5), ("webp", 5), ("avif", 5), ("jpeg", 1), ("png", 1)]
)
def test_animated_gifs_stay_animated_when_the_format_can_carry_it(fmt, frames):
    data = (CORPUS / "cogs.gif").read_bytes()
    _, image = run(data, ("width", "40"), ("format", fmt))
    assert getattr(image, "n_frames", 1) == frames
    assert image.width == 40


def test_animation_keeps_durations_and_respects_max_frames():
    data = (CORPUS / "dispose-background.gif").read_bytes()
    _, image = run(data, ("format", "gif"), ("width", "96"))
    assert image.n_frames == 3 and image.info["duration"] == 500
    _, capped = run(data, ("format", "webp"), max_frames=2)
    assert capped.n_frames == 2


def test_auto_format_of_an_animation_without_accept_is_gif():
    rendered, image = run((CORPUS / "cogs.gif").read_bytes(), ("width", "40"))
    assert rendered.content_type == "image/gif" and image.n_frames == 5
