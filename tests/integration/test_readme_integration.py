"""The README's "Adding hankoflow to an existing Django project", pasted into a new project.

``django-admin startproject`` in a temporary directory, the wheel built from a clean copy of the
repository installed in a throwaway venv, then the python blocks of that README section appended
to the files they name (``# settings.py`` / ``# urls.py``): the test reads them from README.md,
so the README and the test cannot drift apart. One view of the host's own shows
``request.user``. The host runs ``runserver`` on a free port; a plain HTTP client (Python's
cookie jar, which holds back ``Secure`` cookies on http as ``requests`` does) signs up through
the Flow API with the passcode the console email backend prints, then calls the host's view.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_packaging import _pip, _run, source, wheel  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parent.parent.parent
SECTION = "## Adding hankoflow to an existing Django project"
EMAIL = "pasted@example.com"
PASSWORD = "pasted readme password"
NO_WEBAUTHN = {"webauthn_available": False}  # a script has no authenticator
MARKER = re.compile(r"^# (settings|urls)\.py\b")

HOST_VIEW = """
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse


@login_required
def whoami(request):
    return JsonResponse({"email": request.user.email})
"""


def readme_edits() -> dict[str, str]:
    """The section's python blocks, as the text each named file gets appended."""
    readme = (REPO / "README.md").read_text()
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    edits = {"settings": "", "urls": ""}
    for block in re.findall(r"^```python\n(.*?)^```", section, re.M | re.S):
        target = None
        for line in block.splitlines():
            if found := MARKER.match(line):
                target = found.group(1)
            assert target, f"a python block of the README section names no file: {block!r}"
            edits[target] += line + "\n"
    assert edits["settings"] and edits["urls"], "the section must edit settings.py and urls.py"
    return edits


def test_the_readme_edits_name_their_files():
    edits = readme_edits()
    assert "from django.urls import include, path" in edits["urls"]
    assert re.search(r'^LOGIN_URL = "/', edits["settings"], re.M)
    assert "if DEBUG:" in edits["settings"]


@pytest.fixture(scope="module")
def host_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A venv with the wheel and its dependencies at the versions requirements.txt pins."""
    root = tmp_path_factory.mktemp("host-venv")
    venv.create(root, with_pip=False)  # the suite's pip installs into it (--python)
    python = root / "bin" / "python"
    _pip(python, "install", "-q", wheel, "-c", REPO / "requirements.txt")
    # No Celery (an extra): the passcode email must leave in-process, as in a plain host.
    _run(python, "-c", "import importlib.util as u; assert u.find_spec('celery') is None")
    return python


@pytest.fixture(scope="module")
def host(host_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``startproject host`` with the README's edits and one view of the host's own."""
    root = tmp_path_factory.mktemp("host")
    _run(host_python.parent / "django-admin", "startproject", "host", root)
    package = root / "host"
    edits = readme_edits()
    for name, text in edits.items():
        with (package / f"{name}.py").open("a") as module:
            module.write("\n" + text)
    (package / "views.py").write_text(HOST_VIEW)
    with (package / "urls.py").open("a") as urls:
        urls.write('\nfrom host.views import whoami\n\nurlpatterns += [path("whoami/", whoami)]\n')
    _run(host_python, "manage.py", "check", cwd=root)
    _run(host_python, "manage.py", "migrate", "-v", "0", cwd=root)
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(host: Path, host_python: Path) -> Iterator[tuple[str, Path]]:
    """``runserver`` on a free port: its base URL and the file its console goes to."""
    port = free_port()
    log = host / "runserver.log"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE"}}
    env["PYTHONUNBUFFERED"] = "1"
    with log.open("w") as out:
        process = subprocess.Popen(
            [host_python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=host,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):  # up to 30 s for the first answer
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("runserver did not listen: " + log.read_text())
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=10)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None  # the test looks at the redirect itself


class Browserless:
    """A plain HTTP client with a cookie jar: what ``requests`` or a script would be."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, path: str, body: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        url = path if path.startswith("http") else self.base + path
        method = "GET" if data is None else "POST"
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http only)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def flow(self, path: str, body: dict | None = None) -> dict:
        status, _, content = self.request(path, body if body is not None else {})
        parsed = json.loads(content)
        assert parsed.get("status") == status, parsed
        return parsed


def passcode_from(log: Path, to: str, timeout: float = 10.0) -> str:
    """The code of the newest email to ``to`` that the console backend printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = log.read_text().split("\n-------")
        for message in reversed(messages):
            if re.search(rf"^To: {re.escape(to)}$", message, re.M):
                found = re.search(r"^Subject: (\d{6}) ", message, re.M)
                if found:
                    return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no passcode email to {to} in the server's console:\n{log.read_text()}")


def act(client: Browserless, state: dict, action: str, inputs: dict | None = None) -> dict:
    assert action in state["actions"], (action, state)
    href = state["actions"][action]["href"]
    return client.flow(href, {"input_data": inputs or {}, "csrf_token": state["csrf_token"]})


@pytest.mark.slow
def test_pasted_readme_signs_up_and_host_view_sees_the_user(server: tuple[str, Path]):
    base, log = server
    mount = re.search(r'path\("([^"]*)", include\("hankoflow\.urls"\)\)', readme_edits()["urls"])
    assert mount, "the README mounts hankoflow.urls"
    prefix = "/" + mount.group(1)

    client = Browserless(base)
    # Signed out, login_required sends the person to LOGIN_URL (the HTML flow page).
    status, headers, _ = client.request("/whoami/")
    location = headers.get("Location", "")
    assert status == 302 and location.startswith("/auth-page/"), headers
    assert "next=/whoami/" in location, headers
    status, _, page = client.request(headers["Location"])
    assert status == 200 and page.startswith(b"<!doctype html>")

    state = client.flow(prefix + "registration")
    for _ in range(12):
        name = state["name"]
        if name == "success":
            break
        if name == "preflight":
            state = act(
                client, state, "register_client_capabilities", {"webauthn_available": False}
            )
        elif name == "registration_init":
            state = act(client, state, "register_login_identifier", {"email": EMAIL})
        elif name == "passcode_confirmation":
            state = act(client, state, "verify_passcode", {"code": passcode_from(log, EMAIL)})
        elif name == "password_creation":
            state = act(client, state, "register_password", {"new_password": PASSWORD})
        elif "skip" in state.get("actions", {}):  # passkey and MFA onboarding
            state = act(client, state, "skip")
        else:
            pytest.fail(f"unexpected state {name}: {state}")
    assert state["name"] == "success", state
    assert state["payload"]["user"]["emails"][0]["address"] == EMAIL

    status, _, content = client.request("/whoami/")
    assert status == 200, content
    assert json.loads(content) == {"email": EMAIL}
