"""Settings for ``bin/bench --argon2``: ``bench.settings`` with the production password hashers.

Everything else stays as in ``bench.settings`` (rate limiter off, Celery eager): the Argon2 run
measures what the hasher does to a password login, not what the limiter does to many of them.
Its users are seeded with these settings, so their hash is Argon2id with Django's parameters
(``Argon2PasswordHasher``: time cost 2, memory cost 100 MiB, parallelism 8).
"""

from bench.settings import *  # noqa: F403
from project.settings import PASSWORD_HASHERS as PRODUCTION_HASHERS

PASSWORD_HASHERS = PRODUCTION_HASHERS
