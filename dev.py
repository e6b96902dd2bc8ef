#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11+: installs uv (pinned) in .tools/, the locked
dependencies in .venv/, then runs the stack or the tests.

    python3 dev.py up        # the whole stack on http://localhost:8000 (embedded SQLite, real reference data)
    python3 dev.py test      # the whole test suite (PLANECO_TEST_DATABASE selects SQLite or PostgreSQL)
    python3 dev.py sync      # only install
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
UV_VERSION = "0.13.8"
VENV_BIN = ROOT / ".venv" / "bin"


def uv() -> Path:
    binary = TOOLS / "bin" / "uv"
    if not binary.exists():
        print(f"installing uv {UV_VERSION} into {TOOLS}", file=sys.stderr)
        venv.create(TOOLS, with_pip=True)
        subprocess.run(
            [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
            check=True,
        )
    return binary


def sync() -> None:
    subprocess.run([str(uv()), "sync", "--frozen", "--all-packages", "--quiet"], cwd=ROOT, check=True)


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        print("planeco needs Python 3.11 or newer", file=sys.stderr)
        return 2
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "help":
        print(__doc__)
        return 0
    sync()
    if command == "sync":
        return 0
    if command == "up":
        os.execv(VENV_BIN / "planeco", ["planeco", "dev", "up", *rest])
    if command == "test":
        os.chdir(ROOT)
        os.execv(VENV_BIN / "pytest", ["pytest", *rest])
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
