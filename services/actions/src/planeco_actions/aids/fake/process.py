"""The fake Aides-territoires run as its own process, for the test suites: started on a free loopback port,
awaited until it answers, stopped by its PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

STARTUP_SECONDS = 30
STOP_SECONDS = 5


@contextmanager
def running_fake(
    port: int, *, aids: int, seed: int, today: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(its URL, its process) while it runs."""
    command = [sys.executable, "-m", "planeco_actions.aids.fake", "--port", str(port), "--aids", str(aids)]
    command += ["--seed", str(seed), "--today", today]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603 (our own)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if httpx.get(f"{url}/_fake/stats", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stderr.read() if process.stderr and process.poll() is not None else b""
                raise RuntimeError(f"the fake Aides-territoires did not start: {output!r}")
            time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:  # still draining kept-alive connections: stop it now
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr:
            process.stderr.close()
