"""Run the test provider: migrate, create its users and the hankoflow client, serve on
127.0.0.1:<port> until killed. ``python -m tests.thirdparty.provider.serve <port> <redirect_uri>``.
Prints ``ready`` once it accepts connections."""

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

CLIENT_ID = "hankoflow-tests"
CLIENT_SECRET = "hankoflow-tests-secret"  # noqa: S105
PASSWORD = "provider password"  # noqa: S105
# username -> (email, first name, last name); "unverified" marks an unverified address.
USERS = {
    "alice": ("alice@example.com", "Alice", ""),
    "bob": ("bob@example.com", "Bob", ""),
    "mallory": ("victim@example.com", "Mallory", "unverified"),
    "newbie": ("newbie@example.com", "Newbie", "unverified"),
    "carol": ("carol@example.com", "Carol", ""),
    "dave": ("dave@example.com", "Dave", ""),
}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    port, redirect_uri = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.thirdparty.provider.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for username, (email, first, last) in USERS.items():
        User.objects.create_user(
            username, email=email, password=PASSWORD, first_name=first, last_name=last
        )
    Application.objects.create(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        name="hankoflow",
    )
    server = make_server("127.0.0.1", port, get_wsgi_application(), _Server, _Quiet)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
