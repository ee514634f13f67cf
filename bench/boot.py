"""Start-up time and peak memory of create_app() with every plugin, next to a bare Flask app.

Each sample is a fresh interpreter (imports included), so the figures are what a
worker pays at start. Bytecode is compiled once before the samples (into a cache
folder outside the work tree), as an installed package's is: with
PYTHONDONTWRITEBYTECODE set, every start would otherwise compile every module again. Prints the median of N runs of each: a bare Flask app, Flask with
the stack's libraries imported (what any app on this stack pays), Tandem's kernel
alone (the built-in plugins excluded), and Tandem with every plugin.
Target: all plugins add under 300 ms and under 40 MB.

    python bench/boot.py [--runs 7]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(json.dumps({{"ms": elapsed * 1000, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

BARE = """
from flask import Flask
app = Flask("bare")
"""

STACK = """
import flask_sqlalchemy, marshmallow, flask_smorest, flask_wtf, flask_login, pluggy
from flask import Flask
app = Flask("stack")
"""

KERNEL = """
from core import create_app
app = create_app({{"SQLALCHEMY_DATABASE_URI": "sqlite:///{db}", "SECRET_KEY": "bench",
                  "TANDEM_EXCLUDE_PLUGINS": ["crm", "erp_finance", "erp_inventory", "bridge"]}})
assert len(app.extensions["tandem"].healthy()) == 2
"""

TANDEM = """
from core import create_app
app = create_app({{"SQLALCHEMY_DATABASE_URI": "sqlite:///{db}", "SECRET_KEY": "bench"}})
assert len(app.extensions["tandem"].healthy()) >= 6
"""


def sample(body: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], check=True,
                         capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tandem_body = TANDEM.format(db=f"{tmp}/boot.sqlite")
        kernel_body = KERNEL.format(db=f"{tmp}/boot.sqlite")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = f"{tmp}/pycache"
        sample(tandem_body, env)  # compiles the bytecode of everything the others import
        bare, stack, kernel, full = [], [], [], []
        for _ in range(args.runs):  # interleaved, so machine noise hits all alike
            bare.append(sample(BARE, env))
            stack.append(sample(STACK, env))
            kernel.append(sample(kernel_body, env))
            full.append(sample(tandem_body, env))
    med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    b_ms, f_ms = med(bare, "ms"), med(full, "ms")
    s_ms, s_mb = med(stack, "ms"), med(stack, "rss_mb")
    k_ms, k_mb = med(kernel, "ms"), med(kernel, "rss_mb")
    b_mb, f_mb = med(bare, "rss_mb"), med(full, "rss_mb")
    print(f"runs: {args.runs} of each, fresh interpreter per run, medians")
    print(f"bare Flask app                 : {b_ms:8.1f} ms  {b_mb:6.1f} MB peak RSS")
    print(f"Flask + the stack's libraries  : {s_ms:8.1f} ms  {s_mb:6.1f} MB  (SQLAlchemy, marshmallow, smorest...)")
    print(f"create_app(), kernel only      : {k_ms:8.1f} ms  {k_mb:6.1f} MB")
    print(f"create_app(), every plugin     : {f_ms:8.1f} ms  {f_mb:6.1f} MB")
    print(f"the four plugins add           : {f_ms - k_ms:8.1f} ms  {f_mb - k_mb:6.1f} MB "
          f"(target < 300 ms, < 40 MB)")
    print(f"kernel + plugins over the stack: {f_ms - s_ms:8.1f} ms  {f_mb - s_mb:6.1f} MB")
    print(f"everything over bare Flask     : {f_ms - b_ms:8.1f} ms  {f_mb - b_mb:6.1f} MB")


if __name__ == "__main__":
    main()
