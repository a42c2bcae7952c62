"""gunicorn settings for production serving: `make serve`, or `gunicorn -c gunicorn.conf.py wsgi:app`.

Each worker process opens the database and its own searcher on the shared index directory; index
updates are applied by one process at a time (a file lock), from the search_change outbox in the database.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
threads = 1
timeout = 60  # a request taking longer is stuck: the worker is restarted
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
preload_app = False  # each worker builds its own app: no database connection is shared across a fork


def post_worker_init(worker):
    """Load the word dictionaries, the gazetteer and the index now, not during a caseworker's first search."""
    app = worker.wsgi
    try:
        app.test_client().get("/search?q=医院&near=天河区")
    except Exception:  # noqa: BLE001 (a failed warm-up must not stop the worker; the first request retries)
        worker.log.exception("warm-up search failed")
