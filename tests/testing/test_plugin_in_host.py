"""The pytest plugin from an installed wheel, in a project that has nothing of this repository.

The wheel (built as tests/test_packaging.py builds it) goes into a throwaway venv with its
``testing`` extra; a small host project (settings, urls and one test file using every fixture)
then runs pytest there: once with Hanko's OpenAPI documents, so the Flow API answers are checked,
and once without, where the same tests pass and the report header says why nothing was checked.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

from hankoflow.testing.openapi_documents import FLOW_DOCUMENT, document_path
from tests.test_packaging import REPO, _pip, source, wheel  # noqa: F401  (source, wheel: fixtures)

pytestmark = pytest.mark.slow

SETTINGS = """
SECRET_KEY = "host-project-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "hankoflow",
]
MIDDLEWARE = ["hankoflow.middleware.HankoflowMiddleware"]
ROOT_URLCONF = "hostsite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
USE_TZ = True
"""

URLS = """
from django.urls import include, path

urlpatterns = [path("", include("hankoflow.urls"))]
"""

TESTS = """
import os

import hankoflow
from hankoflow.models import WebauthnCredential

EMAIL = "jane@example.com"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_hankoflow_comes_from_the_venv():
    assert hankoflow.__file__.startswith(os.environ["HOST_VENV"]), hankoflow.__file__


def test_sign_up_with_the_emailed_passcode(flow_client, passcode_outbox):
    assert flow_client.validate is (os.environ["EXPECT_VALIDATION"] == "1")
    state = flow_client.start("registration")
    state = flow_client.act(state, "register_client_capabilities", {"webauthn_available": False})
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    assert state.state == "passcode_confirmation"
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert state.status == 200 and state.state != "passcode_confirmation"


def test_a_passkey_from_the_soft_authenticator(soft_authenticator, account_factory):
    account = account_factory(passkey=soft_authenticator)
    assert WebauthnCredential.objects.filter(account=account).count() == 1


def test_totp_codes_follow_the_clock(totp_now, account_factory, clock):
    clock.stop()
    account = account_factory(totp=SECRET)
    following = totp_now(account, steps=1)
    clock.advance(seconds=30)
    assert totp_now(SECRET) == following


def test_a_signed_in_client_sees_its_account(signed_in_client, account_factory):
    account = account_factory(EMAIL)
    answer = signed_in_client(account).get("/me")
    assert answer.status_code == 200 and answer.json()["id"] == str(account.id)
"""


@pytest.fixture(scope="module")
def host_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A venv holding the wheel with its ``testing`` extra (pins from requirements.txt)."""
    root = tmp_path_factory.mktemp("host-venv")
    venv.create(root, with_pip=False)  # the suite's pip installs into it (--python)
    python = root / "bin" / "python"
    _pip(python, "install", "-q", f"{wheel}[testing]", "-c", REPO / "requirements.txt")
    return python


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("host")
    (root / "hostsite").mkdir()
    (root / "hostsite" / "__init__.py").write_text("")
    (root / "hostsite" / "settings.py").write_text(SETTINGS)
    (root / "hostsite" / "urls.py").write_text(URLS)
    (root / "tests").mkdir()
    (root / "tests" / "test_auth.py").write_text(TESTS)
    (root / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = hostsite.settings\npythonpath = .\n"
        "addopts = -p no:cacheprovider\n"
    )
    return root


def run_host_tests(python: Path, host: Path, **env: str) -> str:
    # Nothing of this repository or its settings may leak in.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE"} and not k.startswith("HANKOFLOW_")
    }
    clean |= {"HOST_VENV": str(python.parent.parent), **env}
    done = subprocess.run(
        [python, "-m", "pytest", "tests"],  # not -q: the report header shows
        cwd=host,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout, done.stdout
    return done.stdout


def test_fixtures_check_answers_against_the_documents_given(host_python: Path, host: Path):
    documents = document_path(FLOW_DOCUMENT).parent
    if not (documents / FLOW_DOCUMENT).is_file():
        pytest.skip(f"Hanko's OpenAPI documents are not at {documents}")
    output = run_host_tests(
        host_python, host, HANKOFLOW_OPENAPI_DIR=str(documents), EXPECT_VALIDATION="1"
    )
    assert f"hankoflow: Flow API answers checked against {documents}" in output


def test_fixtures_work_without_the_documents_and_say_so(
    host_python: Path, host: Path, tmp_path: Path
):
    output = run_host_tests(
        host_python, host, HANKOFLOW_OPENAPI_DIR=str(tmp_path), EXPECT_VALIDATION="0"
    )
    assert "hankoflow: OpenAPI validation skipped (" in output
    assert f"set HANKOFLOW_OPENAPI_DIR to a directory holding Hanko's {FLOW_DOCUMENT}" in output


def test_the_plugin_is_found_through_its_entry_point(host_python: Path, host: Path):
    script = (
        "import importlib.metadata as m; "
        "print([e.value for e in m.entry_points(group='pytest11') if e.name == 'hankoflow'])"
    )
    done = subprocess.run(
        [host_python, "-c", script], cwd=host, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "['hankoflow.testing.plugin']"
