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
# and an earlier run alike (x1.7 to x5.4). The same comparison on the quiet box (best of 2 runs of
# 6 s, PostgreSQL and Redis on the same 2 cores), gthread keep-alive / new connection vs sync:
#   locked SELECT+UPDATE view x0.98 / x0.78; capabilities x0.94 / x0.76; POST /login x0.98 / x0.78;
#   no-database view x1.20 / x0.75; password chain x0.95 / x0.83; passcode chain x0.96 / x0.85;
#   request.user x1.04 / x0.83.
# So with idle cores threads cost up to a fifth, and under contention or waits (a loaded host,
# PostgreSQL and Redis across a network, a 10 s OAuth call) they gain up to 5x, because a
# thread's wait lets another request use the worker's core where a sync worker sits idle. We
# take the robust choice; on a host where the app has its cores to itself, sync workers
# (`--worker-class sync`, WEB_CONCURRENCY = 2 x cores + 1) are up to a fifth faster.
# `bin/bench --workers-compare` on the production host says which wins there. Memory per worker:
# sync RSS 112-114 MB (PSS 83-89), gthread 116-117 MB (PSS 88-91).
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
