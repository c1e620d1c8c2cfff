"""Real-world sample images (README.md here: where they come from and their licence)."""

from pathlib import Path

CORPUS = Path(__file__).resolve().parent

# Named, not globbed: a missing file fails its test instead of shrinking the parameter list.
FILES = (
    "1.webp",
    "1bit.tif",
    "avif-orientation-6.avif",
    "cogs.gif",
    "dispose-background.gif",
    "example.avif",
    "example.heic",
    "exif-orientation-1.jpg",
    "exif-orientation-2.jpg",
    "exif-orientation-3.jpg",
    "exif-orientation-4.jpg",
    "exif-orientation-5.jpg",
    "exif-orientation-6.jpg",
    "exif-orientation-7.jpg",
    "exif-orientation-8.jpg",
    "favicon.ico",
    "indexed.png",
    "rgba.png",
    "sample.jpg",
    "sample.png",
    "sample.tif",
    "small.bmp",
    "subsampled.tif",
    "trans-x.gif",
)
