"""gunicorn configuration for hankoflow's project (``gunicorn -c deploy/gunicorn.conf.py``).

Behind a reverse proxy that ends TLS and serves /static/. Every value can be overridden from the
environment without editing this file: GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_THREADS,
GUNICORN_TIMEOUT.
"""

import multiprocessing
import os

# Only the proxy on this host talks to gunicorn. compose.yaml sets 0.0.0.0:8000 inside the
# container and publishes the port on the host's 127.0.0.1 only.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# gthread workers, one per core, 4 threads each: chosen from `bin/bench --workers-compare`, which
# runs every scenario on 2 sync workers and right after on 2 gthread workers x 4 threads (same
# box, same load generator, 4 connections). 2026-12-05, 2-core box shared with other work, best
# of 2 runs of 3 s, gthread with a new connection per request as nginx sends them (keep-alive in
# brackets), in req/s or chains/s:
#   locked SELECT+UPDATE view          sync 105   gthread 326 (600)
#   register_client_capabilities       sync 101   gthread 229 (407)
#   POST /login                        sync 218   gthread 647 (766)
#   no-database view                   sync 545   gthread 996 (2066)
#   password login chain (5 requests)  sync  14   gthread  34 (31)
#   passcode login chain (5 requests)  sync   9   gthread  10 (19)
#   request.user from a session JWT    sync  63   gthread 301 (237)
# and an earlier run alike (x1.7 to x5.4). A flow step spends much of its time waiting for
# PostgreSQL and Redis; a thread's wait lets another request use the worker's core, where a sync
# worker sits idle. Memory per worker after the run: sync RSS 112 MB (PSS 83), gthread 116 MB
# (PSS 88). The box was loaded (sync served a third of its quiet-box rate), which favours threads;
# `bin/bench --workers-compare` on the production host says what they give there.
# One Django database connection per thread (CONN_MAX_AGE keeps it): workers x threads x hosts
# must stay below PostgreSQL's max_connections. hankoflow keeps per-request state in
# contextvars and locks its process caches, so threads share a worker safely.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# The slowest legitimate request waits on one outbound call: a token exchange with an OAuth
# provider or a SAML metadata fetch (10 s each, hankoflow/services/thirdparty/backends.py and
# saml/metadata.py), or an SMTP send when no Celery broker is configured: those calls carry their
# own timeouts. With threads, gunicorn's timeout is not per request: it kills and replaces a
# worker whose main loop stopped answering (a sync worker: one whose request ran longer).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# The proxy keeps connections to clients; towards gunicorn each request may open a new one.
keepalive = 2

# Recycle workers now and then so a slow leak cannot grow without bound; jitter keeps them from
# restarting all at once.
max_requests = 10000
max_requests_jitter = 1000

# Logs to stderr (journald or `docker compose logs`). hankoflow logs its own request ids.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# X-Forwarded-Proto is believed only from these addresses (gunicorn's default: 127.0.0.1,::1).
# It makes request.is_secure() true behind a TLS proxy. Set FORWARDED_ALLOW_IPS to the proxy's
# address when it is not on this host (gunicorn reads that variable itself).
