"""Imgwire installs as a package and runs with no checkout: the wheel built from the
project's files holds every package, migration, template and static file, and its
`imgwire-manage` script checks, migrates, bootstraps and renders pages from any folder.

Offline throughout: the wheel is built with this virtualenv's own setuptools (pip
--no-build-isolation --no-index) and installed with --no-deps --no-index into a fresh
virtualenv that borrows this one's dependencies through a .pth file."""

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("imgwire_site", "images", "keys", "environments", "domains", "metrics")
DATA_FOLDERS = ("static", "templates")  # an app's own files Django reads at run time

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
DIST_INFO = f"imgwire-{VERSION}.dist-info"

# The production checklist's settings (.ci/run); testserver is the test client's host.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "packaging-test-" + "s" * 50,
    "IMGWIRE_KEY_PEPPER": "packaging-test-pepper",
    "ALLOWED_HOSTS": "api.imgwire.example,testserver",
    "IMGWIRE_PUBLIC_URL": "https://api.imgwire.example",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_PRELOAD": "true",
}
OFFLINE = ("--no-index", "--quiet", "--disable-pip-version-check")


def succeed(argv: list[str], **options) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{' '.join(argv[:4])}: {done.stdout}{done.stderr}"
    return done.stdout


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    # build/ is setuptools' own output from an earlier in-tree build, not a project file.
    return [n for n in listed.split("\0") if n and not n.startswith("build/")]


def checkout_packages() -> set[str]:
    return {
        Path(name).parent.as_posix().replace("/", ".")
        for name in project_files()
        if name.split("/")[0] in APPS and name.endswith("/__init__.py")
    }


def runtime_files() -> dict[str, str]:
    """Each file read at run time besides the code, keyed by its place in the wheel."""
    expected = {}
    for name in project_files():
        if not (ROOT / name).is_file():
            continue  # deleted in the work tree
        parts = name.split("/")
        if parts[0] == "templates":
            expected["imgwire_site/" + name] = name
        elif parts[0] in APPS and any(p in DATA_FOLDERS for p in parts[1:-1]):
            expected[name] = name
    return expected


def static_names() -> set[str]:
    """What an app's static/ folder in the checkout serves, as staticfiles names."""
    names = set()
    for name in runtime_files().values():
        parts = name.split("/")
        if parts[0] in APPS and "static" in parts[1:-1]:
            names.add("/".join(parts[parts.index("static", 1) + 1 :]))
    return names


def build_wheel(source: Path, out: Path) -> Path:
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    succeed([*pip_wheel, *OFFLINE, "-w", str(out), str(source)], cwd=out)
    (built,) = out.glob("imgwire-*.whl")
    return built


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    # A copy of the project's files, so the checkout gets no build/ folder and nothing
    # beside the listed files (a stray var/, __pycache__) can reach what is built.
    folder = tmp_path_factory.mktemp("source")
    for name in project_files():
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    return build_wheel(source, tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed; its bin/ folder."""
    venv = tmp_path_factory.mktemp("venv")
    succeed([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    own = succeed(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).strip()
    # Appended after the new venv's own site-packages, so the wheel's copy of the app wins
    # over anything this virtualenv holds.
    Path(own, "imgwire-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    succeed(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--ignore-installed",
            *OFFLINE,
            str(wheel),
        ]
    )
    return venv / "bin"


@pytest.fixture
def operator(installed, tmp_path):
    """Runs `imgwire-manage` the way an operator would: from a folder of its own, with the
    production settings, no checkout on the path and no DJANGO_SETTINGS_MODULE."""
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE", "IMGWIRE_", "DJANGO_", "SECURE_"))
            and k not in ("PYTHONPATH", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
        },
        **PRODUCTION,
        "IMGWIRE_DATA_DIR": str(tmp_path / "data"),
        # A database URL, as in production: no secret may then be generated for itself.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'imgwire.sqlite3'}",
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(installed / "imgwire-manage"), *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"imgwire-manage {args[0]}: {done.stdout}{done.stderr}"
        return done.stdout

    return run


def test_this_virtualenv_builds_wheels_offline_with_its_own_setuptools():
    from importlib.metadata import version

    # 70.1 builds wheels without the separate `wheel` package (pyproject.toml's dev extra).
    installed = tuple(int(part) for part in version("setuptools").split(".")[:2])
    assert installed >= (70, 1), "`make install` brings the dev extra's setuptools"


def test_pyproject_lists_every_package_of_the_checkout():
    declared = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    missing = checkout_packages() - declared
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_the_wheel_holds_the_code_templates_and_static_files_and_nothing_else(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        name
        for name in project_files()
        if name.split("/")[0] in APPS and name.endswith(".py") and (ROOT / name).is_file()
    }
    assert modules - names == set()
    assert set(runtime_files()) - names == set()
    assert "imgwire_site/templates/registration/login.html" in names
    top_level = {n.split("/")[0] for n in names if not n.startswith(DIST_INFO)}
    assert top_level == set(APPS)  # no tests/, templates/ or scripts/ beside the packages
    entry_points = zipfile.ZipFile(wheel).read(f"{DIST_INFO}/entry_points.txt")
    assert b"imgwire-manage = imgwire_site.cli:main" in entry_points


def test_a_wheel_built_from_the_source_distribution_holds_the_same_files(source, wheel, tmp_path):
    # `python -m build` (the usual release command) builds the wheel from the sdist, so
    # MANIFEST.in must carry every file the wheel needs.
    hook = f"from setuptools import build_meta; print(build_meta.build_sdist({str(tmp_path)!r}))"
    sdist = tmp_path / succeed([sys.executable, "-c", hook], cwd=source).splitlines()[-1]
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    again = build_wheel(unpacked, tmp_path)
    assert set(zipfile.ZipFile(again).namelist()) == set(zipfile.ZipFile(wheel).namelist())


def test_the_installed_package_checks_clean_for_deployment_from_any_folder(operator):
    output = operator("check", "--deploy", "--fail-level", "WARNING")
    assert "System check identified no issues" in output


def test_the_installed_package_migrates_bootstraps_and_renders_its_templates(
    operator, installed, tmp_path
):
    operator("migrate", "--noinput", "-v0")
    # Every model change has its migration in the wheel (a missing migrations package
    # would show up here as changes to make).
    assert "No changes detected" in operator("makemigrations", "--check", "--dry-run")
    account = json.loads(
        operator(
            "bootstrap",
            "--organization",
            "Acme",
            "--environment",
            "Production",
            "--email",
            "ops@acme.example",
        )
    )
    assert account["server_key"] and account["client_key"]
    operator("collectstatic", "--noinput", "-v0")  # what WhiteNoise serves with DEBUG off
    for name in static_names() | {"admin/css/base.css"}:
        assert (tmp_path / "data" / "static" / name).is_file(), name

    probe = operator(
        "shell",
        "--no-imports",
        "-c",
        "import json, imgwire_site\n"
        "from django.contrib.staticfiles import finders\n"
        "from django.template.loader import get_template\n"
        "from django.test import Client\n"
        "page = Client().get('/accounts/login/', secure=True)\n"
        "print(json.dumps({'status': page.status_code, 'html': page.content.decode(),\n"
        "  'template': get_template('registration/login.html').origin.name,\n"
        "  'package': imgwire_site.__file__,\n"
        f"  'static': {{n: finders.find(n) for n in {sorted(static_names())!r}}}}}))",
    )
    page = json.loads(probe)
    venv = str(installed.parent)
    assert page["status"] == 200
    assert 'name="password"' in page["html"]
    assert page["package"].startswith(venv)
    # The project's templates come from the installed imgwire_site/templates/.
    assert page["template"].startswith(venv)
    assert page["template"].endswith("imgwire_site/templates/registration/login.html")
    for name, found in page["static"].items():
        assert found and found.startswith(venv), name
