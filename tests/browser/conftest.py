"""Browser tests: the real app served on loopback with its own demo database, driven by
Chromium through Playwright.

The whole package is skipped when Chromium is not installed, except in CI (``CI=true``),
where a missing browser is an error. The browser may reach 127.0.0.1 only: any other
request is aborted and recorded, so a page that needs the network fails its test.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import TEST_DATA_KEY
from .support import Session, update_readme_screenshots

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _browser_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM}"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"the browser test tools are not installed ({error.name})"
    return None


_MISSING = _browser_missing_reason()
if _MISSING and IN_CI:
    raise pytest.UsageError(f"Browser tests cannot run in CI: {_MISSING}.")


def pytest_collection_modifyitems(config, items):
    if not _MISSING:
        return
    skip = pytest.mark.skip(reason=f"{_MISSING}; browser tests skipped")
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str]


def _flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "referrals", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _serve(env: dict[str, str], folder: Path) -> tuple[subprocess.Popen, str, Path]:
    """Start the app on a free loopback port. Each pytest-xdist worker starts its own
    server; should two pick the same port at once, the one that loses tries another."""
    for attempt in range(5):
        port = _free_port()
        log = folder / f"server-{attempt}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "referrals",
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-reload",
                    "--no-debugger",
                ],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        if _answers(process, url, log):
            return process, url, log
        if "already in use" not in log.read_text():
            raise RuntimeError(f"The app did not start:\n{log.read_text()}")
    raise RuntimeError("No free port for the app after 5 tries")


def _answers(process: subprocess.Popen, url: str, log: Path) -> bool:
    """Whether ``process`` (not some other server on the port) serves /healthz."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if f"Running on {url}" in log.read_text():
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return True
            except OSError:
                pass
        time.sleep(0.2)
    process.kill()
    process.wait()
    raise RuntimeError(f"The app did not answer /healthz in 120 s:\n{log.read_text()}")


def _demo_database(tmp_path_factory, env: dict[str, str]) -> Path:
    """The demo database the live servers start from, built once per test run: under
    pytest-xdist the first worker builds it (the others wait for the lock) and each
    worker's server then works on a copy of its own."""
    # README screenshots show the demo as `make run` loads it; the tests need less.
    referrals = "5000" if update_readme_screenshots() else "3000"
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    built = shared / f"demo-{referrals}.sqlite"
    with (shared / "demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            building = shared / f"building-{os.getpid()}"
            building.mkdir()
            build_env = env | {
                "DATABASE_URL": f"sqlite:///{building / 'referrals.sqlite'}",
                "INSTANCE_PATH": str(building),
            }
            _flask(build_env, "db", "upgrade")
            _flask(build_env, "seed-reference")
            _flask(build_env, "seed-demo", "--referrals", referrals, "--seed", "1")
            (building / "referrals.sqlite").rename(built)
    return built


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app on a free loopback port, with demo data in its own SQLite database."""
    folder = tmp_path_factory.mktemp("live")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "DATABASE_URL", "TEST_DATABASE_URL"))
    }
    env.update(
        {
            "SECRET_KEY": "browser-tests-secret-key",
            "DATA_ENCRYPTION_KEYS": TEST_DATA_KEY,
            "DATABASE_URL": f"sqlite:///{folder / 'referrals.sqlite'}",
            "INSTANCE_PATH": str(folder),
            "MAP_TILES_URL": "",
            "GEOCODER": "",
            "RATELIMIT_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    demo = _demo_database(tmp_path_factory, env)
    # A consistent copy, whatever the source's journal holds.
    with (
        closing(sqlite3.connect(demo)) as source,
        closing(sqlite3.connect(folder / "referrals.sqlite")) as copy,
    ):
        source.backup(copy)

    process, url, log = _serve(env, folder)
    try:
        yield LiveServer(url=url, process=process, log=log, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_session(browser, live_server):
    """Open browser sessions (optionally signed in); all close after the test."""
    sessions: list[Session] = []

    def opener(email: str | None = None, **context_options) -> Session:
        session = Session(browser, live_server.url, **context_options)
        sessions.append(session)
        if email:
            session.sign_in(email)
        return session

    yield opener
    for session in sessions:
        session.close()
