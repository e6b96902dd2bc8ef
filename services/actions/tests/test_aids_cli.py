"""`planeco actions sync-aides` against the fake Aides-territoires process, on a database of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from planeco_shared.migrations import service_root_of, upgrade


def planeco_actions(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it: its own process (its own logging, its exit code)."""
    command = [sys.executable, "-c", "from planeco_actions.cli import app; app()", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=os.environ.copy())


@pytest.fixture
def cli_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_process: Any) -> Any:
    httpx.post(f"{fake_process.url}/_fake/reset", json={}).raise_for_status()
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(service_root_of(__file__.replace("/tests/", "/src/planeco_actions/")), url)
    for name, value in {
        "DATABASE_URL": url,
        "AIDES_TERRITOIRES_URL": fake_process.url,
        "AIDES_TERRITOIRES_API_KEY": fake_process.api_key,
        "AIDES_TERRITOIRES_PAUSE": "0",
        "AIDES_TERRITOIRES_BACKOFF": "0.001",
        "AIDES_TERRITOIRES_ATTEMPTS": "2",
        "LOG_JSON": "false",
    }.items():
        monkeypatch.setenv(f"PLANECO_ACTIONS_{name}", value)
    return fake_process


def test_sync_aides_runs_the_job_and_says_what_it_did(cli_environment: Any) -> None:
    # One run (a process start costs seconds): the job's outcomes are tested in-process (test_aids_sync).
    ran = planeco_actions("sync-aides")
    assert ran.returncode == 0, ran.stderr
    assert "3 pages, 230 aids read: 230 inserted" in ran.stdout
    assert cli_environment.api_key not in ran.stdout + ran.stderr
    assert "(run " in ran.stderr and ": succeeded)" in ran.stderr
