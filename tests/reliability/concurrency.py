"""Running one piece of work in several OS processes (or threads) that really collide.

``Workers(url, kind).run(work, count, *args)`` calls ``work(app, index, meet, *args)`` in
``count`` workers at once and returns their results in index order. ``meet()`` is a
barrier: every worker waits there until all have arrived, so the statements that follow
run at the same moment. The app is built once with ``make_app(url)``, before any
connection is opened; processes are forked from the test process, so each holds its own
copy of it and opens its own connections, as gunicorn workers forked from a preloaded
app do (building it again in each child costs seconds of copy-on-write on two cores).
Threads share the app, each with its own session.

A worker that raises makes ``run`` fail with the worker's traceback; a worker stuck at
a barrier breaks it after ``TIMEOUT`` seconds instead of hanging the suite.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import traceback
from contextlib import contextmanager

from core.db import db, transaction
from tests.conftest import dispose, make_app

TIMEOUT = 60
FORK = multiprocessing.get_context("fork")


def on_postgresql() -> bool:
    """Whether the suite runs on PostgreSQL (``TEST_DATABASE_URL``)."""
    return bool(os.environ.get("TEST_DATABASE_URL"))


@contextmanager
def writing(app):
    """One transaction as a write request runs it: the installed modules are the
    database's, and on SQLite it begins IMMEDIATE (the kernel does so for POST requests)."""
    from core.registry import current_registry

    with app.test_request_context(method="POST"):
        try:
            with transaction():
                current_registry().sync(db.session)
                yield db.session
        finally:
            db.session.remove()


def attempt(app, action, *args):
    """Run ``action(*args)`` in its own write transaction: ``"ok"``, or the refusal's code."""
    from core.errors import TandemError

    try:
        with writing(app):
            action(*args)
        return "ok"
    except TandemError as exc:
        return exc.code


class Workers:
    """Runs work in ``count`` processes (``kind="processes"``) or threads at once."""

    def __init__(self, url: str, kind: str):
        self.url, self.kind = url, kind

    def run(self, work, count: int, *args) -> list:
        app = make_app(self.url)
        try:
            return (self._processes if self.kind == "processes" else self._threads)(app, work, count, args)
        finally:
            dispose(app)

    @staticmethod
    def _threads(app, work, count, args):
        barrier = threading.Barrier(count, timeout=TIMEOUT)
        results, errors = [None] * count, []

        def one(index):
            try:
                results[index] = work(app, index, barrier.wait, *args)
            except BaseException:  # noqa: BLE001 - reported below with its traceback
                errors.append(traceback.format_exc())
                barrier.abort()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 4)
        assert not errors, "a worker failed:\n" + "\n".join(e for e in errors if "BrokenBarrierError" not in e)[-6000:]
        return results

    @staticmethod
    def _processes(app, work, count, args):
        barrier = FORK.Barrier(count, timeout=TIMEOUT)
        answers = FORK.Queue()
        processes = [FORK.Process(target=_child, args=(app, work, i, barrier, answers, args))
                     for i in range(count)]
        for process in processes:
            process.start()
        results, errors = [None] * count, []
        try:
            for _ in range(count):
                index, ok, value = answers.get(timeout=TIMEOUT * 4)
                if ok:
                    results[index] = value
                else:
                    errors.append(value)
        except queue.Empty:
            errors.append("a worker gave no answer in time")
        finally:
            for process in processes:
                process.join(TIMEOUT)
                if process.is_alive():
                    process.kill()
            answers.close()
        assert not errors, "a worker failed:\n" + "\n".join(e for e in errors if "BrokenBarrierError" not in e)[-6000:]
        return results


def _child(app, work, index, barrier, answers, args):
    try:
        with app.app_context():
            db.engine.dispose(close=False)  # never use a connection of the parent's
        answers.put((index, True, work(app, index, barrier.wait, *args)))
    except BaseException:  # noqa: BLE001 - the parent reports it
        barrier.abort()
        answers.put((index, False, traceback.format_exc()))
    finally:
        dispose(app)
