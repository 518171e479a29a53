"""gunicorn configuration for hankoflow's project (``gunicorn -c deploy/gunicorn.conf.py``).

Behind a reverse proxy that ends TLS and serves /static/. Every value can be overridden from the
environment without editing this file: GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_TIMEOUT.
"""

import multiprocessing
import os

# Only the proxy on this host talks to gunicorn. compose.yaml sets 0.0.0.0:8000 inside the
# container and publishes the port on the host's 127.0.0.1 only.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers, as bin/bench measures them (bench/run.py: 2 sync workers, --timeout 30,
# --graceful-timeout 5 on a 2-core host). A flow step spends most of its time waiting for
# PostgreSQL (a locked row) and Redis, so more workers than cores keep the cores busy: 2 per
# core plus one. Each worker holds one database connection (CONN_MAX_AGE), so workers times
# hosts must stay below PostgreSQL's max_connections.
# Memory: about 100 MB RSS (80 MB PSS) per worker after its first flow steps (2026-12-05).
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))

# The slowest legitimate request waits on one outbound call: a token exchange with an OAuth
# provider or a SAML metadata fetch (10 s each, hankoflow/services/thirdparty/backends.py and
# saml/metadata.py), or an SMTP send when no Celery broker is configured. 30 s leaves room for
# that plus an Argon2 hash; a worker stuck longer is killed and replaced.
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
