"""Routes of the admin API; include them under a prefix of your choice:
``path("admin-api/", include("hankoflow.api.admin.urls"))``. Each resource module lists its own
``urlpatterns``."""

from hankoflow.api.admin import (
    audit_logs,
    invitations,
    sessions,
    status,
    user_resources,
    users,
    webhooks,
)

app_name = "hankoflow_admin_api"

urlpatterns = [
    *status.urlpatterns,
    *users.urlpatterns,
    *user_resources.urlpatterns,
    *sessions.urlpatterns,
    *audit_logs.urlpatterns,
    *webhooks.urlpatterns,
    *invitations.urlpatterns,  # beyond Hanko (issue 15)
]
