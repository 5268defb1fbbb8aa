"""Rate limits counted in Redis (``RATELIMIT_STORAGE_URI=redis://...``), shared by
workers on different machines: a real Redis server on loopback.

Skipped when ``redis-server`` is not installed, except in CI (``CI=true``), where
``.ci/run`` installs it and a missing server is an error."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from .test_security_findings import worker

REDIS = shutil.which("redis-server")
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
if not REDIS and IN_CI:
    raise pytest.UsageError("redis-server is not installed: .ci/run installs it.")
pytestmark = pytest.mark.skipif(not REDIS, reason="redis-server is not installed")


@pytest.fixture
def redis_url(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_counts_are_shared_by_workers(database_url, session, redis_url):
    assert worker(database_url, 3, redis_url) == [401, 401, 401]
    assert worker(database_url, 1, redis_url) == [429]
