"""Production serving: gunicorn with several workers on one database; an install made
through one worker is seen by every other worker at its next request."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import dispose, make_app, token_for

WORKERS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url, token, method="GET"):
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None,
                                     headers={"Authorization": f"Bearer {token}", "Connection": "close",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait_until_up(base: str, process, deadline_s: float = 30) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError("gunicorn exited: " + process.stderr.read().decode()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)  # polling for the port, bounded by the deadline
    raise AssertionError("gunicorn did not start")


@pytest.fixture
def served(full_db, tmp_path):
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("gunicorn is not installed (pip install -e '.[test]')")
    app = make_app(full_db)
    token = token_for(app)
    dispose(app)
    port = _free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": full_db, "SECRET_KEY": "gunicorn-test"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s %(U)s", "core:create_app()"],
        env=env, stderr=subprocess.PIPE, cwd=Path(__file__).parents[2])
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, token, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def _burst(base, token, path, n=60):
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: _request(base + path, token), range(n)))


def _pids_serving(log: Path, path: str, status: str) -> set[str]:
    lines = [line.split() for line in log.read_text().splitlines()]
    return {pid for pid, code, url in (ln for ln in lines if len(ln) == 3) if url == path and code == status}


def test_uninstall_and_install_through_one_worker_are_seen_by_all(served):
    base, token, log = served
    path = "/api/v1/inventory/products"
    assert set(_burst(base, token, path)) == {200}
    assert _request(f"{base}/api/v1/admin/modules/erp_inventory/uninstall", token, "POST") == 200
    assert set(_burst(base, token, path)) == {404}
    assert _request(f"{base}/api/v1/admin/modules/erp_inventory/install", token, "POST") == 200
    assert set(_burst(base, token, path)) == {200}
    # several workers served before and after the change: each noticed it by itself
    assert len(_pids_serving(log, path, "404")) >= 2
    assert len(_pids_serving(log, path, "200")) >= 2
