#!/usr/bin/env python
"""``make run``: the product on its embedded defaults, served as docs/deployment.md serves it.

Migrates, collects the static files, makes sure the demo account exists (its keys are
kept in the data folder, so a second run prints the same working keys instead of minting
more), prints where everything is, then replaces itself with granian. DEBUG stays off unless
the environment turns it on; secrets are generated once into the data folder.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO = {
    "organization": "Demo",
    "environment": "Production",
    "email": "demo@example.com",
    "password": "imgwire-demo",
}


def manage(*args: str, capture: bool = False) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE if capture else None,
        text=True,
    )
    return done.stdout or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2, help="web processes")
    args = parser.parse_args()

    base = f"http://{args.host}:{args.port}"
    # upload_url and cdn_url values must point at this server.
    os.environ.setdefault("IMGWIRE_PUBLIC_URL", base)
    public = os.environ["IMGWIRE_PUBLIC_URL"].rstrip("/")
    data_dir = Path(os.environ.get("IMGWIRE_DATA_DIR") or ROOT / "var").resolve()

    manage("migrate", "--noinput", "-v0")
    manage("collectstatic", "--noinput", "-v0")
    options = [f"--{name}={value}" for name, value in DEMO.items()]
    account = json.loads(manage("bootstrap", *options, "--operator", "--reuse-keys", capture=True))

    print(
        f"""
Imgwire is starting on {public} (granian, {args.workers} web processes, embedded worker).

  Dashboard   {public}/dashboard/   sign in as {DEMO["email"]} / {DEMO["password"]}
  Admin       {public}/admin/       (operators; same account)
  API         {public}/api/v1/      Authorization: Bearer <server_key>
  OpenAPI     {public}/api/v1/openapi-server.json
  Health      {public}/health

Demo account (kept in {data_dir / "demo-account.json"}; print it again with
`cat {data_dir / "demo-account.json"}`):
{json.dumps(account, indent=2)}
""",
        flush=True,
    )
    granian = str(BIN / "granian")
    os.execv(  # noqa: S606 (our own server binary, arguments we built)
        granian,
        [
            granian,
            "--interface",
            "wsgi",
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            "--blocking-threads",
            "4",
            "--respawn-failed-workers",
            "imgwire_site.wsgi:application",
        ],
    )


if __name__ == "__main__":
    main()
