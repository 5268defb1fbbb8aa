"""``make run`` from an empty instance folder: database, demo data, a served app; and
again, changing nothing."""

import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_until_serving(instance: Path, port: int) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SECRET_KEY", "DATA_ENCRYPTION_KEYS")
    }
    process = subprocess.Popen(
        ["make", "run", f"INSTANCE={instance}", f"PORT={port}", "DEMO_REFERRALS=300"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"make run stopped:\n{process.stdout.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("make run did not serve within 2 minutes")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            home = r.read().decode()
        assert "Demo data." in home
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    return output


def test_make_run_from_empty_instance_then_again(tmp_path):
    instance = tmp_path / "instance"
    port = free_port()
    first = run_until_serving(instance, port)
    assert "custody@demo.test" in first and "admin@demo.test" in first
    assert f"http://127.0.0.1:{port}" in first
    assert "Demo referrals: 300 referrals" in first
    assert (instance / "secret_key").stat().st_mode & 0o077 == 0
    assert (instance / "data_key").stat().st_mode & 0o077 == 0
    database = instance / "referrals.sqlite"
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT COUNT(*) FROM referrals").fetchone() == (300,)
        services = db.execute("SELECT COUNT(*) FROM services").fetchone()

    second = run_until_serving(instance, port)
    assert "already loaded" in second
    assert "Reference data is up to date." in second
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT COUNT(*) FROM referrals").fetchone() == (300,)
        assert db.execute("SELECT COUNT(*) FROM services").fetchone() == services
