"""gunicorn settings for production serving: `make serve`, or `gunicorn -c gunicorn.conf.py wsgi:app`.

The app is loaded once, in the master, and warmed there (dictionaries, gazetteer, templates, the index's
place arrays: ``directory.warmup``) before the workers are forked, so a new or restarted worker answers
its first search at once. Each worker opens its own database connections and its own searcher on the
shared index directory; index updates are applied by one process at a time (a file lock), from the
search_change outbox in the database.
"""

import gc
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
threads = 1
timeout = 60  # a request taking longer is stuck: the worker is restarted
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then (they fork warm from the master)
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
preload_app = True


def when_ready(server):
    """In the master, after the app is loaded and before the first worker is forked."""
    from directory.warmup import warm_up

    try:
        warm_up(server.app.wsgi())
    except Exception:  # noqa: BLE001 (a failed warm-up must not stop the server; workers warm themselves)
        server.log.exception("warm-up in the master failed")
    # What the master loaded lives as long as the workers: leave it out of their garbage collections
    # (a full one walked jieba's dictionary, about 0.15 s inside a request) and unshared pages alone.
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    from directory.warmup import after_fork

    after_fork(worker.app.wsgi())


def post_worker_init(worker):
    """Open this worker's own connection and searcher now, not during a caseworker's first search."""
    app = worker.wsgi
    try:
        app.test_client().get("/search?q=医院&near=天河区")
    except Exception:  # noqa: BLE001 (a failed warm-up must not stop the worker; the first request retries)
        worker.log.exception("warm-up search failed")
