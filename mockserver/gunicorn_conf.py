"""gunicorn settings of the mock: the one place they live (CLI and Dockerfile use it).

ONE worker process with threads: the state is in memory and process-local, so a
second worker would serve a second, diverging state. Do not raise ``workers``.
"""
import os

bind = f"{os.environ.get('MOCKSERVER_HOST', '127.0.0.1')}:{os.environ.get('MOCKSERVER_PORT', '8080')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("MOCKSERVER_THREADS", "16"))
# An invocation may legally run for 3000 s (seed: max timeout 50 minutes).
timeout = 3100
graceful_timeout = 10
keepalive = 5
# Build the app (and read the fixtures) before forking, so a bad fixture stops start-up.
preload_app = True
accesslog = None          # the app logs one structured line per request itself
loglevel = os.environ.get("MOCKSERVER_LOG_LEVEL", "info")
# Slow clients may not hold a thread forever while sending a body.
limit_request_line = 8190


def post_worker_init(worker):  # pragma: no cover - runs inside gunicorn
    worker.log.info("algorithmia-mock worker ready (1 process, %s threads)", threads)
