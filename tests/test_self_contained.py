"""A fresh clone is all the project has: no file of it reaches outside the checkout."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Built from pieces so this file does not match itself.
SHARED = "sha" + "red"
PATTERNS = [
    re.compile(re.escape("../" + SHARED)),
    re.compile(r"[\"']" + SHARED + r"[\"']\s*/"),
    re.compile(r"/\s*[\"']" + SHARED + r"[\"']"),
    # Absolute paths of a build machine: its home folders and workspaces.
    re.compile(r"(?<![\w.~-])/(?:" + "work|home|root|Users" + r")/\w"),
    re.compile(re.escape(str(ROOT.parent) + "/")),
]


def project_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_the_repository_lists_its_files():
    names = {path.relative_to(ROOT).as_posix() for path in project_files()}
    assert {"README.md", "manage.py", "tests/contract/imgwire-openapi.json"} <= names


def test_no_project_file_names_a_path_outside_the_checkout():
    offenders = []
    for path in project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary test data (tests/corpus) or a file deleted in the work tree
        for number, line in enumerate(text.splitlines(), 1):
            if any(pattern.search(line) for pattern in PATTERNS):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_sample_images_and_the_contract_are_in_the_repository():
    from tests.corpus import CORPUS, FILES

    assert len(FILES) == 24
    assert all((CORPUS / name).stat().st_size > 0 for name in FILES)
    assert "LGPL" in (CORPUS / "README.md").read_text()
    assert (ROOT / "tests" / "contract" / "README.md").exists()
