"""``manage.py check`` on third-party settings (hankoflow.E030-E033)."""

from hankoflow.checks import check_third_party

GOOD = {
    "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
    "ERROR_REDIRECT_URL": "https://app.example.com/error",
    "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "s"}},
}


def ids(settings, **third_party):
    settings.HANKOFLOW = {"THIRD_PARTY": {**GOOD, **third_party}}
    return [e.id for e in check_third_party()]


def test_a_working_setup_passes(settings):
    assert ids(settings) == []


def test_enabled_provider_without_credentials(settings):
    assert ids(settings, PROVIDERS={"google": {"ENABLED": True}}) == ["hankoflow.E030"] * 2


def test_disabled_provider_without_credentials_is_fine(settings):
    assert ids(settings, PROVIDERS={"google": {"ENABLED": False}}) == []


def test_unknown_and_unsupported_providers(settings):
    found = ids(
        settings,
        PROVIDERS={
            "gitlab": {"ENABLED": True},
            "apple": {"ENABLED": True, "CLIENT_ID": "x", "SECRET": "y"},
        },
    )
    assert found == ["hankoflow.E030", "hankoflow.E030"]


def test_custom_provider_needs_scopes_and_endpoints(settings):
    found = ids(
        settings,
        CUSTOM_PROVIDERS={"acme": {"ENABLED": True, "CLIENT_ID": "x", "SECRET": "y"}},
    )
    assert found == ["hankoflow.E030"] * 4  # SCOPES and three endpoints


def test_empty_allow_list_and_error_url(settings):
    found = ids(settings, ALLOWED_REDIRECT_URLS=[], ERROR_REDIRECT_URL="")
    assert found == ["hankoflow.E031", "hankoflow.E032"]


def test_unsafe_wildcard(settings):
    assert ids(settings, ALLOWED_REDIRECT_URLS=["https://*/**"]) == ["hankoflow.E033"]
