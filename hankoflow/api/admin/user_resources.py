"""Admin API: the resources of one user (platform.md §4.3.3–§4.3.7): emails, WebAuthn
credentials and the authenticator app, password and metadata, one module each; path ids, errors
and bodies as ``user_scope`` reads them."""

from hankoflow.api.admin import credentials, emails, metadata, passwords

urlpatterns = [
    *emails.urlpatterns,
    *credentials.urlpatterns,
    *passwords.urlpatterns,
    *metadata.urlpatterns,
]
