"""The peer's users, made before anything is timed (``python -m bench.peer.seed``).

Run in the peer's virtualenv with ``bench.peer.settings``: ``--users`` users ``u00000@<domain>``,
... with one password (MD5, bench only) and a verified primary ``EmailAddress`` each, as allauth
keeps them, written in bulk. The JWTs of the peer's check come from real logins made by the
load generator before timing (allauth issues access tokens only from a request).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def seed(domain: str, users: int, password: str) -> int:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    User = get_user_model()
    hashed = make_password(password)
    emails = [f"u{index:05d}@{domain}" for index in range(users)]
    with transaction.atomic():
        made = User.objects.bulk_create(
            [User(username=email, email=email, password=hashed) for email in emails]
        )
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user=user, email=user.email, verified=True, primary=True)
                for user in made
            ]
        )
    return len(made)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer.seed")
    parser.add_argument("--domain", required=True)
    parser.add_argument("--users", type=int, default=1500)
    parser.add_argument("--password", required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer.settings")
    import django

    django.setup()
    began = time.perf_counter()
    count = seed(args.domain, args.users, args.password)
    print(
        f"[bench]   peer: created {count} users in {time.perf_counter() - began:.1f}s (not timed)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
