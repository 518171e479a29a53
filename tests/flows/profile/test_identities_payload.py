"""``user.identities`` of the profile data (flow-api.md §4.6.1): identities of enabled providers."""

import pytest

from hankoflow.models import Identity
from hankoflow.services.profile import profile_data

pytestmark = pytest.mark.django_db

THIRD_PARTY = {
    "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
    "ERROR_REDIRECT_URL": "https://app.example.com/error",
    "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
}


def test_identities_of_enabled_providers_are_listed(settings, account_factory):
    settings.HANKOFLOW = {"THIRD_PARTY": THIRD_PARTY}
    account = account_factory("gh@example.com")
    github = Identity.objects.create(account=account, provider_id="github", subject="gh-1")
    Identity.objects.create(account=account, provider_id="google", subject="g-1")  # off
    assert profile_data(account)["identities"] == [
        {"id": "gh-1", "provider": "GitHub", "identity_id": str(github.id)}
    ]


def test_no_identities_key_without_any(settings, account_factory):
    settings.HANKOFLOW = {"THIRD_PARTY": THIRD_PARTY}
    assert "identities" not in profile_data(account_factory("x@example.com"))
