"""``tandem worker``: the background process for webhooks and scheduled jobs.

Run one or more next to the web workers; each pass queues and sends webhook
deliveries, then runs the plugins' scheduled jobs that are due in this process.
"""
from __future__ import annotations

import logging
import time

import click
from flask.cli import with_appcontext

from core import webhooks
from core.db import db
from core.registry import current_registry

log = logging.getLogger(__name__)


def run_due_jobs(last_run: dict[str, float], now: float) -> list[str]:
    """Run the scheduled jobs whose interval has passed; returns one line per job run."""
    registry = current_registry()
    registry.sync(db.session)
    lines = []
    for jobs in registry.hook.register_scheduled_jobs():
        for job in jobs:
            if now - last_run.get(job.name, float("-inf")) < job.every_seconds:
                continue
            last_run[job.name] = now
            try:
                summary = job.run()
                db.session.commit()
                lines.append(f"{job.name}: {summary or 'done'}")
            except Exception:
                db.session.rollback()
                log.exception("scheduled job %s failed", job.name)
                lines.append(f"{job.name}: failed (see the log)")
    return lines


@click.command("worker", help="Send webhooks and run scheduled jobs (a long-running process).")
@click.option("--once", is_flag=True, help="Do one pass and exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def worker_command(once, interval):
    last_run: dict[str, float] = {}
    while True:
        outcome = webhooks.run_once()
        if any(outcome.values()):
            click.echo("webhooks: " + ", ".join(f"{k} {v}" for k, v in outcome.items()))
        for line in run_due_jobs(last_run, time.monotonic()):
            click.echo(line)
        db.session.remove()  # each pass its own session: what it loaded is let go
        if once:
            return
        time.sleep(interval)
