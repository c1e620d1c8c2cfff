"""What the dashboard's browser tests share: Debian's Chromium by path (no browser download
at test time), its flags, where failure screenshots go, and the two screen sizes."""

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# A context whose pages may read what a Copy button put on the clipboard.
CLIPBOARD_ACCESS = ["clipboard-read", "clipboard-write"]
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
