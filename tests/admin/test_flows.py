"""Flow inspection in the admin: list, filters, timeline, redacted stash, emails, permissions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from hankoflow import clock, names
from hankoflow.admin.flows import flows_of_user_url
from hankoflow.models import Flow
from hankoflow.services import flow_inspection
from hankoflow.testing.client import FlowClient

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"
UA = "Mozilla/5.0 (inspection test)"
CONFIRMATION = "passcode_confirmation"


@pytest.fixture
def passcode_login(flow_client: FlowClient, account_factory, passcode_outbox) -> Flow:
    """A finished passcode sign-in, sent with a user agent; returns its row."""
    account_factory(EMAIL)
    start = flow_client.start("login", User_Agent=UA)
    # A browser sends its user agent with every request; the first action records the start.
    state = flow_client.act(
        start, "register_client_capabilities", {"webauthn_available": False}, User_Agent=UA
    )
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_passcode_confirmation")
    wrong = flow_client.act(state, "verify_passcode", {"code": "000000"})
    assert wrong.error_code == "form_data_invalid_error"
    done = flow_client.act(wrong, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert done.state == "success"
    return Flow.objects.get()


def make_flow(state: str = "login_init", *, expires_in: int = 600, **fields) -> Flow:
    return Flow.objects.create(
        name=fields.pop("name", "login"),
        state=state,
        stash={"state": state, "data": fields.pop("data", {})},
        csrf_token_hash="x" * 64,
        expires_at=clock.now() + timedelta(seconds=expires_in),
        **fields,
    )


def test_each_step_records_time_states_input_names_error_ip_and_user_agent(passcode_login):
    history = passcode_login.history
    assert [(e["from"], e["action"], e["to"], e["error"]) for e in history] == [
        (None, None, "preflight", None),
        ("preflight", "register_client_capabilities", "login_init", None),
        ("login_init", "continue_with_login_identifier", "login_method_chooser", None),
        ("login_method_chooser", "continue_to_passcode_confirmation", CONFIRMATION, None),
        (CONFIRMATION, "verify_passcode", CONFIRMATION, "form_data_invalid_error"),
        (CONFIRMATION, "verify_passcode", "success", None),
    ]
    assert history[2]["inputs"] == ["email"]
    assert history[-1]["inputs"] == ["code"]
    assert all(entry["at"] and entry["ip"] == "127.0.0.1" for entry in history)
    assert history[0]["user_agent"] == UA
    assert EMAIL not in str(history)  # names only, never values


def test_the_flow_learns_its_user(passcode_login, django_user_model):
    assert passcode_login.user == django_user_model.objects.get()


def test_history_is_bounded(flow_client: FlowClient):
    from hankoflow.services.flow_store import MAX_HISTORY

    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", {"webauthn_available": False})
    for _ in range(MAX_HISTORY + 5):
        state = flow_client.act(state, "continue_with_login_identifier", {"email": "nope"})
        assert state.state == "login_init"
    assert len(Flow.objects.get().history) == MAX_HISTORY


def test_detail_page_shows_timeline_redacted_stash_and_the_email(admin_client, passcode_login):
    response = admin_client.get(f"/admin/hankoflow/flow/{passcode_login.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    shown = ("continue_with_login_identifier", "form_data_invalid_error", "127.0.0.1", UA, "code")
    for text in shown:
        assert text in page
    assert "succeeded" in page
    assert "login email to jane@example.com" in page or EMAIL in page
    assert "/admin/hankoflow/outboxemail/" in page
    passcode_id = passcode_login.stash["data"][names.STASH_PASSCODE_ID]
    assert passcode_id not in page
    assert names.REDACTED in page
    assert passcode_login.csrf_token_hash not in page


def test_redaction_by_list_and_for_unknown_keys():
    shown = flow_inspection.redact_stash(
        {
            names.STASH_EMAIL: "a@example.com",
            names.STASH_OTP_SECRET: "gAAAAAciphertext",
            names.STASH_WEBAUTHN_SESSION_DATA_ID: str(uuid.uuid4()),
            names.STASH_PASSCODE_ID: str(uuid.uuid4()),
            names.STASH_NEW_PASSWORD: "pbkdf2$...",
            names.STASH_USER_HAS_PASSWORD: True,
            "some_new_token": "eyJhbGciOi...",
            "some_new_list": ["x"],
            "some_new_flag": False,
            "some_new_count": 3,
        }
    )
    assert shown == {
        names.STASH_EMAIL: "a@example.com",
        names.STASH_OTP_SECRET: names.REDACTED,
        names.STASH_WEBAUTHN_SESSION_DATA_ID: names.REDACTED,
        names.STASH_PASSCODE_ID: names.REDACTED,
        names.STASH_NEW_PASSWORD: names.REDACTED,
        names.STASH_USER_HAS_PASSWORD: True,
        "some_new_token": names.REDACTED,
        "some_new_list": names.REDACTED,
        "some_new_flag": False,
        "some_new_count": 3,
    }


def test_no_stash_key_is_in_both_lists():
    assert not names.STASH_REDACTED & names.STASH_SHOWN


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("in_progress", {"live"}),
        ("succeeded", {"done"}),
        ("failed", {"broken"}),
        ("expired", {"stale"}),
    ],
)
def test_outcome_filter(admin_client, outcome, expected):
    rows = {
        "live": make_flow("login_init"),
        "done": make_flow("success", expires_in=-5),
        "broken": make_flow("error"),
        "stale": make_flow("passcode_confirmation", expires_in=-5),
    }
    response = admin_client.get(f"/admin/hankoflow/flow/?outcome={outcome}")
    assert response.status_code == 200
    page = response.content.decode()
    assert {key for key, row in rows.items() if str(row.pk) in page} == expected
    assert {flow_inspection.outcome_of(rows[key]) for key in expected} == {outcome}


def test_filters_by_name_state_and_date(admin_client):
    login = make_flow("login_init")
    registration = make_flow("registration_init", name="registration")
    page = admin_client.get("/admin/hankoflow/flow/?name=registration").content.decode()
    assert str(registration.pk) in page and str(login.pk) not in page
    page = admin_client.get("/admin/hankoflow/flow/?state=login_init").content.decode()
    assert str(login.pk) in page and str(registration.pk) not in page
    today = clock.now().date()
    query = f"created_at__year={today.year}&created_at__month={today.month}"
    assert admin_client.get(f"/admin/hankoflow/flow/?{query}").status_code == 200


def test_a_users_recent_flows(admin_client, passcode_login, django_user_model):
    other = make_flow("login_init")
    url = flows_of_user_url(django_user_model.objects.get(username=EMAIL))
    page = admin_client.get(url).content.decode()
    assert str(passcode_login.pk) in page and str(other.pk) not in page


def test_view_only_staff_can_look_but_not_change_or_delete(viewer_client, passcode_login):
    assert viewer_client.get("/admin/hankoflow/flow/").status_code == 200
    detail = viewer_client.get(f"/admin/hankoflow/flow/{passcode_login.pk}/change/")
    assert detail.status_code == 200
    assert viewer_client.get("/admin/hankoflow/flow/add/").status_code == 403
    url = f"/admin/hankoflow/flow/{passcode_login.pk}"
    assert viewer_client.get(f"{url}/delete/").status_code == 403
    response = viewer_client.post(f"{url}/change/", {})
    assert response.status_code == 403


def test_timeline_is_a_table_not_escaped_text(admin_client, passcode_login):
    page = admin_client.get(f"/admin/hankoflow/flow/{passcode_login.pk}/change/").content.decode()
    assert "<td>continue_with_login_identifier</td><td>email</td>" in page
    assert "&lt;table" not in page


def test_superuser_cannot_add_or_delete_either(admin_client, passcode_login):
    assert admin_client.get("/admin/hankoflow/flow/add/").status_code == 403
    assert admin_client.get(f"/admin/hankoflow/flow/{passcode_login.pk}/delete/").status_code == 403


def test_a_changelist_of_100_flows_has_a_fixed_query_budget(
    admin_client, django_user_model, django_assert_max_num_queries
):
    users = django_user_model.objects.bulk_create(
        [django_user_model(username=f"u{i}@example.net") for i in range(100)]
    )
    now = clock.now()
    Flow.objects.bulk_create(
        [
            Flow(
                name="login",
                state="success",
                stash={"state": "success", "data": {}},
                csrf_token_hash="x" * 64,
                expires_at=now + timedelta(minutes=5),
                user=user,
                history=[{"action": "a", "from": "b", "to": "c"}] * 50,
            )
            for user in users
        ]
    )
    # Measured: 8 (session, user, the rows, one count, the name and state filters' choices...),
    # whatever the number of rows.
    with django_assert_max_num_queries(10):
        response = admin_client.get("/admin/hankoflow/flow/")
    assert response.status_code == 200
    assert response.content.decode().count("/admin/auth/user/") >= 100


def test_entries_written_before_inspection_still_show(admin_client):
    flow = make_flow("login_init", history=[{"action": None, "from": None, "to": "preflight"}])
    Flow.objects.filter(pk=flow.pk).update(history=[{"action": "x", "from": "a", "to": "b"}])
    page = admin_client.get(f"/admin/hankoflow/flow/{flow.pk}/change/").content.decode()
    assert "<td>a</td><td>x</td><td></td><td>b</td>" in page
