"""Images made in memory for tests: one per accepted format, plus hostile ones.

Every function returns the file's bytes. Nothing here touches the disk or imports Django.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pillow_heif
import pillow_jxl  # noqa: F401  (registers the JXL plugin)
from PIL import ExifTags, Image, TiffImagePlugin

pillow_heif.register_heif_opener()

GPS_LATITUDE = (52.0, 22.0, 30.0)


def _picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    ramp = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp))
    if mode == "RGBA":
        image.putalpha(ramp)
    return image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def camera_exif(exif_gps: bool = True, orientation=None) -> bytes:
    """EXIF as a camera writes it: Make/Model/DateTime, Exif-IFD settings, and maybe GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Imgwire Camera Co."
    exif[ExifTags.Base.Model] = "Testcam 1"
    exif[ExifTags.Base.DateTime] = "2024:05:06 07:08:09"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif).update(
        {
            ExifTags.Base.DateTimeOriginal: "2024:05:06 07:08:09",
            ExifTags.Base.ExposureTime: TiffImagePlugin.IFDRational(1, 250),
            ExifTags.Base.FNumber: TiffImagePlugin.IFDRational(28, 10),
            ExifTags.Base.ISOSpeedRatings: 200,
            ExifTags.Base.MakerNote: b"\x00\x01\x02\x03opaque vendor blob\xff",
        }
    )
    if exif_gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(
            {
                ExifTags.GPS.GPSLatitudeRef: "N",
                ExifTags.GPS.GPSLatitude: GPS_LATITUDE,
                ExifTags.GPS.GPSLongitudeRef: "E",
                ExifTags.GPS.GPSLongitude: (4.0, 53.0, 40.0),
            }
        )
    return exif.tobytes()


def jpeg(width: int = 64, height: int = 48, exif_gps: bool = True, orientation=None) -> bytes:
    """A JPEG carrying ``camera_exif``."""
    exif = camera_exif(exif_gps, orientation)
    return _encode(_picture(width, height), "JPEG", quality=85, exif=exif)


def photo(pillow_format: str, exif_gps: bool = True, orientation=None) -> bytes:
    """A 64x48 picture in any format Pillow can write EXIF into, carrying ``camera_exif``."""
    exif = camera_exif(exif_gps, orientation)
    return _encode(_picture(64, 48), pillow_format, exif=exif)


def png_rgba(width: int = 40, height: int = 30) -> bytes:
    return _encode(_picture(width, height, "RGBA"), "PNG")


def gif_animated(frames: int = 3, width: int = 32, height: int = 24) -> bytes:
    images = [Image.new("P", (width, height), color=index % 4) for index in range(frames)]
    for image in images:
        image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    return _encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def webp(width: int = 48, height: int = 32) -> bytes:
    return _encode(_picture(width, height, "RGBA"), "WEBP", quality=80)


def avif(width: int = 48, height: int = 32) -> bytes:
    return _encode(_picture(width, height), "AVIF", quality=60, speed=10)


def heic(width: int = 64, height: int = 48) -> bytes:
    return _encode(_picture(width, height), "HEIF", quality=60)


def tiff(width: int = 30, height: int = 20) -> bytes:
    return _encode(_picture(width, height), "TIFF", compression="tiff_deflate")


def bmp(width: int = 17, height: int = 9) -> bytes:
    return _encode(_picture(width, height), "BMP")


def ico(size: int = 32) -> bytes:
    return _encode(_picture(size, size, "RGBA"), "ICO", sizes=[(16, 16), (size, size)])


def jxl(width: int = 40, height: int = 24, container: bool = False) -> bytes:
    return _encode(_picture(width, height), "JXL", effort=1, use_container=container)


ALL_FORMATS: dict[str, tuple[Callable[[], bytes], int, int]] = {
    "image/jpeg": (jpeg, 64, 48),
    "image/jxl": (jxl, 40, 24),
    "image/png": (png_rgba, 40, 30),
    "image/webp": (webp, 48, 32),
    "image/avif": (avif, 48, 32),
    "image/gif": (gif_animated, 32, 24),
    "image/vnd.microsoft.icon": (ico, 32, 32),
    "image/heic": (heic, 64, 48),
    "image/bmp": (bmp, 17, 9),
    "image/tiff": (tiff, 30, 20),
}


# --- Hostile files ----------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    data = jpeg(256, 192, exif_gps=False)
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    data = _encode(_picture(256, 192), "PNG", compress_level=0)
    return data[: len(data) // 2]


def truncated_gif() -> bytes:
    data = gif_animated(frames=3, width=200, height=150)
    return data[: len(data) * 2 // 3]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_huge_header(width: int = 30000, height: int = 30000) -> bytes:
    """A well-formed PNG whose IHDR claims ``width`` x ``height`` with a few bytes of pixels."""
    return _png(width, height, zlib.compress(b"\x00" * 1024))


def png_solid(width: int, height: int) -> bytes:
    """A complete, valid black RGB PNG of any size; compressed row by row to stay cheap."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _png(width, height, idat)


def gif_bomb(width: int = 5000, height: int = 5000, frames: int = 100) -> bytes:
    """A GIF whose logical screen is ``width`` x ``height`` with ``frames`` 1x1 frames: a few
    bytes per frame on disk, but every frame is a full canvas once composited."""
    palette = b"\x00\x00\x00\xff\xff\xff"
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + palette
    frame = (
        b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"  # LZW: clear, index 0, end
    )
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return header + loop + frame * frames + b"\x3b"


def gif_many_tiny_frames(frames: int = 100_000) -> bytes:
    return gif_bomb(1, 1, frames)


def jxl_huge_header(width: int = 30000, height: int = 30000) -> bytes:
    """A JPEG XL codestream whose SizeHeader claims ``width`` x ``height``, then junk."""
    bits: list[int] = []

    def put(value: int, count: int) -> None:
        bits.extend((value >> i) & 1 for i in range(count))

    put(0, 1)  # not "small"
    put(3, 2)  # height as 30 bits
    put(height - 1, 30)
    put(0, 3)  # no aspect ratio: explicit width
    put(3, 2)
    put(width - 1, 30)
    bits.extend([0] * (-len(bits) % 8))
    packed = bytes(
        sum(bit << i for i, bit in enumerate(bits[start : start + 8]))
        for start in range(0, len(bits), 8)
    )
    return b"\xff\x0a" + packed + b"\x00" * 64
