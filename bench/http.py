"""HTTP throughput and latency under gunicorn, from a separate client process.

Serves Tandem with gunicorn (2 workers by default) on 127.0.0.1 over a database filled
with the demo data, and drives it with 16 concurrent clients for a fixed number of
requests per scenario (list pages, the account page, the API list, creating an account,
and winning a deal through the API: its order, reservation and posted invoice; the
deals it wins are opened before the timing starts). Two baselines, measured in the same
run under the same gunicorn settings: a bare WSGI app answering "ok" (the ceiling of the
HTTP stack), and the stack's floors (``bench/stack_floor/list_page.py``: Flask,
Flask-SQLAlchemy and Jinja listing 50 rows, and writing as many rows as a won deal,
nothing of Tandem).

    python bench/http.py [--workers 2] [--clients 16] [--requests 800]
    DATABASE_URL=postgresql+psycopg://... python bench/http.py   (PostgreSQL instead of SQLite)
"""
from __future__ import annotations

import os
import sys

# This file is named like the standard library's http package: keep its folder off the path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if process.poll() is not None:
            raise SystemExit(process.stderr.read().decode()[-3000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def prepare_database(url: str) -> tuple[str, int]:
    """Schema, every module, demo data; returns an API token and an account id."""
    env = {**os.environ, "DATABASE_URL": url}
    for args in (["init", "--password", "bench-pass-123"], ["modules", "install", "crm", "erp_finance",
                                                            "erp_inventory"], ["demo"]):
        subprocess.run([str(BIN / "tandem"), *args], env=env, check=True, capture_output=True)
    out = subprocess.run([str(BIN / "tandem"), "tokens", "create", "admin@example.com", "--name", "bench"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1], 1


def serve(app: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen([str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                "--log-level", "warning", app], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(port, process)
    return process


def login_cookie(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    response = conn.getresponse()
    body = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    form = f"email=admin%40example.com&password=bench-pass-123&csrf_token={token}"
    conn.request("POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    return response.getheader("Set-Cookie").split(";", 1)[0]


def client_run(port, scenario, first, requests, clients, headers, queue):
    """In the client process: ``clients`` threads share calls ``first`` to ``first + requests``;
    latencies out."""
    latencies, errors, lock = [], [], threading.Lock()
    counter = iter(range(first, first + requests))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            method, path, body = scenario(n)
            start = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if response.status >= 400:
                    errors.append(f"{response.status} {payload[:200].decode(errors='replace')}")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((time.perf_counter() - start, latencies, errors[:5], len(errors)))


#: deals opened before the timing, one per "win a deal" request (filled before the client forks)
OPEN_DEALS: list[int] = []

SCENARIOS = {
    "baseline: bare WSGI 'ok'": lambda n: ("GET", "/", None),
    "baseline: stack floor, list page": lambda n: ("GET", "/", None),
    "baseline: stack floor, a win's rows": lambda n: ("POST", "/write", None),
    "list page /crm/deals": lambda n: ("GET", "/crm/deals?page=1", None),
    "list page /crm/accounts": lambda n: ("GET", "/crm/accounts?page=1", None),
    "account page": lambda n: ("GET", f"/crm/accounts/{1 + n % 20}", None),
    "API list /api/v1/crm/deals": lambda n: ("GET", "/api/v1/crm/deals?per_page=50&sort=-amount", None),
    "API list /api/v1/crm/accounts": lambda n: ("GET", "/api/v1/crm/accounts?per_page=50&sort=name", None),
    "API write: create an account": lambda n: ("POST", "/api/v1/crm/accounts",
                                               json.dumps({"name": f"Bench {n}"})),
    "API write: win a deal": lambda n: ("POST", f"/api/v1/crm/deals/{OPEN_DEALS[n]}/win", "{}"),
}


def _post(conn, path: str, body: dict, headers: dict) -> dict:
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status != 201:
        raise SystemExit(f"POST {path}: {response.status} {payload[:300]!r}")
    return json.loads(payload)


def open_deals(port: int, headers: dict, count: int) -> None:
    """Open ``count`` deals of 250.00 for a new customer account (no credit limit, nothing
    overdue: every win goes through), to be won by the benchmark."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    account = _post(conn, "/api/v1/crm/accounts", {"name": "Bench Buyer Ltd"}, headers)["id"]
    for n in range(count):
        deal = _post(conn, "/api/v1/crm/deals", {"title": f"Bench deal {n}", "account_id": account,
                                                 "amount": "250.00"}, headers)
        OPEN_DEALS.append(deal["id"])


#: untimed requests before each scenario (workers load templates, caches, connections)
WARM_UP = 32


def measure(port, name, requests, clients, headers):
    runs = {}
    for run, calls in (("warm-up", (0, WARM_UP)), ("timed", (WARM_UP, requests))):
        queue = multiprocessing.Queue()
        proc = multiprocessing.Process(target=client_run,
                                       args=(port, SCENARIOS[name], *calls, clients, headers, queue))
        proc.start()
        runs[run] = queue.get()
        proc.join()
    wall, latencies, errors, n_errors = runs["timed"]
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / wall, "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000,
            "errors": n_errors, "examples": errors}


FLOOR = ROOT / "bench" / "stack_floor"
BARE_APP = "def app(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok']\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        token, _ = prepare_database(url)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "PYTHONPATH": tmp}
        Path(tmp, "bare_wsgi.py").write_text(BARE_APP)
        floor_url = url if url.startswith("postgresql") else f"sqlite:///{tmp}/floor.sqlite"
        floor_env = {**env, "FLOOR_DATABASE_URL": floor_url, "PYTHONPATH": f"{tmp}{os.pathsep}{FLOOR}"}
        subprocess.run([sys.executable, str(FLOOR / "list_page.py")], env=floor_env, check=True)
        results = {}
        for app, names in (("bare_wsgi:app", ["baseline: bare WSGI 'ok'"]),
                           ("list_page:app", ["baseline: stack floor, list page",
                                              "baseline: stack floor, a win's rows"])):
            port = free_port()
            baseline = serve(app, port, args.workers, floor_env)
            try:
                for name in names:
                    results[name] = measure(port, name, args.requests, args.clients, {})
            finally:
                baseline.terminate()
                baseline.wait()
        port = free_port()
        server = serve("core:create_app()", port, args.workers, env)
        try:
            cookie = {"Cookie": login_cookie(port)}
            api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            open_deals(port, api, WARM_UP + args.requests)
            for name in [n for n in SCENARIOS if not n.startswith("baseline")]:
                headers = api if name.startswith("API") else cookie
                results[name] = measure(port, name, args.requests, args.clients, headers)
        finally:
            server.terminate()
            server.wait()
    backend = url.split(":", 1)[0]
    print(f"gunicorn -w {args.workers}, {args.clients} concurrent clients, {args.requests} requests "
          f"per scenario, database {backend}")
    print(f"{'scenario':<34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:<34} {r['rps']:8.0f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} {r['errors']:7d}")
    for name, r in results.items():  # a refusal under load is a finding, not a reason to drop the run
        for example in r["examples"]:
            print(f"  {name}: {example}")


if __name__ == "__main__":
    main()
