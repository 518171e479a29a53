"""Third-party identities on the user's admin page (the Hanko account inline)."""

import pytest
from django.test import Client
from django.urls import reverse

from hankoflow.models import Identity


@pytest.mark.django_db
def test_user_page_lists_identities(account_factory, django_user_model):
    account = account_factory("ida@example.com", verified=True)
    Identity.objects.create(
        account=account,
        provider_id="custom_acme",
        subject="sub-123",
        email="ida@example.com",
        email_verified=True,
    )
    staff = django_user_model.objects.create_superuser(
        **{django_user_model.USERNAME_FIELD: "root@example.org"}, password="pw"
    )
    client = Client()
    client.force_login(staff)
    meta = account.user._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[account.user.pk])
    page = client.get(url).content.decode()
    assert "third-party identities" in page.lower()
    assert "custom_acme sub-123: ida@example.com (verified, since " in page
