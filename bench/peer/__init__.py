"""The bench's peer: a tiny Django project serving django-allauth in headless mode.

``bin/bench`` installs it in its own virtualenv (``bench/peer/requirements.txt``) and serves it
next to hankoflow with the same gunicorn configuration, database server and cache. This package
imports nothing from hankoflow; it runs only in the peer's virtualenv.
"""
