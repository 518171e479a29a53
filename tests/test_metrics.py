"""``/metrics``: off by default, guarded by token and network, counting flow steps, emails,
logins and rate-limit hits, and summing several worker processes (multiprocess mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from hankoflow import signals
from hankoflow.flows.registry import FLOWS
from hankoflow.models import Account
from hankoflow.services import metrics

TOKEN = "scrape-secret-0123456789"
ROOT = Path(__file__).resolve().parent.parent
NO_WEBAUTHN = {"webauthn_available": False}


@pytest.fixture
def metrics_on(settings):
    def configure(**values):
        settings.HANKOFLOW = {
            **settings.HANKOFLOW,
            "METRICS": {"ENABLED": True, "TOKEN": TOKEN, **values},
        }

    configure()
    return configure


def scrape(client, token: str | None = TOKEN, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get("/metrics", **headers, **extra)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_off_by_default_the_endpoint_is_not_there(client, db):
    assert scrape(client).status_code == 404


def test_a_wrong_or_missing_token_is_refused(client, metrics_on):
    assert scrape(client, token="wrong").status_code == 403
    assert scrape(client, token=None).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_enabled_without_a_guard_lets_nobody_in(client, metrics_on):
    metrics_on(TOKEN="")
    assert scrape(client, token=None).status_code == 403


def test_allowed_networks_use_the_client_ip_of_the_proxy_settings(client, settings, metrics_on):
    metrics_on(TOKEN="", ALLOWED_NETWORKS=["10.0.0.0/8", "2001:db8::/32"])
    assert scrape(client, token=None, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, token=None, REMOTE_ADDR="2001:db8::5").status_code == 200
    assert scrape(client, token=None, REMOTE_ADDR="192.0.2.7").status_code == 403
    # A forged X-Forwarded-For counts only from a trusted proxy.
    forged = {"REMOTE_ADDR": "192.0.2.7", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}
    assert scrape(client, token=None, **forged).status_code == 403
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "SERVER": {"IP": {"EXTRACTOR": "x_forwarded_for", "TRUSTED_PROXIES": ["192.0.2.0/24"]}},
    }
    assert scrape(client, token=None, **forged).status_code == 200


def test_token_and_networks_must_both_pass_when_both_are_set(client, metrics_on):
    metrics_on(ALLOWED_NETWORKS=["10.0.0.0/8"])
    assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, REMOTE_ADDR="192.0.2.7").status_code == 403
    assert scrape(client, token="wrong", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_a_sign_up_shows_in_the_scrape(client, flow_client, passcode_outbox, metrics_on):
    before = samples(scrape(client).content.decode())
    start = flow_client.start("registration")
    state = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "register_login_identifier", {"email": "m@example.com"})
    state = flow_client.act(state, "verify_passcode", {"code": "000000"})  # wrong
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox("m@example.com")})
    state = flow_client.act(state, "register_password", {"new_password": "correct horse b"})
    assert flow_client.act(state, "skip").state == "success"
    after = samples(scrape(client).content.decode())

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    steps = "hankoflow_flow_steps_total"
    registration = {"flow": "registration"}
    assert delta(steps, **registration, state="preflight", action="start", outcome="ok") == 1
    assert (
        delta(
            steps,
            **registration,
            state="passcode_confirmation",
            action="verify_passcode",
            outcome="form_data_invalid_error",
        )
        == 1
    )
    assert delta(steps, **registration, state="success", action="skip", outcome="ok") == 1
    latency = "hankoflow_flow_step_duration_seconds_count"
    assert delta(latency, **registration, action="verify_passcode") == 2
    assert delta("hankoflow_emails_total", outcome="sent") == 1


def test_unknown_names_never_become_labels():
    assert metrics.step_labels(FLOWS, "login", "no_such_action", "login_init", "ok") == (
        "login",
        "login_init",
        "unknown",
        "ok",
    )
    assert metrics.step_labels(FLOWS, "login", "password_login@f", "login_init", "ok")[2] == (
        "password_login"
    )
    assert metrics.step_labels(FLOWS, "login", None, "made_up", "ok")[1:3] == ("unknown", "start")
    assert metrics.step_labels(FLOWS, "evil", "x", "y", "ok")[:3] == ("unknown",) * 3


def test_an_unknown_action_from_a_client_is_counted_as_unknown(flow_client, metrics_on):
    def unknown_login_actions() -> dict[str, float]:
        return {
            sample.labels["action"]: sample.value
            for family in REGISTRY.collect()
            if family.name == "hankoflow_flow_steps"
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels["flow"] == "login"
        }

    start = flow_client.start("login")
    flow_id = start.href("register_client_capabilities").partition("@")[2]
    before = unknown_login_actions().get("unknown", 0.0)
    body = json.dumps({"input_data": {}, "csrf_token": start.csrf_token}).encode()
    answer = flow_client.post_raw(f"/login?action=no_such_{'x' * 40}@{flow_id}", body)
    assert answer.error_code == "operation_not_permitted_error"
    after = unknown_login_actions()
    assert after["unknown"] == before + 1
    assert not any(action.startswith("no_such") for action in after)


def test_rate_limit_hits_are_counted(flow_client, metrics_on):
    start = flow_client.start("registration")
    state = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "register_login_identifier", {"email": "r@example.com"})
    before = value("hankoflow_rate_limit_hits_total", bucket="passcode")
    for _ in range(3):
        state = flow_client.act(state, "resend_passcode")
    assert state.error_code == "rate_limit_exceeded"
    assert value("hankoflow_rate_limit_hits_total", bucket="passcode") == before + 1


def test_logins_count_by_method_once_committed(
    account_factory, metrics_on, django_capture_on_commit_callbacks
):
    account = account_factory()
    before = value("hankoflow_logins_total", method="passkey")
    other = value("hankoflow_logins_total", method="other")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signals.login_succeeded.send(sender=Account, account=account, amr=["passkey"])
    assert value("hankoflow_logins_total", method="passkey") == before  # not committed yet
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        signals.login_succeeded.send(sender=Account, account=account, amr=["<script>"])
    assert value("hankoflow_logins_total", method="passkey") == before + 1
    assert value("hankoflow_logins_total", method="other") == other + 1


WORKER = """
import django, os, sys
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "hankoflow"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    HANKOFLOW={"METRICS": {"ENABLED": True, "TOKEN": "t"}},
)
django.setup()
from hankoflow.services import metrics
for _ in range(int(sys.argv[1])):
    metrics.record_step("login", "login_init", "start", "ok", seconds=0.02)
metrics.record_rate_limited("password")
"""


def test_multiprocess_mode_sums_the_workers(tmp_path, client, metrics_on, monkeypatch):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in (2, 3):  # two gunicorn workers, each with its own process
        subprocess.run([sys.executable, "-c", WORKER, str(count)], env=env, cwd=ROOT, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    found = samples(scrape(client).content.decode())
    labels = (("action", "start"), ("flow", "login"), ("outcome", "ok"), ("state", "login_init"))
    assert found[("hankoflow_flow_steps_total", labels)] == 5
    assert found[("hankoflow_rate_limit_hits_total", (("bucket", "password"),))] == 2
    count = (("action", "start"), ("flow", "login"))
    assert found[("hankoflow_flow_step_duration_seconds_count", count)] == 5


def test_without_metrics_prometheus_client_is_never_imported():
    script = """
import sys, django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "hankoflow"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="hankoflow.urls",
)
django.setup()
import hankoflow.urls, hankoflow.http.runner, hankoflow.services.metrics
from hankoflow.services import metrics, ratelimit
metrics.record_step("login", "login_init", "start", "ok", seconds=0.1)
metrics.record_email("sent")
metrics.record_rate_limited("otp")
assert "prometheus_client" not in sys.modules, "imported"
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)


def test_a_malformed_network_setting_is_ignored_not_a_500(client, metrics_on):
    metrics_on(TOKEN="", ALLOWED_NETWORKS=["not-a-cidr", "10.0.0.0/8"])
    assert scrape(client, token=None, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, token=None, REMOTE_ADDR="192.0.2.7").status_code == 403
