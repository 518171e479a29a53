"""The Go text/template subset of Hanko's ``session.jwt_template`` (platform.md §2.1.2)."""

from __future__ import annotations

import logging

import pytest

from hankoflow import jwt_template
from hankoflow.jwt_template import TemplateError, render, render_claims

USER = {
    "UserID": "0b41f4b4-1f1e-4a3b-9b7f-2a7d3c1e5f00",
    "Email": {"Address": "jane@example.com", "IsPrimary": True, "IsVerified": False},
    "Username": "",
    "Name": "Jane Doe",
    "GivenName": "Jane",
    "FamilyName": "Doe",
    "Picture": "",
    "Metadata": None,
}
NO_EMAIL = {**USER, "Email": None}


@pytest.mark.parametrize(
    ("template", "user", "expected"),
    [
        ("{{ .User.Email.Address }}", USER, "jane@example.com"),
        ("{{.User.UserID}}", USER, USER["UserID"]),
        ("plain text", USER, "plain text"),
        ("{{ if .User.Email }}has{{ else }}none{{ end }}", NO_EMAIL, "none"),
        ("{{ if .User.Username }}u{{ else if .User.Email }}e{{ else }}-{{ end }}", USER, "e"),
        ("{{ with .User.Email }}{{ .Address }}{{ end }}", USER, "jane@example.com"),
        ("{{ with .User.Email }}{{ .Address }}{{ else }}none{{ end }}", NO_EMAIL, "none"),
        ("a {{- .User.GivenName -}} b", USER, "aJaneb"),
        ("x{{/* a comment */}}y", USER, "xy"),
        ('{{ eq .User.GivenName "Jane" }}', USER, "true"),
        ('{{ ne .User.GivenName "Jane" }}', USER, "false"),
        ("{{ not .User.Username }}", USER, "true"),
        ("{{ and .User.Email .User.Name }}", USER, "Jane Doe"),
        ("{{ or .User.Username .User.Name }}", USER, "Jane Doe"),
        ("{{ len .User.FamilyName }}", USER, "3"),
        ('{{ print .User.GivenName " " .User.FamilyName }}', USER, "Jane Doe"),
        ("{{ .User.Name | print }}", USER, "Jane Doe"),
        ("{{ .User.Email }}", NO_EMAIL, "<nil>"),
        ("{{ .User.Email.IsVerified }}", USER, "false"),
    ],
)
def test_render(template, user, expected):
    assert render(template, {"User": user}) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{ if .User.Email }}open",
        "{{ end }}",
        "{{ else }}",
        "{{ .User.Email.Address",
        "{{ }}",
        "{{ lookup .User }}",
        "{{ range .User.Email }}x{{ end }}",
        '{{ template "x" }}',
        "{{ .User.Name ) }}",
    ],
)
def test_templates_outside_the_subset_do_not_parse(template):
    with pytest.raises(TemplateError):
        jwt_template.parse(template)


@pytest.mark.parametrize(
    "template",
    ["{{ .User.Email.Address }}", '{{ .User.Metadata.Public "plan" }}', "{{ .User.Nope }}"],
)
def test_evaluation_errors(template):
    with pytest.raises(TemplateError):
        render(template, {"User": NO_EMAIL})


def test_render_claims_post_processes_and_leaves_out_reserved_names(caplog):
    claims = {
        "verified": "{{ .User.Email.IsPrimary }}",
        "object": '{"id": "{{ .User.UserID }}"}',
        "list": ["{{ .User.GivenName }}", 1, {"deep": "{{ .User.FamilyName }}"}],
        "not_json": "[not json]",
        "number": 7,
        "mail": "{{ .User.Email.Address }}",
        "aud": "reserved names are never rendered",
    }
    with caplog.at_level(logging.WARNING, logger="hankoflow.sessions"):
        result = render_claims(claims, USER)
    assert result == {
        "verified": True,
        "object": {"id": USER["UserID"]},
        "list": ["Jane", 1, {"deep": "Doe"}],
        "not_json": "[not json]",
        "number": 7,
        "mail": "jane@example.com",
    }


def test_a_failing_claim_is_logged_and_left_out(caplog):
    claims = {"mail": "{{ .User.Email.Address }}", "name": "{{ .User.Name }}"}
    with caplog.at_level(logging.WARNING, logger="hankoflow.sessions"):
        assert render_claims(claims, NO_EMAIL) == {"name": "Jane Doe"}
    assert "'mail' skipped: nil pointer evaluating .User.Email.Address" in caplog.text


def test_template_errors_name_each_bad_claim():
    problems = dict(
        jwt_template.template_errors(
            {"iss": "x", "ok": "{{ .User.Name }}", "bad": {"inner": ["{{ if .X }}"]}}
        )
    )
    assert set(problems) == {"iss", "bad"}
    assert "registered claim" in problems["iss"] and "unclosed" in problems["bad"]


def test_metadata_paths_pick_values_as_gjson_text():
    from hankoflow.jwt_template import selector

    select = selector({"plan": "pro", "seats": 3, "a.b": {"c": [1, {"d": True}]}, "tags": ["x"]})
    assert select("plan") == "pro"
    assert select("seats") == "3"
    assert select("a\\.b.c.1.d") == "true"
    assert select("a\\.b.c") == '[1,{"d":true}]'
    assert select("tags.0") == "x"
    assert select("tags.5") == select("nope.deeper") == ""
    assert select() == '{"plan":"pro","seats":3,"a.b":{"c":[1,{"d":true}]},"tags":["x"]}'
    assert selector(None)("plan") == ""


def test_metadata_reaches_the_session_claims(account_factory, settings):
    from hankoflow.services import metadata, sessions

    settings.HANKOFLOW = {
        "SESSION": {
            "JWT_TEMPLATE": {
                "CLAIMS": {
                    "plan": '{{ .User.Metadata.Public "plan" }}',
                    "prefs": "{{ .User.Metadata.Unsafe }}",
                    "beta": '{{ .User.Metadata.Public "beta" }}',
                }
            }
        }
    }
    account = account_factory()
    metadata.patch(account, metadata.PUBLIC, {"plan": "pro", "beta": True})
    metadata.patch(account, metadata.UNSAFE, {"theme": "dark"})
    account.refresh_from_db()
    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    claims = sessions.decode(issued.token)
    assert claims["plan"] == "pro"
    assert claims["beta"] is True
    assert claims["prefs"] == {"theme": "dark"}
